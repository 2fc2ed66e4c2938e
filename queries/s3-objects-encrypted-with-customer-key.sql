-- name: s3-objects-encrypted-with-customer-key
-- title: S3 objects rewritten with a customer-provided key
-- severity: high
-- description: Alarm: one principal writes or copies five or more different objects of one bucket with server-side encryption under a key it provides (SSE-C) within an hour (S3 data events needed): objects re-encrypted in place with a key only the attacker holds, as S3 ransomware does. Benign: applications that use SSE-C by design; suppress their principal. Edit the HAVING line to change the threshold.
-- references: Stratus Red Team aws.impact.s3-ransomware-client-side-encryption; ATT&CK T1486
-- runbook: Stop the principal (revoke its credentials) and restore earlier versions of the objects, which S3 keeps if versioning was on; block SSE-C with a bucket policy if you do not use it.
-- tactics: impact
-- techniques: T1486
SELECT date_trunc('hour', from_iso8601_timestamp(eventTime)) AS hour, recipientAccountId AS account, userIdentity.arn AS principal, json_extract_scalar(requestParameters, '$.bucketName') AS bucket,
      
       count(DISTINCT json_extract_scalar(requestParameters, '$.key')) AS objects, count(*) AS calls, count(errorCode) AS failed,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE eventSource = 's3.amazonaws.com'
  AND eventName IN ('PutObject', 'CopyObject', 'CreateMultipartUpload')
  AND json_extract_scalar(requestParameters, '$["x-amz-server-side-encryption-customer-algorithm"]') IS NOT NULL
  AND errorCode IS NULL
GROUP BY date_trunc('hour', from_iso8601_timestamp(eventTime)), recipientAccountId, userIdentity.arn, json_extract_scalar(requestParameters, '$.bucketName')
HAVING count(DISTINCT json_extract_scalar(requestParameters, '$.key')) >= 5
ORDER BY hour, account, principal
