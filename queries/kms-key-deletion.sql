-- name: kms-key-deletion
-- title: KMS keys disabled or scheduled for deletion
-- severity: high
-- description: Customer managed KMS keys disabled or scheduled for deletion: data encrypted under them becomes unreadable.
-- references: CIS AWS Foundations 4.7 (3.7 in v1.x); ATT&CK T1485
-- runbook: If unexpected, cancel the deletion (aws kms cancel-key-deletion) and re-enable the key within the waiting period; then find out who asked for it.
-- tactics: impact
-- techniques: T1485
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.keyId') AS key_id, errorCode
FROM cloudtrail_logs
WHERE eventSource = 'kms.amazonaws.com'
  AND eventName IN ('DisableKey', 'ScheduleKeyDeletion')
ORDER BY eventTime
