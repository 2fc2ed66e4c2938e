-- name: dns-query-logging-deleted
-- title: DNS query logging deleted
-- severity: high
-- description: A Route 53 Resolver query logging configuration deleted or detached from a VPC, or a public hosted zone's query logging deleted: DNS lookups, often the only trace of command-and-control and exfiltration, stop being recorded. Attempts are reported too (errorCode). Benign: a VPC being torn down; suppress the principal that tears down environments.
-- references: Stratus Red Team aws.defense-evasion.dns-delete-logs; ATT&CK T1562.008
-- runbook: Re-create the logging configuration and its associations, then find out who removed it and what else they did.
-- tactics: defense-evasion
-- techniques: T1562.008
SELECT eventTime, recipientAccountId AS account, awsRegion, eventName,
       userIdentity.arn AS principal, sourceIPAddress,
       coalesce(json_extract_scalar(requestParameters, '$.resolverQueryLogConfigId'),
                json_extract_scalar(requestParameters, '$.id')) AS config_id,
       json_extract_scalar(requestParameters, '$.resourceId') AS vpc_id, errorCode
FROM cloudtrail_logs
WHERE eventName IN ('DeleteResolverQueryLogConfig', 'DisassociateResolverQueryLogConfig', 'DeleteQueryLoggingConfig')
ORDER BY eventTime
