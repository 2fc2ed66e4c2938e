-- name: rolesanywhere-trust-anchor-changes
-- title: IAM Roles Anywhere trust anchor or profile changed
-- severity: high
-- description: IAM Roles Anywhere trust anchors or profiles created, updated or enabled: a certificate authority that IAM trusts lets whoever holds its certificates assume the roles that trust Roles Anywhere, from outside AWS, without keys. Attempts are reported too (errorCode). Benign: a platform team setting up workloads outside AWS; confirm with it.
-- references: Stratus Red Team aws.persistence.rolesanywhere-create-trust-anchor; ATT&CK T1098.001, T1556
-- runbook: Confirm the certificate authority belongs to you (rolesanywhere get-trust-anchor); if not, disable and delete the anchor and its profiles, and review sessions created through it.
-- tactics: persistence, privilege-escalation
-- techniques: T1098.001, T1556
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.name') AS name, errorCode
FROM cloudtrail_logs
WHERE eventSource = 'rolesanywhere.amazonaws.com'
  AND eventName IN ('CreateTrustAnchor', 'UpdateTrustAnchor', 'EnableTrustAnchor', 'CreateProfile', 'UpdateProfile')
ORDER BY eventTime
