-- name: bedrock-probing
-- title: Bedrock models probed and invoked by one principal
-- severity: medium
-- description: Alarm: one principal, outside the console, makes three or more different Bedrock calls among model listings, availability and agreement checks, logging lookups and invocations within an hour: the pattern of LLMjacking scripts testing which models stolen keys can run. An application that only invokes its model makes one or two kinds of call. Benign: developers trying models from the SDK; suppress their principals. Edit the HAVING line to change the threshold.
-- references: Stratus Red Team aws.impact.bedrock-invoke-model; ATT&CK T1496.004, T1526
-- runbook: Confirm the principal's owner is experimenting with Bedrock; if not, revoke its credentials and check Bedrock usage and costs.
-- tactics: impact, discovery
-- techniques: T1496.004, T1526
SELECT date_trunc('hour', from_iso8601_timestamp(eventTime)) AS hour, recipientAccountId AS account, userIdentity.arn AS principal,
       count(DISTINCT eventName) AS bedrock_calls, count(*) AS calls, count(errorCode) AS failed,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM cloudtrail_logs
WHERE eventSource = 'bedrock.amazonaws.com'
  AND eventName IN ('ListFoundationModels', 'GetFoundationModel', 'GetFoundationModelAvailability',
                    'ListFoundationModelAgreementOffers', 'GetUseCaseForModelAccess',
                    'GetModelInvocationLoggingConfiguration', 'ListInferenceProfiles', 'InvokeModel',
                    'InvokeModelWithResponseStream', 'Converse', 'ConverseStream')
  AND (sessionCredentialFromConsole IS NULL OR sessionCredentialFromConsole <> 'true')
GROUP BY date_trunc('hour', from_iso8601_timestamp(eventTime)), recipientAccountId, userIdentity.arn
HAVING count(DISTINCT eventName) >= 3
ORDER BY hour, account, principal
