-- name: mfa-device-deactivated
-- title: MFA device deactivated or deleted
-- severity: high
-- description: An MFA device was deactivated or a virtual MFA device deleted: the account falls back to a password alone.
-- references: Sigma aws_iam_mfa_deactivation; ATT&CK T1556.006
-- runbook: Confirm with the user; re-enable MFA at once if the change was not theirs, and reset their password.
-- tactics: defense-evasion, credential-access, persistence
-- techniques: T1556.006
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.userName') AS for_user,
       json_extract_scalar(requestParameters, '$.serialNumber') AS device
FROM cloudtrail_logs
WHERE eventSource = 'iam.amazonaws.com'
  AND eventName IN ('DeactivateMFADevice', 'DeleteVirtualMFADevice')
ORDER BY eventTime
