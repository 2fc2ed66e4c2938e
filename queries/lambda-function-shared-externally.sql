-- name: lambda-function-shared-externally
-- title: Lambda function opened to another account or to anyone
-- severity: high
-- description: A successful AddPermission granting invoke rights on a function to everyone (*) or to an AWS account or principal outside the function's account, or a function URL created or changed with no authentication (authType NONE): a way back in that survives credential rotation. Grants to AWS services (s3, events, apigateway) are not reported. Benign: functions called by partner accounts or public webhooks on purpose; suppress the principal that deploys them.
-- references: Stratus Red Team aws.persistence.lambda-backdoor-function; Sigma aws_lambda_function_url; ATT&CK T1098, T1648
-- runbook: Read the function's policy (lambda get-policy); remove statements nobody can explain (remove-permission) and review the function's code and recent invocations.
-- tactics: persistence
-- techniques: T1098, T1648
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.functionName') AS function_name,
       coalesce(json_extract_scalar(requestParameters, '$.principal'), json_extract_scalar(requestParameters, '$.authType')) AS granted_to
FROM cloudtrail_logs
WHERE eventSource = 'lambda.amazonaws.com'
  AND errorCode IS NULL
  AND ((eventName LIKE 'AddPermission%'
        AND (json_extract_scalar(requestParameters, '$.principal') = '*'
             OR (regexp_like(json_extract_scalar(requestParameters, '$.principal'), '^([0-9]{12}|arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:.+)$')
                 AND json_extract_scalar(requestParameters, '$.principal') <> recipientAccountId
                 AND strpos(json_extract_scalar(requestParameters, '$.principal'), '::' || recipientAccountId || ':') = 0)))
    OR ((eventName LIKE 'CreateFunctionUrlConfig%' OR eventName LIKE 'UpdateFunctionUrlConfig%')
        AND json_extract_scalar(requestParameters, '$.authType') = 'NONE'))
ORDER BY eventTime
