-- name: cloudtrail-changes
-- title: CloudTrail configuration changes
-- severity: critical
-- description: Trails created, updated, deleted, started or stopped. StopLogging and DeleteTrail blind every other detection.
-- references: CIS AWS Foundations 4.5 (3.5 in v1.x); ATT&CK T1562.008
-- runbook: If logging was stopped or a trail deleted unexpectedly, restart logging now (aws cloudtrail start-logging), treat the principal as compromised, and look for what happened while logging was off.
-- tactics: defense-evasion
-- techniques: T1562.008
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.name') AS trail, errorCode
FROM cloudtrail_logs
WHERE eventName IN ('CreateTrail', 'UpdateTrail', 'DeleteTrail', 'StartLogging', 'StopLogging')
ORDER BY eventTime
