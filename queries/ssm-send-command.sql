-- name: ssm-send-command
-- title: Shell commands sent to instances with SSM
-- severity: medium
-- description: SendCommand of a shell document (AWS-RunShellScript, AWS-RunPowerShellScript, AWS-RunRemoteScript) by a principal, not by Systems Manager itself: arbitrary commands as root on every instance listed. Maintenance windows and State Manager associations (invoked by ssm.amazonaws.com) and other documents (patching) are not reported. Benign: administrators using Run Command by hand; suppress their principals, or move routine commands to State Manager.
-- references: Stratus Red Team aws.execution.ssm-send-command, aws.credential-access.ec2-steal-instance-credentials; Sigma aws_cloudtrail_ssm_malicious_usage; ATT&CK T1651
-- runbook: Read the command (ssm list-command-invocations --details); if nobody can vouch for it, isolate the instances and rotate their roles' sessions.
-- tactics: execution
-- techniques: T1651
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.documentName') AS document,
       json_array_length(json_extract(requestParameters, '$.instanceIds')) AS instances,
       json_format(json_extract(requestParameters, '$.instanceIds')) AS instance_ids,
       json_format(json_extract(requestParameters, '$.targets')) AS targets, errorCode
FROM cloudtrail_logs
WHERE eventSource = 'ssm.amazonaws.com'
  AND eventName = 'SendCommand'
  AND json_extract_scalar(requestParameters, '$.documentName') IN ('AWS-RunShellScript', 'AWS-RunPowerShellScript', 'AWS-RunRemoteScript')
  AND userIdentity.invokedBy IS NULL
  AND (sourceIPAddress IS NULL OR sourceIPAddress NOT LIKE '%.amazonaws.com')
ORDER BY eventTime
