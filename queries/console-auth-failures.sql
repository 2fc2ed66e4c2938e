-- name: console-auth-failures
-- title: Console authentication failures (CIS)
-- severity: medium
-- description: Console sign-ins refused with 'Failed authentication' (a wrong password).
-- references: CIS AWS Foundations 4.6 (3.6 in v1.x); ATT&CK T1110
-- runbook: A few are typos; many for one user or from one address are guessing: see brute-force-logins, and lock the user or block the address.
-- tactics: credential-access
-- techniques: T1110
SELECT eventTime, recipientAccountId AS account, userIdentity.userName AS user_name,
       userIdentity.arn AS principal, sourceIPAddress, userAgent
FROM cloudtrail_logs
WHERE eventName = 'ConsoleLogin'
  AND errorMessage = 'Failed authentication'
ORDER BY eventTime
