-- name: ec2-unusual-instance-launch
-- title: Unusual EC2 instances launched
-- severity: medium
-- description: RunInstances, successful or not, for GPU, machine-learning, FPGA or very large types (p*, g*, inf*, trn*, dl*, f*, vt*, x*, u-*, hpc*, *.metal, 24xlarge and up), or for ten or more instances at once: what cryptomining with stolen keys launches. Failures (denied, vCPU limit) show the attempt. Benign: ML and HPC teams; suppress their principals.
-- references: Stratus Red Team aws.execution.ec2-launch-unusual-instances; ATT&CK T1578.002, T1496.001
-- runbook: Confirm the launch with the team that owns the principal; if nobody does, terminate the instances, revoke the principal's credentials and check every region for more.
-- tactics: execution, impact
-- techniques: T1578.002, T1496.001
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress, json_extract_scalar(requestParameters, '$.instanceType') AS instance_type,
       json_extract_scalar(requestParameters, '$.instancesSet.items[0].maxCount') AS max_count, errorCode
FROM cloudtrail_logs
WHERE eventName = 'RunInstances'
  AND (regexp_like(json_extract_scalar(requestParameters, '$.instanceType'), '^(p[0-9]|g[0-9]|inf[0-9]|trn[0-9]|dl[0-9]|f[0-9]|vt[0-9]|x[0-9]|u-|hpc[0-9])')
       OR regexp_like(json_extract_scalar(requestParameters, '$.instanceType'), '\.(metal.*|(24|32|48|56|96|112)xlarge)$')
       OR regexp_like(json_extract_scalar(requestParameters, '$.instancesSet.items[0].maxCount'), '^[1-9][0-9]+$'))
ORDER BY eventTime
