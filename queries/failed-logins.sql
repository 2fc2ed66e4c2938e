-- name: failed-logins
-- title: Failed console sign-ins
-- severity: medium
-- description: Console sign-ins that returned an error message: wrong passwords, unknown users, MFA failures. The Athena documentation's failed-login example.
-- references: Athena docs: querying CloudTrail logs (failed console logins); seed metric filter ConsoleSigninFailures
-- runbook: Check whether the user and source address are expected; several failures from one address or for one user point at password guessing (see brute-force-logins).
-- tactics: credential-access
-- techniques: T1110
SELECT eventTime, recipientAccountId AS account, userIdentity.userName AS user_name,
       userIdentity.arn AS principal, sourceIPAddress, errorMessage,
       json_extract_scalar(additionalEventData, '$.MFAUsed') AS mfa_used
FROM cloudtrail_logs
WHERE eventName = 'ConsoleLogin'
  AND errorMessage IS NOT NULL
ORDER BY eventTime
