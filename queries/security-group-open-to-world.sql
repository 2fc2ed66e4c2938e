-- name: security-group-open-to-world
-- title: Security group opened to the internet
-- severity: high
-- description: A successful ingress rule whose source is a /0 network (0.0.0.0/0, ::/0, or any address written with /0), found wherever the CIDR sits in the request (cidrIp, ipPermissions items, ModifySecurityGroupRules' CidrIpv4/CidrIpv6) or in the rules the response lists, whatever the spacing or field order. Wide but not /0 ranges are security-group-open-to-broad-range. Benign: a load balancer's or web server's group opened on 80/443 on purpose; suppress the principal that manages those groups, or accept the finding with its owner.
-- references: CIS AWS Foundations 5.2/5.3; Sigma aws_security_group_open; Stratus Red Team aws.exfiltration.ec2-security-group-open-port-22-ingress; ATT&CK T1562.007
-- runbook: Check the port in permissions or rules_added: SSH, RDP or a database open to the world needs removing now (revoke-security-group-ingress); anything else needs an owner and a reason.
-- tactics: defense-evasion, exfiltration
-- techniques: T1562.007
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.groupId') AS group_id,
       json_format(json_extract(requestParameters, '$.ipPermissions')) AS permissions,
       json_format(json_extract(responseElements, '$.securityGroupRuleSet.items')) AS rules_added
FROM cloudtrail_logs
WHERE eventName IN ('AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules')
  AND errorCode IS NULL
  AND (regexp_like(requestParameters, '(?i)"cidr_?ip(v4|v6)?"\s*:\s*"[^"]*/0"')
       OR regexp_like(json_format(json_extract(responseElements, '$.securityGroupRuleSet')), '(?i)"cidrip(v4|v6)":"[^"]*/0"'))
ORDER BY eventTime
