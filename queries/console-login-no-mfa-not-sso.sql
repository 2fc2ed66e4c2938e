-- name: console-login-no-mfa-not-sso
-- title: Console sign-in without MFA (any user, SSO excluded)
-- severity: high
-- description: Successful console sign-ins without MFA (or with MFA unknown: no MFAUsed in the event) by any identity except federated ones (SSO, SAML, web identity), whose MFA happens at the identity provider.
-- references: Sigma aws_console_login_without_mfa; ATT&CK T1078
-- runbook: Enforce MFA for this identity; if the sign-in was not expected, reset the password and review the session.
-- tactics: initial-access
-- techniques: T1078.004
SELECT eventTime, recipientAccountId AS account, userIdentity.type AS identity_type,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(additionalEventData, '$.MFAUsed') AS mfa_used
FROM cloudtrail_logs
WHERE eventName = 'ConsoleLogin'
  AND json_extract_scalar(responseElements, '$.ConsoleLogin') = 'Success'
  AND (json_extract_scalar(additionalEventData, '$.MFAUsed') IS NULL
       OR json_extract_scalar(additionalEventData, '$.MFAUsed') <> 'Yes')
  AND userIdentity.type NOT IN ('AssumedRole', 'SAMLUser', 'WebIdentityUser', 'IdentityCenterUser', 'FederatedUser')
  AND (userIdentity.arn IS NULL OR userIdentity.arn NOT LIKE '%AWSReservedSSO%')
ORDER BY eventTime
