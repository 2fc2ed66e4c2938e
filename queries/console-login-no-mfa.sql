-- name: console-login-no-mfa
-- title: Console sign-in without MFA
-- severity: high
-- description: Successful console sign-ins of IAM users that did not use MFA, or whose event does not say (no additionalEventData, or no MFAUsed in it): MFA unknown counts as no MFA.
-- references: CIS AWS Foundations 4.2 (3.2 in v1.x); ATT&CK T1078
-- runbook: Ask the user to enable MFA now; if the sign-in was not theirs, reset the password and deactivate their access keys.
-- tactics: initial-access
-- techniques: T1078.004
SELECT eventTime, recipientAccountId AS account, userIdentity.userName AS user_name,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(additionalEventData, '$.MFAUsed') AS mfa_used
FROM cloudtrail_logs
WHERE eventName = 'ConsoleLogin'
  AND (json_extract_scalar(additionalEventData, '$.MFAUsed') IS NULL
       OR json_extract_scalar(additionalEventData, '$.MFAUsed') <> 'Yes')
  AND userIdentity.type = 'IAMUser'
  AND json_extract_scalar(responseElements, '$.ConsoleLogin') = 'Success'
ORDER BY eventTime
