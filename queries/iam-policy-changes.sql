-- name: iam-policy-changes
-- title: IAM policy changes (CIS)
-- severity: medium
-- description: The sixteen IAM calls that create, change, attach or detach policies.
-- references: CIS AWS Foundations 4.4 (3.4 in v1.x); ATT&CK T1098
-- runbook: Check each change against a ticket; a policy attached to a user or role outside change control is a privilege-escalation path: detach it and review the principal's activity.
-- tactics: persistence, privilege-escalation
-- techniques: T1098, T1098.003
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, errorCode
FROM cloudtrail_logs
WHERE eventName IN ('DeleteGroupPolicy',
                    'DeleteRolePolicy',
                    'DeleteUserPolicy',
                    'PutGroupPolicy',
                    'PutRolePolicy',
                    'PutUserPolicy',
                    'CreatePolicy',
                    'DeletePolicy',
                    'CreatePolicyVersion',
                    'DeletePolicyVersion',
                    'AttachRolePolicy',
                    'DetachRolePolicy',
                    'AttachUserPolicy',
                    'DetachUserPolicy',
                    'AttachGroupPolicy',
                    'DetachGroupPolicy')
ORDER BY eventTime
