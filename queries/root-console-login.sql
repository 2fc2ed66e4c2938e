-- name: root-console-login
-- title: Root console sign-in
-- severity: high
-- description: A successful console sign-in as the root user.
-- references: Sigma aws_root_account_usage; CIS AWS Foundations 1.7; ATT&CK T1078.004
-- runbook: Confirm with the account owner; if nobody expected it, reset the root password and MFA and review the session (root-usage lists its calls).
-- tactics: initial-access, privilege-escalation
-- techniques: T1078.004
SELECT eventTime, recipientAccountId AS account, sourceIPAddress, userAgent,
       json_extract_scalar(additionalEventData, '$.MFAUsed') AS mfa_used
FROM cloudtrail_logs
WHERE eventName = 'ConsoleLogin'
  AND userIdentity.type = 'Root'
  AND json_extract_scalar(responseElements, '$.ConsoleLogin') = 'Success'
ORDER BY eventTime
