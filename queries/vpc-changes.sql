-- name: vpc-changes
-- title: VPC changes
-- severity: medium
-- description: VPCs created, deleted or modified, peering connections and ClassicLink changes.
-- references: CIS AWS Foundations 4.14 (3.14 in v1.x); ATT&CK T1599
-- runbook: A new peering connection links networks: confirm the peer account is yours and expected.
-- tactics: defense-evasion
-- techniques: T1599
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, errorCode
FROM cloudtrail_logs
WHERE eventName IN ('CreateVpc',
                    'DeleteVpc',
                    'ModifyVpcAttribute',
                    'AcceptVpcPeeringConnection',
                    'CreateVpcPeeringConnection',
                    'DeleteVpcPeeringConnection',
                    'RejectVpcPeeringConnection',
                    'AttachClassicLinkVpc',
                    'DetachClassicLinkVpc',
                    'DisableVpcClassicLink',
                    'EnableVpcClassicLink')
ORDER BY eventTime
