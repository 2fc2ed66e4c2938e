-- name: bedrock-model-access-changes
-- title: Bedrock model access enabled or invocation logging removed
-- severity: high
-- description: Calls that enable a foundation model for the account (use-case form, agreement, entitlement) or delete the model invocation logging configuration: what LLMjacking with stolen keys does before running a model at the account's expense, and to hide the prompts. Attempts are reported too (errorCode). Benign: a team enabling a model for a project; confirm with it, there is nothing to suppress.
-- references: Stratus Red Team aws.impact.bedrock-invoke-model; ATT&CK T1496.004, T1562.008
-- runbook: Confirm with the team that owns the principal; if nobody asked, revoke the principal's credentials, restore invocation logging and check Bedrock usage and costs in every region.
-- tactics: impact, defense-evasion
-- techniques: T1496.004, T1562.008
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.modelId') AS model_id, errorCode
FROM cloudtrail_logs
WHERE eventSource = 'bedrock.amazonaws.com'
  AND eventName IN ('PutUseCaseForModelAccess', 'CreateFoundationModelAgreement', 'PutFoundationModelEntitlement',
                    'DeleteModelInvocationLoggingConfiguration')
ORDER BY eventTime
