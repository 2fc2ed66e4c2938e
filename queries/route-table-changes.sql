-- name: route-table-changes
-- title: Route table changes
-- severity: medium
-- description: Routes and route tables created, replaced, deleted or re-associated: traffic can be diverted.
-- references: CIS AWS Foundations 4.13 (3.13 in v1.x); ATT&CK T1599
-- runbook: Check where new routes point (requestParameters); a route through an unknown gateway or instance can intercept traffic.
-- tactics: defense-evasion
-- techniques: T1599
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.routeTableId') AS route_table_id, errorCode
FROM cloudtrail_logs
WHERE eventName IN ('CreateRoute', 'CreateRouteTable', 'ReplaceRoute', 'ReplaceRouteTableAssociation',
                    'DeleteRouteTable', 'DeleteRoute', 'DisassociateRouteTable')
ORDER BY eventTime
