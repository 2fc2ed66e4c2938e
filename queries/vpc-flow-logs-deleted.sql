-- name: vpc-flow-logs-deleted
-- title: VPC flow logs deleted
-- severity: high
-- description: DeleteFlowLogs: network evidence stops being recorded.
-- references: Sigma aws_ec2_vpc_flow_logs_deleted; ATT&CK T1562.008
-- runbook: Re-create the flow logs and find out who deleted them and what else they did.
-- tactics: defense-evasion
-- techniques: T1562.008
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, requestParameters AS request, errorCode
FROM cloudtrail_logs
WHERE eventName = 'DeleteFlowLogs'
ORDER BY eventTime
