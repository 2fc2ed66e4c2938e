-- name: sagemaker-lifecycle-config-changed
-- title: SageMaker notebook lifecycle script changed
-- severity: medium
-- description: A SageMaker notebook lifecycle configuration created or changed, or attached to a notebook instance, by a principal directly (not through CloudFormation): the script runs as root on the notebook at its next start, with the notebook's execution role. Benign: a data-science platform team's own tooling; suppress its principal.
-- references: Stratus Red Team aws.execution.sagemaker-update-lifecycle-config; ATT&CK T1651
-- runbook: Read the script (describe-notebook-instance-lifecycle-config); if unknown, stop the notebook, remove the configuration and rotate the execution role's sessions.
-- tactics: execution, privilege-escalation
-- techniques: T1651
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress,
       coalesce(json_extract_scalar(requestParameters, '$.notebookInstanceName'),
                json_extract_scalar(requestParameters, '$.notebookInstanceLifecycleConfigName')) AS resource,
       json_extract_scalar(requestParameters, '$.lifecycleConfigName') AS lifecycle_config, errorCode
FROM cloudtrail_logs
WHERE eventSource = 'sagemaker.amazonaws.com'
  AND (eventName IN ('CreateNotebookInstanceLifecycleConfig', 'UpdateNotebookInstanceLifecycleConfig')
       OR (eventName = 'UpdateNotebookInstance'
           AND json_extract_scalar(requestParameters, '$.lifecycleConfigName') IS NOT NULL))
  AND userIdentity.invokedBy IS NULL
ORDER BY eventTime
