-- name: security-group-open-to-broad-range
-- title: Security group opened to a very wide range
-- severity: medium
-- description: A successful ingress rule from an IPv4 network of /1 to /8 (16 million addresses or more; 10.0.0.0/8, private, aside) or an IPv6 network of /1 to /32. Two /1 rules open a group to the whole internet while slipping past checks for 0.0.0.0/0; /0 itself is security-group-open-to-world. Benign: rare; a rule for a large partner or cloud range written too wide. Suppress the principal that owns such rules, or narrow the rule.
-- references: CIS AWS Foundations 5.2/5.3; ATT&CK T1562.007
-- runbook: Narrow the rule to the addresses that need it (revoke-security-group-ingress, then authorize the narrow range); ask its author why it was so wide.
-- tactics: defense-evasion, exfiltration
-- techniques: T1562.007
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.groupId') AS group_id,
       json_format(json_extract(requestParameters, '$.ipPermissions')) AS permissions,
       json_format(json_extract(responseElements, '$.securityGroupRuleSet.items')) AS rules_added
FROM cloudtrail_logs
WHERE eventName IN ('AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules')
  AND errorCode IS NULL
  AND (regexp_like(requestParameters, '(?i)"cidr_?ip(v4)?"\s*:\s*"([0-9]|1[1-9]|[2-9][0-9]|[12][0-9][0-9])(\.[0-9]+){3}/[1-8]"')
       OR regexp_like(requestParameters, '(?i)"cidr_?ipv6"\s*:\s*"[0-9a-f:]+/([1-9]|[12][0-9]|3[0-2])"')
       OR regexp_like(json_format(json_extract(responseElements, '$.securityGroupRuleSet')), '"cidrIpv4":"([0-9]|1[1-9]|[2-9][0-9]|[12][0-9][0-9])(\.[0-9]+){3}/[1-8]"|"cidrIpv6":"[0-9a-fA-F:]+/([1-9]|[12][0-9]|3[0-2])"'))
ORDER BY eventTime
