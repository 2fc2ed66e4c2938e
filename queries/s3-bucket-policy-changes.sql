-- name: s3-bucket-policy-changes
-- title: S3 bucket policy changes
-- severity: medium
-- description: Changes to bucket ACLs, policies, CORS, lifecycle and replication: the settings that expose or move data.
-- references: CIS AWS Foundations 4.8 (3.8 in v1.x); ATT&CK T1530
-- runbook: Check the new policy or ACL for public or cross-account grants (aws s3api get-bucket-policy); revert anything that exposes data and review who made the change.
-- tactics: exfiltration, collection, defense-evasion
-- techniques: T1537, T1530, T1562.008
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.bucketName') AS bucket, errorCode
FROM cloudtrail_logs
WHERE eventSource = 's3.amazonaws.com'
  AND eventName IN ('PutBucketAcl',
                    'PutBucketPolicy',
                    'PutBucketCors',
                    'PutBucketLifecycle',
                    'PutBucketReplication',
                    'DeleteBucketPolicy',
                    'DeleteBucketCors',
                    'DeleteBucketLifecycle',
                    'DeleteBucketReplication')
ORDER BY eventTime
