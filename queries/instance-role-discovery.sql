-- name: instance-role-discovery
-- title: Enumeration with an EC2 instance role
-- severity: medium
-- description: Alarm: an EC2 instance's role session (a session named after the instance, i-…) makes four or more different discovery calls within an hour: who am I, users, roles, buckets, trails, detectors, snapshots. An application uses the few calls it was written for; someone on a compromised instance looks around. Benign: an agent that inventories the account from an instance; suppress its role. Edit the HAVING line to change the threshold.
-- references: Stratus Red Team aws.discovery.ec2-enumerate-from-instance; ATT&CK T1580, T1087.004, T1526
-- runbook: Find what runs on the instance (the session name is its id); if nothing there should enumerate the account, isolate it and rotate its role's sessions.
-- tactics: discovery
-- techniques: T1580, T1087.004, T1526
SELECT date_trunc('hour', from_iso8601_timestamp(eventTime)) AS hour, recipientAccountId AS account, userIdentity.arn AS principal,
       count(DISTINCT eventName) AS discovery_calls, count(*) AS calls, count(errorCode) AS failed,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE userIdentity.type = 'AssumedRole'
  AND userIdentity.arn LIKE '%:assumed-role/%/i-%'
  AND regexp_like(userIdentity.arn, ':assumed-role/[^/]+/i-[0-9a-fA-F]{8,17}$')
  AND (readOnly = 'true' OR eventName = 'GetCallerIdentity')
  AND (eventSource IN ('iam.amazonaws.com', 'organizations.amazonaws.com', 'cloudtrail.amazonaws.com', 'guardduty.amazonaws.com',
                        'securityhub.amazonaws.com', 'config.amazonaws.com', 'access-analyzer.amazonaws.com', 'sts.amazonaws.com')
       OR eventName IN ('ListBuckets', 'DescribeSnapshots', 'DescribeInstances', 'DescribeSecurityGroups', 'ListSecrets',
                      'DescribeParameters', 'ListFunctions20150331', 'DescribeDBInstances', 'ListKeys', 'DescribeRegions'))
GROUP BY date_trunc('hour', from_iso8601_timestamp(eventTime)), recipientAccountId, userIdentity.arn
HAVING count(DISTINCT eventName) >= 4
ORDER BY hour, account, principal
