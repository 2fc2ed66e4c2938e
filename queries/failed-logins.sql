-- name: failed-logins
-- title: Failed console logins
-- severity: medium
-- description: x
-- references: x
-- runbook: x
SELECT eventTime FROM cloudtrail_logs WHERE eventName = 'ConsoleLogin' AND errorMessage IS NOT NULL
