-- name: ssm-parameters-bulk-decryption
-- title: Many SSM parameters decrypted by one principal
-- severity: medium
-- description: Alarm: one principal makes five or more different decrypting reads of SSM parameters (GetParameter, GetParameters, GetParametersByPath with withDecryption) within an hour: SecureString parameters hold passwords and keys, and a dump lists them, then reads them ten at a time. An application reading its own parameters repeats the same request, which counts once. Benign: configuration tools that render many parameters; suppress their principal. Edit the HAVING line to change the threshold.
-- references: Stratus Red Team aws.credential-access.ssm-retrieve-securestring-parameters; ATT&CK T1555.006, T1552
-- runbook: Check which parameters were read (trailscan query on GetParameters for the principal); if unexpected, rotate the secrets they hold.
-- tactics: credential-access
-- techniques: T1555.006, T1552
SELECT date_trunc('hour', from_iso8601_timestamp(eventTime)) AS hour, recipientAccountId AS account, userIdentity.arn AS principal,
       count(DISTINCT requestParameters) AS requests, count(*) AS calls, count(errorCode) AS failed,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE eventSource = 'ssm.amazonaws.com'
  AND eventName IN ('GetParameter', 'GetParameters', 'GetParametersByPath')
  AND json_extract_scalar(requestParameters, '$.withDecryption') = 'true'
  AND userIdentity.invokedBy IS NULL
GROUP BY date_trunc('hour', from_iso8601_timestamp(eventTime)), recipientAccountId, userIdentity.arn
HAVING count(DISTINCT requestParameters) >= 5
ORDER BY hour, account, principal
