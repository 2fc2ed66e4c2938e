-- name: security-group-open-to-world
-- title: Security group opened to the internet
-- severity: high
-- description: An ingress rule allowing 0.0.0.0/0 or ::/0, read from the parsed requestParameters of AuthorizeSecurityGroupIngress and ModifySecurityGroupRules.
-- references: CIS AWS Foundations 5.2/5.3; Sigma aws_security_group_open; ATT&CK T1562.007
-- runbook: Check the port: SSH, RDP or a database open to the world needs removing now; anything else needs an owner and a reason.
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, requestParameters.groupId AS group_id, requestParameters.ipPermissions AS permissions
FROM cloudtrail_logs
WHERE eventName IN ('AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules')
  AND (requestParameters LIKE '%"cidrIp":"0.0.0.0/0"%'
       OR requestParameters LIKE '%"cidrIpv6":"::/0"%'
       OR requestParameters LIKE '%"CidrIpv4":"0.0.0.0/0"%'
       OR requestParameters LIKE '%"CidrIpv6":"::/0"%')
  AND errorCode IS NULL
ORDER BY eventTime
