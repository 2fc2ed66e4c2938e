-- name: root-access-key-created
-- title: Access key created by the root user
-- severity: critical
-- description: CreateAccessKey called as the root user, through a service or not: CIS 4.3 leaves calls with invokedBy out of root-usage, so a root key made in the console would pass unseen there. A root access key is a permanent credential that no policy limits. Benign: none expected; an owner creating a key for an old integration should be stopped, not suppressed.
-- references: CIS AWS Foundations 1.4 (no root access keys); Sigma aws_root_account_usage; ATT&CK T1098.001
-- runbook: Signed in as root, delete the key now (Security credentials), reset the root password and MFA, and read root-usage for what root did.
-- tactics: persistence, privilege-escalation
-- techniques: T1098.001, T1078.004
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, userIdentity.invokedBy AS invoked_by,
       json_extract_scalar(requestParameters, '$.userName') AS for_user,
       json_extract_scalar(responseElements, '$.accessKey.accessKeyId') AS access_key_id, errorCode
FROM cloudtrail_logs
WHERE eventName = 'CreateAccessKey'
  AND userIdentity.type = 'Root'
ORDER BY eventTime
