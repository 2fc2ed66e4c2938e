-- name: guardduty-detector-deleted
-- title: GuardDuty detector deleted
-- severity: critical
-- description: A GuardDuty detector was deleted: threat detection stops in that region.
-- references: Sigma aws_guardduty_disruption; ATT&CK T1562.001
-- runbook: Re-create the detector now (aws guardduty create-detector --enable) and treat the principal as compromised until proven otherwise.
-- tactics: defense-evasion
-- techniques: T1562.001
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.detectorId') AS detector_id, errorCode
FROM cloudtrail_logs
WHERE eventSource = 'guardduty.amazonaws.com'
  AND eventName = 'DeleteDetector'
ORDER BY eventTime
