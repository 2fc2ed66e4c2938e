-- name: iam-admin-policy-attached
-- title: Administrator policy attached
-- severity: high
-- description: AdministratorAccess or IAMFullAccess attached to a user, group or role: full control of the account, or the means to take it, given in one call. Attempts are reported too (errorCode). Benign: setting up a break-glass or administrators' role; confirm it with its owner.
-- references: Stratus Red Team aws.persistence.iam-create-admin-user, iam-create-backdoor-role; ATT&CK T1098.003
-- runbook: Confirm the grant with its author; if unexpected, detach the policy, and if the user or role is new, delete it and its keys.
-- tactics: persistence, privilege-escalation
-- techniques: T1098.003
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress,
       coalesce(json_extract_scalar(requestParameters, '$.userName'),
                json_extract_scalar(requestParameters, '$.roleName'),
                json_extract_scalar(requestParameters, '$.groupName')) AS granted_to,
       json_extract_scalar(requestParameters, '$.policyArn') AS policy_arn, errorCode
FROM cloudtrail_logs
WHERE eventSource = 'iam.amazonaws.com'
  AND eventName IN ('AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy')
  AND regexp_like(json_extract_scalar(requestParameters, '$.policyArn'), '^arn:aws[a-z-]*:iam::aws:policy/(AdministratorAccess|IAMFullAccess)$')
ORDER BY eventTime
