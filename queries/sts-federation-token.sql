-- name: sts-federation-token
-- title: Federation token issued to a user
-- severity: medium
-- description: GetFederationToken: an IAM user's keys minted temporary credentials that stay valid (up to 36 hours) after the keys are deactivated, a known way to keep access once discovered. GetSessionToken (MFA sign-in for the CLI) is not reported. Benign: old identity brokers built on federation tokens; suppress their principal.
-- references: Stratus Red Team aws.persistence.sts-federation-token; ATT&CK T1098.001, T1078.004
-- runbook: If the user has no broker that does this, deactivate its keys and attach a deny-all policy to the user, which also stops the federation sessions; review what the federated-user sessions did.
-- tactics: persistence, defense-evasion
-- techniques: T1098.001, T1078.004
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.name') AS federated_name, errorCode
FROM cloudtrail_logs
WHERE eventSource = 'sts.amazonaws.com'
  AND eventName = 'GetFederationToken'
ORDER BY eventTime
