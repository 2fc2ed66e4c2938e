-- name: s3-mass-object-deletion
-- title: Many S3 objects deleted one by one
-- severity: high
-- description: Alarm: one principal deletes twenty or more different objects of one bucket with DeleteObject within an hour (S3 data events needed): how ransomware empties a bucket, versions included, before leaving a note. Benign: cleanup jobs and applications that delete their temporary files; suppress their principal. Edit the HAVING line to change the threshold.
-- references: Stratus Red Team aws.impact.s3-ransomware-individual-deletion; ATT&CK T1485
-- runbook: Stop the principal (revoke its credentials), then restore from versions or backups; check whether versions were deleted too (versionId in the events).
-- tactics: impact
-- techniques: T1485
SELECT date_trunc('hour', from_iso8601_timestamp(eventTime)) AS hour, recipientAccountId AS account, userIdentity.arn AS principal, json_extract_scalar(requestParameters, '$.bucketName') AS bucket,
      
       count(DISTINCT json_extract_scalar(requestParameters, '$.key')) AS objects, count(*) AS calls, count(errorCode) AS failed,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE eventSource = 's3.amazonaws.com'
  AND eventName = 'DeleteObject'
  AND errorCode IS NULL
GROUP BY date_trunc('hour', from_iso8601_timestamp(eventTime)), recipientAccountId, userIdentity.arn, json_extract_scalar(requestParameters, '$.bucketName')
HAVING count(DISTINCT json_extract_scalar(requestParameters, '$.key')) >= 20
ORDER BY hour, account, principal
