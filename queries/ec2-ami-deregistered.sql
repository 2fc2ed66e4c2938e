-- name: ec2-ami-deregistered
-- title: AMI deregistered
-- severity: low
-- description: DeregisterImage: instances can no longer be launched from the image, which breaks recovery, scaling and redeployment that depend on it (and, with deleteAssociatedSnapshots, its snapshots go too). Benign: image pipelines retiring old AMIs; suppress their principal, so that what remains is a person deleting images.
-- references: Stratus Red Team aws.impact.ec2-deregister-ami; ATT&CK T1485, T1490
-- runbook: Check that the image was meant to go; a deregistered AMI whose snapshots remain can be registered again (register-image from the snapshot).
-- tactics: impact
-- techniques: T1485, T1490
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.imageId') AS image_id,
       json_extract_scalar(requestParameters, '$.deleteAssociatedSnapshots') AS delete_snapshots, errorCode
FROM cloudtrail_logs
WHERE eventName = 'DeregisterImage'
ORDER BY eventTime
