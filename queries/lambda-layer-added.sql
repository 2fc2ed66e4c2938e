-- name: lambda-layer-added
-- title: Layer added to a Lambda function
-- severity: medium
-- description: UpdateFunctionConfiguration that sets a function's layers, by a principal directly (CloudFormation deployments are left out): a layer, or an extension in it, runs inside every invocation and sees its data and credentials. Changes of other settings are not reported. Benign: deployments made with tools other than CloudFormation; suppress their principal. A layer from an account that is not yours (see layers) is worse.
-- references: Stratus Red Team aws.persistence.lambda-layer-extension; Sigma aws_new_lambda_layer_attached; ATT&CK T1648
-- runbook: Check each layer's owner and content (lambda get-layer-version); remove an unknown layer and rotate what the function's role can reach.
-- tactics: persistence, execution
-- techniques: T1648
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.functionName') AS function_name,
       json_format(json_extract(requestParameters, '$.layers')) AS layers, errorCode
FROM cloudtrail_logs
WHERE eventSource = 'lambda.amazonaws.com'
  AND eventName LIKE 'UpdateFunctionConfiguration%'
  AND json_array_length(json_extract(requestParameters, '$.layers')) > 0
  AND userIdentity.invokedBy IS NULL
ORDER BY eventTime
