-- name: ec2-password-data-retrieval
-- title: Windows passwords requested for many instances
-- severity: medium
-- description: Alarm: one principal calls GetPasswordData for three or more instances within an hour, denied calls included: the encrypted Windows Administrator passwords, which the key pair decrypts. An administrator fetching one instance's password stays under the threshold. Benign: a fleet tool that logs in to many Windows instances; suppress its principal. Edit the HAVING line to change the threshold.
-- references: Stratus Red Team aws.credential-access.ec2-get-password-data; ATT&CK T1552
-- runbook: Confirm the principal manages these Windows instances; if not, change the Administrator passwords of the instances it reached and revoke the principal's sessions.
-- tactics: credential-access
-- techniques: T1552
SELECT date_trunc('hour', from_iso8601_timestamp(eventTime)) AS hour, recipientAccountId AS account, userIdentity.arn AS principal,
       count(DISTINCT json_extract_scalar(requestParameters, '$.instanceId')) AS instances, count(*) AS calls, count(errorCode) AS failed,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE eventName = 'GetPasswordData'
GROUP BY date_trunc('hour', from_iso8601_timestamp(eventTime)), recipientAccountId, userIdentity.arn
HAVING count(DISTINCT json_extract_scalar(requestParameters, '$.instanceId')) >= 3
ORDER BY hour, account, principal
