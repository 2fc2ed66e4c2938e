-- name: snapshot-or-ami-shared
-- title: Snapshot or AMI shared with another account
-- severity: high
-- description: A successful call that lets another AWS account use an EBS snapshot (create-volume permission), an AMI (launch permission), or an RDS instance or cluster snapshot (restore attribute): the account can copy the data out. Sharing with the account itself, and removals, are not reported; public sharing (group all) is snapshot-or-ami-made-public. Benign: image or backup pipelines that share with your own other accounts; suppress their principal ([suppress.snapshot-or-ami-shared] principals).
-- references: Stratus Red Team aws.exfiltration.ec2-share-ami, ec2-share-ebs-snapshot, rds-share-snapshot; Sigma aws_snapshot_backup_exfiltration; ATT&CK T1537
-- runbook: Check that every account in shared_with is yours; if one is not, remove it (modify-image-attribute / modify-snapshot-attribute --remove, modify-db-snapshot-attribute --values-to-remove) and treat the content as copied.
-- tactics: exfiltration
-- techniques: T1537
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress,
       coalesce(json_extract_scalar(requestParameters, '$.snapshotId'),
                json_extract_scalar(requestParameters, '$.imageId'),
                json_extract_scalar(requestParameters, '$.dBSnapshotIdentifier'),
                json_extract_scalar(requestParameters, '$.dBClusterSnapshotIdentifier')) AS resource,
       coalesce(json_format(json_extract(requestParameters, '$.createVolumePermission.add.items')),
                json_format(json_extract(requestParameters, '$.launchPermission.add.items')),
                json_format(json_extract(requestParameters, '$.valuesToAdd'))) AS shared_with
FROM cloudtrail_logs
WHERE errorCode IS NULL
  AND ((eventName = 'ModifySnapshotAttribute'
        AND json_array_length(json_extract(requestParameters, '$.createVolumePermission.add.items')) > 0
        AND json_format(json_extract(requestParameters, '$.createVolumePermission.add.items')) <> '[{"userId":"' || recipientAccountId || '"}]'
        AND NOT regexp_like(json_format(json_extract(requestParameters, '$.createVolumePermission.add.items')), '"groups?":"all"'))
    OR (eventName = 'ModifyImageAttribute'
        AND json_array_length(json_extract(requestParameters, '$.launchPermission.add.items')) > 0
        AND json_format(json_extract(requestParameters, '$.launchPermission.add.items')) <> '[{"userId":"' || recipientAccountId || '"}]'
        AND NOT regexp_like(json_format(json_extract(requestParameters, '$.launchPermission.add.items')), '"groups?":"all"'))
    OR (eventName IN ('ModifyDBSnapshotAttribute', 'ModifyDBClusterSnapshotAttribute')
        AND json_extract_scalar(requestParameters, '$.attributeName') = 'restore'
        AND json_array_length(json_extract(requestParameters, '$.valuesToAdd')) > 0
        AND json_format(json_extract(requestParameters, '$.valuesToAdd')) <> '["' || recipientAccountId || '"]'
        AND json_format(json_extract(requestParameters, '$.valuesToAdd')) NOT LIKE '%"all"%'))
ORDER BY eventTime
