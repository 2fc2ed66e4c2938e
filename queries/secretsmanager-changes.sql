-- name: secretsmanager-changes
-- title: Secrets Manager secrets deleted, shared or rotated
-- severity: high
-- description: DeleteSecret, PutResourcePolicy (sharing a secret) and RotateSecret calls.
-- references: ATT&CK T1485, T1098; seed Lambda: Secrets Manager watcher
-- runbook: A deleted secret can be restored during its recovery window (aws secretsmanager restore-secret); a new resource policy may share the secret outside the account: review it.
-- tactics: impact, persistence
-- techniques: T1485, T1098
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.secretId') AS secret_id, errorCode
FROM cloudtrail_logs
WHERE eventSource = 'secretsmanager.amazonaws.com'
  AND eventName IN ('DeleteSecret', 'PutResourcePolicy', 'RotateSecret')
ORDER BY eventTime
