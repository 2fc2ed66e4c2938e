-- name: login-profile-changes
-- title: Console password created or changed for a user
-- severity: medium
-- description: CreateLoginProfile or UpdateLoginProfile: someone gave a user console access or set their password.
-- references: Sigma aws_iam_login_profile_changes; ATT&CK T1098
-- runbook: Check that the caller administers this user; a password set by someone else on an admin user is a takeover: reset it and review the user's sessions.
-- tactics: persistence, privilege-escalation
-- techniques: T1098
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.userName') AS for_user
FROM cloudtrail_logs
WHERE eventSource = 'iam.amazonaws.com'
  AND eventName IN ('CreateLoginProfile', 'UpdateLoginProfile')
ORDER BY eventTime
