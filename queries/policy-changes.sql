-- name: policy-changes
-- title: IAM policy and role changes
-- severity: medium
-- description: Mutating calls whose name mentions Policy or Role (readOnly = false), so that GetRole and AssumeRole do not flood the result. The full Athena example is athena-policy-and-role-events.
-- references: Athena docs: querying CloudTrail logs (policy and role changes); ATT&CK T1098
-- runbook: Confirm each change with its author; revert grants nobody asked for and review what the principal did next.
-- tactics: persistence, privilege-escalation
-- techniques: T1098
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, errorCode
FROM cloudtrail_logs
WHERE (eventName LIKE '%Policy%' OR eventName LIKE '%Role%')
  AND readOnly = 'false'
ORDER BY eventTime
