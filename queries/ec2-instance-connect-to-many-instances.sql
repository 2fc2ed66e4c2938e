-- name: ec2-instance-connect-to-many-instances
-- title: SSH keys pushed to many instances
-- severity: medium
-- description: Alarm: one principal pushes an SSH key with EC2 Instance Connect (SendSSHPublicKey) to three or more different instances within an hour: anyone with the private key can log in to each for a minute. Connecting to one or two instances stays under the threshold. Benign: an administrator using the console's Connect button across a fleet; suppress their principal. Edit the HAVING line to change the threshold.
-- references: Stratus Red Team aws.lateral-movement.ec2-instance-connect; ATT&CK T1021.008, T1098.004
-- runbook: Confirm with the principal's owner; if unexpected, check the instances' SSH logs from that minute and revoke the principal's credentials.
-- tactics: lateral-movement
-- techniques: T1021.008, T1098.004
SELECT date_trunc('hour', from_iso8601_timestamp(eventTime)) AS hour, recipientAccountId AS account, userIdentity.arn AS principal,
       count(DISTINCT json_extract_scalar(requestParameters, '$.instanceId')) AS instances, count(*) AS calls, count(errorCode) AS failed,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE eventSource = 'ec2-instance-connect.amazonaws.com'
  AND eventName = 'SendSSHPublicKey'
GROUP BY date_trunc('hour', from_iso8601_timestamp(eventTime)), recipientAccountId, userIdentity.arn
HAVING count(DISTINCT json_extract_scalar(requestParameters, '$.instanceId')) >= 3
ORDER BY hour, account, principal
