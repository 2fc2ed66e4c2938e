-- name: lambda-code-updated
-- title: Lambda function code replaced
-- severity: low
-- description: UpdateFunctionCode by a principal directly (CloudFormation deployments are left out): new code runs with the function's role at the next invocation, which can quietly copy the data it handles. Benign: every deployment made outside CloudFormation (CI pipelines, the console); suppress the pipeline's principal, so that what remains is code changed by hand.
-- references: Stratus Red Team aws.persistence.lambda-overwrite-code; ATT&CK T1648
-- runbook: Compare codeSha256 in the response with your build; if unknown, roll back to a published version and review who had lambda:UpdateFunctionCode.
-- tactics: persistence, execution
-- techniques: T1648
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.functionName') AS function_name,
       json_extract_scalar(responseElements, '$.codeSha256') AS code_sha256, errorCode
FROM cloudtrail_logs
WHERE eventSource = 'lambda.amazonaws.com'
  AND eventName LIKE 'UpdateFunctionCode%'
  AND userIdentity.invokedBy IS NULL
ORDER BY eventTime
