-- name: access-key-created-for-other-user
-- title: Access key created for another user
-- severity: high
-- description: CreateAccessKey for a user other than the caller: a classic way to keep access (persistence) with someone else's identity.
-- references: Sigma aws_iam_backdoor_users_keys; ATT&CK T1098.001
-- runbook: Ask the caller why; if unexpected, deactivate the new key (aws iam update-access-key --status Inactive) and review what it was used for.
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, requestParameters.userName AS for_user, responseElements.accessKey.accessKeyId AS access_key_id
FROM cloudtrail_logs
WHERE eventName = 'CreateAccessKey'
  AND requestParameters.userName IS NOT NULL
  AND (userIdentity.userName IS NULL OR requestParameters.userName <> userIdentity.userName)
  AND errorCode IS NULL
ORDER BY eventTime
