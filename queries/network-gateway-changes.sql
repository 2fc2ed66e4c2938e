-- name: network-gateway-changes
-- title: Network gateway changes
-- severity: medium
-- description: Customer and internet gateways created, attached, detached or deleted: new paths in and out of a VPC.
-- references: CIS AWS Foundations 4.12 (3.12 in v1.x); ATT&CK T1599
-- runbook: An internet gateway attached to a private VPC opens it to the internet: confirm the change or detach the gateway.
-- tactics: defense-evasion
-- techniques: T1599
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, errorCode
FROM cloudtrail_logs
WHERE eventName IN ('CreateCustomerGateway', 'DeleteCustomerGateway', 'AttachInternetGateway',
                    'CreateInternetGateway', 'DeleteInternetGateway', 'DetachInternetGateway')
ORDER BY eventTime
