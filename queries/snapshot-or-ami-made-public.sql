-- name: snapshot-or-ami-made-public
-- title: Snapshot or AMI made public
-- severity: critical
-- description: An EBS snapshot's create-volume permission or an AMI's launch permission was granted to group all: anyone can copy the data.
-- references: Sigma aws_snapshot_made_public / aws_ec2_ami_made_public; ATT&CK T1537
-- runbook: Remove the public permission (modify-snapshot-attribute / modify-image-attribute --remove group all) and assume the content was copied.
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, requestParameters.snapshotId AS snapshot_id, requestParameters.imageId AS image_id
FROM cloudtrail_logs
WHERE (eventName = 'ModifySnapshotAttribute'
       AND json_extract_scalar(requestParameters, '$.createVolumePermission.add.items[0].group') = 'all')
   OR (eventName = 'ModifyImageAttribute'
       AND json_extract_scalar(requestParameters, '$.launchPermission.add.items[0].group') = 'all')
ORDER BY eventTime
