-- name: athena-policy-and-role-events
-- title: Every event that mentions Policy or Role
-- severity: info
-- description: The Athena example as published: any event whose name contains Policy or Role, reads included (GetRole, AssumeRole). Use it to review activity, not to alert.
-- references: Athena docs: querying CloudTrail logs
-- runbook: Informational: narrow it down with policy-changes or iam-policy-changes before acting.
-- tactics: persistence, privilege-escalation
-- techniques: T1098
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, readOnly
FROM cloudtrail_logs
WHERE eventName LIKE '%Policy%' OR eventName LIKE '%Role%'
ORDER BY eventTime
