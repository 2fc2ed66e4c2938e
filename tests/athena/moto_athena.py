"""moto's server, with three things of Athena's API its mock leaves out, for tests/athena.rs.

    moto_athena.py -H 127.0.0.1 -p PORT      (moto_server's arguments)

moto (5.2.5) serves StartQueryExecution, GetQueryExecution and GetQueryResults, and refuses
a workgroup that does not exist; a query's rows are queued beforehand through
POST /moto-api/static/athena/query-results and given to the executions in the order they
start. It does not run the SQL, so every query succeeds at once, scans nothing, and its
rows come back in one response. Real Athena differs in three ways that trailscan handles,
so this server adds them, each to what moto already does:

- GetQueryResults pages: at most MaxResults rows (Athena's most is 1000) and a NextToken.
- A queued result may say how its execution ends: "state" (FAILED or CANCELLED) and
  "state_change_reason", as GetQueryExecution's Status then reports them.
- A queued result may say what the execution scanned: "data_scanned_in_bytes" and
  "engine_execution_time_in_millis", in GetQueryExecution's Statistics.
"""

import json
import sys

from moto.athena.responses import AthenaResponse
from moto.moto_api._internal.responses import MotoAPIResponse
from moto.core import DEFAULT_ACCOUNT_ID

EXTRA = ("state", "state_change_reason", "data_scanned_in_bytes", "engine_execution_time_in_millis")


def set_athena_result(self, request, full_url, headers):
    from moto.athena.models import QueryResults, athena_backends

    body = self._get_body(headers, request)
    backend = athena_backends[body.get("account_id", DEFAULT_ACCOUNT_ID)][body.get("region", "us-east-1")]
    for result in body.get("results", []):
        queued = QueryResults(rows=result["rows"], column_info=result.get("column_info", []))
        queued.extra = {key: result[key] for key in EXTRA if key in result}
        backend.query_results_queue.append(queued)
    return 201, {}, ""


original_get_query_execution = AthenaResponse.get_query_execution


def get_query_execution(self):
    answer = json.loads(original_get_query_execution(self))
    execution = answer["QueryExecution"]
    assigned = self.athena_backend.query_results.get(execution["QueryExecutionId"])
    extra = getattr(assigned, "extra", {})
    if "state" in extra:
        execution["Status"]["State"] = extra["state"]
        reason = extra.get("state_change_reason", "")
        execution["Status"]["StateChangeReason"] = reason
        if extra["state"] == "FAILED":
            execution["Status"]["AthenaError"] = {
                "ErrorCategory": 2,
                "ErrorType": 1301,
                "Retryable": False,
                "ErrorMessage": reason,
            }
    statistics = execution["Statistics"]
    statistics["DataScannedInBytes"] = extra.get("data_scanned_in_bytes", 0)
    statistics["EngineExecutionTimeInMillis"] = extra.get("engine_execution_time_in_millis", 0)
    return json.dumps(answer)


def get_query_results(self):
    exec_id = self._get_param("QueryExecutionId")
    most = min(int(self._get_param("MaxResults") or 1000), 1000)
    token = self._get_param("NextToken")
    result = self.athena_backend.get_query_results(exec_id)
    start = int(token) if token else 0
    page = {
        "ResultSet": {
            "Rows": result.rows[start : start + most],
            "ResultSetMetadata": {"ColumnInfo": result.column_info},
        }
    }
    if start + most < len(result.rows):
        page["NextToken"] = str(start + most)
    return json.dumps(page)


MotoAPIResponse.set_athena_result = set_athena_result
AthenaResponse.get_query_execution = get_query_execution
AthenaResponse.get_query_results = get_query_results

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
