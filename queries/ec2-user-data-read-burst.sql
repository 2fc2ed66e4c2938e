-- name: ec2-user-data-read-burst
-- title: User data read from many instances
-- severity: medium
-- description: Alarm: one principal asks for the user data of three or more instances within an hour (DescribeInstanceAttribute userData), denied calls included: user data often holds install scripts with secrets, and tools such as Pacu read it from every instance. One or two reads (an admin checking a script) stay under the threshold. Benign: inventory or compliance scanners; suppress their principal. Edit the HAVING line to change the threshold.
-- references: Stratus Red Team aws.discovery.ec2-download-user-data; Sigma aws_ec2_download_userdata; ATT&CK T1552.005, T1580
-- runbook: Ask the principal's owner why; if unexpected, treat every secret in those instances' user data as exposed (rotate them) and review the principal's other calls.
-- tactics: discovery, credential-access
-- techniques: T1552.005, T1580
SELECT date_trunc('hour', from_iso8601_timestamp(eventTime)) AS hour, recipientAccountId AS account, userIdentity.arn AS principal,
       count(DISTINCT json_extract_scalar(requestParameters, '$.instanceId')) AS instances, count(*) AS calls, count(errorCode) AS failed,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE eventName = 'DescribeInstanceAttribute'
  AND json_extract_scalar(requestParameters, '$.attribute') = 'userData'
GROUP BY date_trunc('hour', from_iso8601_timestamp(eventTime)), recipientAccountId, userIdentity.arn
HAVING count(DISTINCT json_extract_scalar(requestParameters, '$.instanceId')) >= 3
ORDER BY hour, account, principal
