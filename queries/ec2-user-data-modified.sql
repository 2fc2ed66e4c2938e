-- name: ec2-user-data-modified
-- title: EC2 instance user data changed
-- severity: high
-- description: ModifyInstanceAttribute that sets an instance's user data: the script runs as root at the next start, the classic stop, change, start route to code execution and to the instance role's credentials. Attempts are reported too (errorCode). Other instance attributes (type, termination protection) are not. Benign: rare with images built before launch; a deployment tool that rewrites user data (suppress its principal).
-- references: Stratus Red Team aws.execution.ec2-user-data; Sigma aws_ec2_startup_script_change; ATT&CK T1651
-- runbook: Read the new user data (describe-instance-attribute --attribute userData) and compare it with the launch template; if unknown, isolate the instance and rotate its role's credentials.
-- tactics: execution, privilege-escalation
-- techniques: T1651
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.instanceId') AS instance_id, errorCode
FROM cloudtrail_logs
WHERE eventName = 'ModifyInstanceAttribute'
  AND json_extract(requestParameters, '$.userData') IS NOT NULL
ORDER BY eventTime
