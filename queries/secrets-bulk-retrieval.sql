-- name: secrets-bulk-retrieval
-- title: Many secrets read by one principal
-- severity: high
-- description: Alarm: one principal reads ten or more different secrets (GetSecretValue) within an hour, not through an AWS service. Applications read the few secrets they use, many times: repeated reads of the same secrets do not count. Benign: a secrets sync or backup job; suppress its principal. Edit the HAVING line to change the threshold. The secrets-access analysis compares readers with a baseline.
-- references: Stratus Red Team aws.credential-access.secretsmanager-retrieve-secrets; ATT&CK T1555.006
-- runbook: Confirm the job that read them; if none, rotate the secrets read and revoke the principal's sessions.
-- tactics: credential-access
-- techniques: T1555.006
SELECT date_trunc('hour', from_iso8601_timestamp(eventTime)) AS hour, recipientAccountId AS account, userIdentity.arn AS principal,
       count(DISTINCT json_extract_scalar(requestParameters, '$.secretId')) AS secrets, count(*) AS calls, count(errorCode) AS failed,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE eventSource = 'secretsmanager.amazonaws.com'
  AND eventName = 'GetSecretValue'
  AND userIdentity.invokedBy IS NULL
GROUP BY date_trunc('hour', from_iso8601_timestamp(eventTime)), recipientAccountId, userIdentity.arn
HAVING count(DISTINCT json_extract_scalar(requestParameters, '$.secretId')) >= 10
ORDER BY hour, account, principal
