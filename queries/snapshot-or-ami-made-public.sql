-- name: snapshot-or-ami-made-public
-- title: Snapshot or AMI made public
-- severity: critical
-- description: A successful call that grants group all: an EBS snapshot's create-volume permission, an AMI's launch permission, or an RDS instance or cluster snapshot's restore attribute. Anyone with an AWS account can then copy the data. Every item of the permission list is read, not only the first; calls that failed changed nothing and are left out. Benign: a deliberately public image (a vendor's marketplace AMI); suppress the principal that publishes them ([suppress.snapshot-or-ami-made-public] principals).
-- references: Sigma aws_snapshot_made_public / aws_ec2_ami_made_public; Stratus Red Team aws.exfiltration.ec2-share-ami, ec2-share-ebs-snapshot, rds-share-snapshot; ATT&CK T1537
-- runbook: Remove the public permission now (modify-snapshot-attribute / modify-image-attribute --remove group all; modify-db-snapshot-attribute --values-to-remove all) and assume the content was copied: rotate any secret it held.
-- tactics: exfiltration
-- techniques: T1537
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress,
       coalesce(json_extract_scalar(requestParameters, '$.snapshotId'),
                json_extract_scalar(requestParameters, '$.imageId'),
                json_extract_scalar(requestParameters, '$.dBSnapshotIdentifier'),
                json_extract_scalar(requestParameters, '$.dBClusterSnapshotIdentifier')) AS resource
FROM cloudtrail_logs
WHERE errorCode IS NULL
  AND ((eventName = 'ModifySnapshotAttribute'
        AND regexp_like(json_format(json_extract(requestParameters, '$.createVolumePermission.add.items')), '"groups?":"all"'))
    OR (eventName = 'ModifyImageAttribute'
        AND regexp_like(json_format(json_extract(requestParameters, '$.launchPermission.add.items')), '"groups?":"all"'))
    OR (eventName IN ('ModifyDBSnapshotAttribute', 'ModifyDBClusterSnapshotAttribute')
        AND json_extract_scalar(requestParameters, '$.attributeName') = 'restore'
        AND json_format(json_extract(requestParameters, '$.valuesToAdd')) LIKE '%"all"%'))
ORDER BY eventTime
