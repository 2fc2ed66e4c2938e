-- name: ssm-sessions-to-many-instances
-- title: SSM sessions opened to many instances
-- severity: medium
-- description: Alarm: one principal starts Session Manager sessions to three or more different instances within an hour: interactive shells, one after the other, across a fleet. A session to one or two instances stays under the threshold. Benign: an administrator working through a fleet; suppress their principal. Edit the HAVING line to change the threshold.
-- references: Stratus Red Team aws.execution.ssm-start-session; ATT&CK T1021.008, T1651
-- runbook: Ask the principal's owner; session logs (if Session Manager logging is on) show what was typed. If unexpected, terminate the sessions and revoke the principal's credentials.
-- tactics: execution, lateral-movement
-- techniques: T1021.008, T1651
SELECT date_trunc('hour', from_iso8601_timestamp(eventTime)) AS hour, recipientAccountId AS account, userIdentity.arn AS principal,
       count(DISTINCT json_extract_scalar(requestParameters, '$.target')) AS instances, count(*) AS calls, count(errorCode) AS failed,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE eventSource = 'ssm.amazonaws.com'
  AND eventName = 'StartSession'
GROUP BY date_trunc('hour', from_iso8601_timestamp(eventTime)), recipientAccountId, userIdentity.arn
HAVING count(DISTINCT json_extract_scalar(requestParameters, '$.target')) >= 3
ORDER BY hour, account, principal
