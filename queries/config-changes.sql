-- name: config-changes
-- title: AWS Config recorder and delivery changes
-- severity: high
-- description: AWS Config recorders stopped or changed, delivery channels changed or deleted: the configuration history goes dark.
-- references: CIS AWS Foundations 4.9 (3.9 in v1.x); ATT&CK T1562
-- runbook: Restart the recorder (aws configservice start-configuration-recorder) if it was stopped and confirm the change with its author.
-- tactics: defense-evasion
-- techniques: T1562
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, errorCode
FROM cloudtrail_logs
WHERE eventSource = 'config.amazonaws.com'
  AND eventName IN ('StopConfigurationRecorder', 'DeleteDeliveryChannel',
                    'PutDeliveryChannel', 'PutConfigurationRecorder')
ORDER BY eventTime
