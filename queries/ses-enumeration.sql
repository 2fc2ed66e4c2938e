-- name: ses-enumeration
-- title: SES sending limits and identities enumerated
-- severity: medium
-- description: Alarm: one principal, outside the console, makes three or more different SES discovery calls within an hour (sending enabled, send quota, identities and their verification): stolen keys are checked this way before being used or sold for spam and phishing. A monitor polling GetSendQuota makes one kind of call. Benign: an SES management tool; suppress its principal. Edit the HAVING line to change the threshold.
-- references: Stratus Red Team aws.discovery.ses-enumerate; ATT&CK T1526, T1496.004
-- runbook: If the principal does not manage email, treat its keys as stolen: deactivate them, and check SES sending statistics for mail you did not send.
-- tactics: discovery, impact
-- techniques: T1526, T1496.004
SELECT date_trunc('hour', from_iso8601_timestamp(eventTime)) AS hour, recipientAccountId AS account, userIdentity.arn AS principal,
       count(DISTINCT eventName) AS ses_calls, count(*) AS calls, count(errorCode) AS failed,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE eventSource = 'ses.amazonaws.com'
  AND eventName IN ('GetAccountSendingEnabled', 'GetSendQuota', 'GetSendStatistics', 'ListIdentities',
                    'GetIdentityVerificationAttributes', 'ListEmailIdentities', 'GetAccount',
                    'ListVerifiedEmailAddresses', 'GetEmailIdentity')
  AND (sessionCredentialFromConsole IS NULL OR sessionCredentialFromConsole <> 'true')
GROUP BY date_trunc('hour', from_iso8601_timestamp(eventTime)), recipientAccountId, userIdentity.arn
HAVING count(DISTINCT eventName) >= 3
ORDER BY hour, account, principal
