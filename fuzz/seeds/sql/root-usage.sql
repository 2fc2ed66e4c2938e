-- name: root-usage
-- title: Root user activity
-- severity: critical
-- description: Anything the root user did itself (not on its behalf by an AWS service).
-- references: CIS AWS Foundations 4.3 (3.3 in v1.x); ATT&CK T1078.004
-- runbook: Root should be unused: confirm with the account owner at once; if not them, reset the root password and MFA, delete root access keys, and review every call in this list.
-- tactics: initial-access, privilege-escalation
-- techniques: T1078.004
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, errorCode
FROM cloudtrail_logs
WHERE userIdentity.type = 'Root'
  AND userIdentity.invokedBy IS NULL
  AND (eventType IS NULL OR eventType <> 'AwsServiceEvent')
ORDER BY eventTime
