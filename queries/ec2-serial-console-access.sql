-- name: ec2-serial-console-access
-- title: EC2 serial console enabled or used
-- severity: high
-- description: EnableSerialConsoleAccess (the account-wide switch) or SendSerialConsoleSSHPublicKey (a key pushed for an instance's serial console): access to an instance's console that needs no network path and bypasses security groups. Attempts are reported too (errorCode). Benign: break-glass troubleshooting of an unreachable instance; confirm it with whoever did it, there is nothing to suppress.
-- references: Stratus Red Team aws.lateral-movement.ec2-serial-console-send-ssh-public-key; ATT&CK T1021.008, T1098.004
-- runbook: Confirm the troubleshooting; otherwise disable serial console access (disable-serial-console-access) and check the instances reached.
-- tactics: lateral-movement
-- techniques: T1021.008, T1098.004
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.instanceId') AS instance_id, errorCode
FROM cloudtrail_logs
WHERE eventName IN ('EnableSerialConsoleAccess', 'SendSerialConsoleSSHPublicKey')
ORDER BY eventTime
