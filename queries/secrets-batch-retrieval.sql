-- name: secrets-batch-retrieval
-- title: Secrets read in bulk with BatchGetSecretValue
-- severity: medium
-- description: BatchGetSecretValue, successful or not: up to 20 secret values in one call, by list or by a filter that can match every secret, which is how a secrets dump avoids making many calls. Benign: applications using the batch API at start-up with a fixed secret list (secret_ids); suppress their principal ([suppress.secrets-batch-retrieval] principals).
-- references: Stratus Red Team aws.credential-access.secretsmanager-batch-retrieve-secrets; ATT&CK T1555.006
-- runbook: If the principal is not an application that reads these secrets, rotate every secret the filter matched and revoke the principal's sessions.
-- tactics: credential-access
-- techniques: T1555.006
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress,
       json_format(json_extract(requestParameters, '$.filters')) AS filters,
       json_format(json_extract(requestParameters, '$.secretIdList')) AS secret_ids, errorCode
FROM cloudtrail_logs
WHERE eventSource = 'secretsmanager.amazonaws.com'
  AND eventName = 'BatchGetSecretValue'
ORDER BY eventTime
