-- name: brute-force-logins-by-user
-- title: Console sign-in brute force against one user
-- severity: high
-- description: Alarm: five or more failed console sign-ins for one user name within a 5-minute window, from any number of addresses. Edit the HAVING line to change the threshold.
-- references: CIS AWS Foundations 4.6 alarm; ATT&CK T1110.001
-- runbook: Contact the user; if they were not signing in, reset their password, make sure MFA is on, and block the addresses that tried.
-- tactics: credential-access
-- techniques: T1110.001
SELECT from_unixtime(floor(to_unixtime(from_iso8601_timestamp(eventTime)) / 300) * 300) AS window_start,
       recipientAccountId AS account, userIdentity.userName AS user_name,
       count(*) AS failures, count(DISTINCT sourceIPAddress) AS addresses,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE eventName = 'ConsoleLogin'
  AND (errorMessage IS NOT NULL OR json_extract_scalar(responseElements, '$.ConsoleLogin') = 'Failure')
GROUP BY from_unixtime(floor(to_unixtime(from_iso8601_timestamp(eventTime)) / 300) * 300), recipientAccountId, userIdentity.userName
HAVING count(*) >= 5
ORDER BY window_start, account, user_name
