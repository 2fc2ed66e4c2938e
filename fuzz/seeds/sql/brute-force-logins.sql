-- name: brute-force-logins
-- title: Console sign-in brute force from one address
-- severity: high
-- description: Alarm: five or more failed console sign-ins from one source address within a 5-minute window (fixed windows, as CloudWatch alarm periods). Edit the HAVING line to change the threshold.
-- references: CIS AWS Foundations 4.6 alarm; ATT&CK T1110.001, T1110.003
-- runbook: Block the address (network ACL or WAF) if it is not yours, check whether any sign-in from it later succeeded, and reset the passwords of the users it tried.
-- tactics: credential-access
-- techniques: T1110.001, T1110.003
SELECT from_unixtime(floor(to_unixtime(from_iso8601_timestamp(eventTime)) / 300) * 300) AS window_start,
       recipientAccountId AS account, sourceIPAddress,
       count(*) AS failures, count(DISTINCT userIdentity.userName) AS users_tried,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE eventName = 'ConsoleLogin'
  AND (errorMessage IS NOT NULL OR responseElements.ConsoleLogin = 'Failure')
GROUP BY from_unixtime(floor(to_unixtime(from_iso8601_timestamp(eventTime)) / 300) * 300), recipientAccountId, sourceIPAddress
HAVING count(*) >= 5
ORDER BY window_start, account, sourceIPAddress
