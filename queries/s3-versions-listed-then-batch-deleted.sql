-- name: s3-versions-listed-then-batch-deleted
-- title: S3 object versions listed, then deleted in bulk
-- severity: high
-- description: Alarm: within one hour, one principal lists a bucket's object versions (ListObjectVersions) and deletes objects in bulk (DeleteObjects) in the same bucket (S3 data events needed): listing versions is what it takes to destroy a versioned bucket's data for good. A bulk delete after an ordinary listing (aws s3 rm --recursive) is not reported. Benign: a job that purges old versions; suppress its principal.
-- references: Stratus Red Team aws.impact.s3-ransomware-batch-deletion; ATT&CK T1485, T1490
-- runbook: Stop the principal (revoke its credentials) and restore the bucket from backups; DeleteObjects does not log which objects it removed.
-- tactics: impact
-- techniques: T1485, T1490
SELECT date_trunc('hour', from_iso8601_timestamp(eventTime)) AS hour, recipientAccountId AS account, userIdentity.arn AS principal, json_extract_scalar(requestParameters, '$.bucketName') AS bucket,
      
       count(DISTINCT eventName) AS kinds, count(*) AS calls, count(errorCode) AS failed,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE eventSource = 's3.amazonaws.com'
  AND eventName IN ('ListObjectVersions', 'DeleteObjects')
  AND errorCode IS NULL
GROUP BY date_trunc('hour', from_iso8601_timestamp(eventTime)), recipientAccountId, userIdentity.arn, json_extract_scalar(requestParameters, '$.bucketName')
HAVING count(DISTINCT eventName) >= 2
ORDER BY hour, account, principal
