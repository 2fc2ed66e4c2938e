-- name: security-group-changes
-- title: Security group changes
-- severity: medium
-- description: Security groups created or deleted, and ingress or egress rules added or removed.
-- references: CIS AWS Foundations 4.10 (3.10 in v1.x); ATT&CK T1562.007
-- runbook: Look at the rule added (requestParameters): a port opened to 0.0.0.0/0 or ::/0 needs an owner and a reason, or removal.
-- tactics: defense-evasion
-- techniques: T1562.007
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.groupId') AS group_id, errorCode
FROM cloudtrail_logs
WHERE eventName IN ('AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress',
                    'RevokeSecurityGroupIngress', 'RevokeSecurityGroupEgress',
                    'CreateSecurityGroup', 'DeleteSecurityGroup')
ORDER BY eventTime
