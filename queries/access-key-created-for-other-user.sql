-- name: access-key-created-for-other-user
-- title: Access key created for another user
-- severity: high
-- description: CreateAccessKey for a user other than the caller: a classic way to keep access (persistence) with someone else's identity.
-- references: Sigma aws_iam_backdoor_users_keys; ATT&CK T1098.001
-- runbook: Ask the caller why; if unexpected, deactivate the new key (aws iam update-access-key --status Inactive) and review what it was used for.
-- tactics: persistence, privilege-escalation
-- techniques: T1098.001
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.userName') AS for_user,
       json_extract_scalar(responseElements, '$.accessKey.accessKeyId') AS access_key_id
FROM cloudtrail_logs
WHERE eventName = 'CreateAccessKey'
  AND json_extract_scalar(requestParameters, '$.userName') IS NOT NULL
  AND (userIdentity.userName IS NULL OR json_extract_scalar(requestParameters, '$.userName') <> userIdentity.userName)
  AND errorCode IS NULL
ORDER BY eventTime
