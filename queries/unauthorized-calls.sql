-- name: unauthorized-calls
-- title: Unauthorized API calls
-- severity: medium
-- description: Calls denied with *UnauthorizedOperation or AccessDenied*, except S3 log delivery and HeadBucket probes (CIS filter). A burst from one principal often means stolen credentials being explored.
-- references: CIS AWS Foundations 4.1 (3.1 in v1.x); seed metric filter failedlogs (AccessDenied); ATT&CK T1526
-- runbook: Group by principal and address; a principal suddenly denied many different calls is a credential-theft signal: rotate its keys and review its sessions.
-- tactics: discovery
-- techniques: T1526, T1580
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, errorCode, errorMessage
FROM cloudtrail_logs
WHERE (errorCode LIKE '%UnauthorizedOperation' OR errorCode LIKE 'AccessDenied%')
  AND (sourceIPAddress IS NULL OR sourceIPAddress <> 'delivery.logs.amazonaws.com')
  AND (eventName IS NULL OR eventName <> 'HeadBucket')
ORDER BY eventTime
