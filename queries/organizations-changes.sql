-- name: organizations-changes
-- title: AWS Organizations changes
-- severity: high
-- description: Changes to the organization: accounts created, invited, moved or removed, OUs and service control policies changed.
-- references: CIS AWS Foundations 4.15 (3.15 in v1.x); ATT&CK T1484
-- runbook: Organization changes come from the management account and are rare: confirm each with the cloud platform team; a detached SCP or an account leaving is urgent.
-- tactics: defense-evasion, privilege-escalation
-- techniques: T1484
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, errorCode
FROM cloudtrail_logs
WHERE eventSource = 'organizations.amazonaws.com'
  AND eventName IN ('AcceptHandshake',
                    'AttachPolicy',
                    'CancelHandshake',
                    'CreateAccount',
                    'CreateOrganization',
                    'CreateOrganizationalUnit',
                    'CreatePolicy',
                    'DeclineHandshake',
                    'DeleteOrganization',
                    'DeleteOrganizationalUnit',
                    'DeletePolicy',
                    'EnableAllFeatures',
                    'EnablePolicyType',
                    'InviteAccountToOrganization',
                    'LeaveOrganization',
                    'DetachPolicy',
                    'DisablePolicyType',
                    'MoveAccount',
                    'RemoveAccountFromOrganization',
                    'UpdateOrganizationalUnit',
                    'UpdatePolicy')
ORDER BY eventTime
