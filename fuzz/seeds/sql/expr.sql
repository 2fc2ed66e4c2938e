SELECT count(*) / 0, 5 % 2, -9223372036854775807 - 2 FROM cloudtrail_logs WHERE eventName IN ('a','b') AND x LIKE 'a%' OR NOT (y IS NULL)
