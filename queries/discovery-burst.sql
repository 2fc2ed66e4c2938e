-- name: discovery-burst
-- title: Burst of account enumeration by one principal
-- severity: low
-- description: Alarm: one principal, outside the console and not an AWS service, makes ten or more different discovery calls within an hour (IAM, Organizations, CloudTrail, GuardDuty, Security Hub, Config, Access Analyzer, STS, and listings of buckets, snapshots, instances, secrets, functions, databases, keys and regions): what enumeration tools do with fresh credentials. Many calls of the same API (a DescribeInstances poller) count once. Benign: security and inventory scanners; suppress their principal. Edit the HAVING line to change the threshold.
-- references: Stratus Red Team aws.discovery.ec2-enumerate-from-instance; ATT&CK T1580, T1087.004, T1069.003, T1526
-- runbook: Identify the tool behind the principal; if it is not a scanner you run, treat the credentials as stolen: revoke and rotate them.
-- tactics: discovery
-- techniques: T1580, T1087.004, T1069.003, T1526
SELECT date_trunc('hour', try(from_iso8601_timestamp(eventTime))) AS hour, recipientAccountId AS account, userIdentity.arn AS principal,
       count(DISTINCT eventName) AS discovery_calls, count(*) AS calls, count(errorCode) AS failed,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE readOnly = 'true'
  AND userIdentity.invokedBy IS NULL
  AND (sessionCredentialFromConsole IS NULL OR sessionCredentialFromConsole <> 'true')
  AND (eventSource IN ('iam.amazonaws.com', 'organizations.amazonaws.com', 'cloudtrail.amazonaws.com', 'guardduty.amazonaws.com',
                        'securityhub.amazonaws.com', 'config.amazonaws.com', 'access-analyzer.amazonaws.com', 'sts.amazonaws.com')
       OR eventName IN ('ListBuckets', 'DescribeSnapshots', 'DescribeInstances', 'DescribeSecurityGroups', 'ListSecrets',
                      'DescribeParameters', 'ListFunctions20150331', 'DescribeDBInstances', 'ListKeys', 'DescribeRegions'))
GROUP BY date_trunc('hour', try(from_iso8601_timestamp(eventTime))), recipientAccountId, userIdentity.arn
HAVING count(DISTINCT eventName) >= 10
ORDER BY hour, account, principal
