-- name: ebs-default-encryption-disabled
-- title: EBS encryption by default disabled
-- severity: high
-- description: DisableEbsEncryptionByDefault: new volumes in the region are created unencrypted.
-- references: Sigma aws_ec2_disable_encryption; ATT&CK T1486
-- runbook: Turn it back on (aws ec2 enable-ebs-encryption-by-default) and check volumes created since.
-- tactics: impact, defense-evasion
-- techniques: T1486
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, errorCode
FROM cloudtrail_logs
WHERE eventName = 'DisableEbsEncryptionByDefault'
ORDER BY eventTime
