-- name: trail-event-selectors-weakened
-- title: Trail event selectors weakened
-- severity: high
-- description: PutEventSelectors that stops logging management events, keeps only reads or only writes, or excludes event sources: the trail sees less.
-- references: Sigma aws_cloudtrail_event_selectors; ATT&CK T1562.008
-- runbook: Restore the selectors (aws cloudtrail put-event-selectors) and review what was not logged meanwhile.
-- tactics: defense-evasion
-- techniques: T1562.008
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.trailName') AS trail,
       json_format(json_extract(requestParameters, '$.eventSelectors')) AS selectors
FROM cloudtrail_logs
WHERE eventName = 'PutEventSelectors'
  AND (requestParameters LIKE '%"includeManagementEvents":false%'
       OR requestParameters LIKE '%"readWriteType":"ReadOnly"%'
       OR requestParameters LIKE '%"readWriteType":"WriteOnly"%'
       OR requestParameters LIKE '%"excludeManagementEventSources":["%')
ORDER BY eventTime
