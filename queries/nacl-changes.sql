-- name: nacl-changes
-- title: Network ACL changes
-- severity: medium
-- description: Network ACLs and their entries created, replaced or deleted.
-- references: CIS AWS Foundations 4.11 (3.11 in v1.x); ATT&CK T1562.007
-- runbook: Compare the entry with the network design; an allow-all entry or a deleted deny needs an owner and a reason.
-- tactics: defense-evasion
-- techniques: T1562.007
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.networkAclId') AS network_acl_id, errorCode
FROM cloudtrail_logs
WHERE eventName IN ('CreateNetworkAcl', 'CreateNetworkAclEntry', 'DeleteNetworkAcl',
                    'DeleteNetworkAclEntry', 'ReplaceNetworkAclEntry', 'ReplaceNetworkAclAssociation')
ORDER BY eventTime
