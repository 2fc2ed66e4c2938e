"""The canned queries, unchanged, in DuckDB over Athena's CloudTrail table: same rows as trailscan?

Run by tests/athena.rs with the interpreter of target/duckdb-venv (DuckDB from PyPI).

    duckdb_check.py compare --ddl tests/athena/cloudtrail_logs.sql --queries queries \
        --expected FILE FIXTURE...
        Loads the events of FIXTURE... into a DuckDB view `cloudtrail_logs` whose columns
        and types are those of the documented Athena DDL (--ddl), read as Athena's Hive
        JsonSerDe reads them: field names in any case, and a STRING column given an object
        or an array holds its JSON text. Macros give DuckDB the Presto functions the queries
        call. Every .sql file of --queries runs as it is written; its rows are compared,
        column by column, with trailscan's rows for that query (--expected: the JSON Lines
        of `trailscan audit FIXTURE... --format jsonl` over every query). Every difference
        is printed, naming the query, the row and the column; the exit status is 1 when
        there is one.

    duckdb_check.py ddl --ddl tests/athena/cloudtrail_logs.sql FILE
        Checks that the CREATE EXTERNAL TABLE in FILE (what `trailscan athena ddl` printed)
        declares the documented columns with their types, the SerDe and input format, and a
        partition projection whose storage.location.template uses every partition column.
"""

import argparse
import collections
import datetime
import gzip
import json
import math
import os
import re
import sys
import tempfile

# --- The DDL -------------------------------------------------------------------------------


def tokens(text):
    """Hive type tokens: names, and the punctuation of STRUCT<a: T>, ARRAY<T>, MAP<K, V>."""
    return re.findall(r"`[^`]*`|[A-Za-z_][A-Za-z0-9_]*|[<>(),:]", text)


class Types:
    def __init__(self, items):
        self.items, self.at = items, 0

    def peek(self):
        return self.items[self.at] if self.at < len(self.items) else None

    def take(self, expected=None):
        item = self.peek()
        if item is None or (expected is not None and item.upper() != expected):
            raise ValueError(f"expected {expected or 'more'} at {item!r}")
        self.at += 1
        return item

    def type(self):
        name = self.take().upper()
        if name == "STRING":
            return ("string",)
        if name == "STRUCT":
            self.take("<")
            fields = []
            while True:
                field = self.take().strip("`").lower()
                self.take(":")
                fields.append((field, self.type()))
                if self.take() == ">":
                    return ("struct", fields)
        if name == "ARRAY":
            self.take("<")
            item = self.type()
            self.take(">")
            return ("array", item)
        if name == "MAP":
            self.take("<")
            key = self.type()
            self.take(",")
            value = self.type()
            self.take(">")
            return ("map", key, value)
        raise ValueError(f"unknown type {name}")

    def columns(self):
        columns = []
        while True:
            name = self.take().strip("`").lower()
            columns.append((name, self.type()))
            if self.take() == ")":
                return columns


def without_comments(text):
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("--"))


def parse_ddl(text):
    """The columns, partition columns, SerDe, input format, location and table properties."""
    text = without_comments(text)
    head = re.search(r"CREATE\s+EXTERNAL\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[^\s(]+\s*\(", text, re.I)
    if not head:
        raise ValueError("no CREATE EXTERNAL TABLE name(")
    rest = text[head.end():]
    parser = Types(tokens(rest))
    columns = parser.columns()
    # The text after the column list: find where the parser stopped.
    depth, end = 1, 0
    for i, c in enumerate(rest):
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth == 0:
            end = i + 1
            break
    tail = rest[end:]
    partitions = []
    match = re.search(r"PARTITIONED\s+BY\s*\((.*?)\)\s*ROW", tail, re.I | re.S)
    if match:
        partitions = Types(tokens(match.group(1)) + [")"]).columns()
    quoted = lambda label: (re.search(label + r"\s+'([^']*)'", tail, re.I | re.S) or [None, None])[1]
    properties = dict(re.findall(r"'([^']+)'\s*=\s*'([^']*)'", tail))
    return {
        "columns": columns,
        "partitions": partitions,
        "serde": quoted(r"ROW\s+FORMAT\s+SERDE"),
        "input": quoted(r"STORED\s+AS\s+INPUTFORMAT"),
        "location": quoted(r"LOCATION"),
        "properties": properties,
    }


def duckdb_type(t):
    if t[0] == "string":
        return "VARCHAR"
    if t[0] == "struct":
        return "STRUCT(" + ", ".join(f'"{name}" {duckdb_type(ft)}' for name, ft in t[1]) + ")"
    if t[0] == "array":
        return duckdb_type(t[1]) + "[]"
    return f"MAP({duckdb_type(t[1])}, {duckdb_type(t[2])})"


# --- The events, as the SerDe reads them ---------------------------------------------------


def object_files(paths):
    for path in paths:
        if os.path.isfile(path):
            yield path
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                full = os.path.join(root, name)
                if name.startswith(".") or "/CloudTrail-Digest/" in full or "/CloudTrail-Insight/" in full:
                    continue
                yield full


def events_of(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(document, dict) and isinstance(document.get("Records"), list):
        return document["Records"]
    if isinstance(document, list):
        return document
    return [document]


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def read_as(value, t):
    """A JSON value as the Hive JsonSerDe gives it for a column of type `t`."""
    if value is None:
        return None
    if t[0] == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            return compact(value)
        return json.dumps(value)
    if t[0] == "struct":
        if not isinstance(value, dict):
            return None
        lowered = {key.lower(): v for key, v in value.items()}
        return {name: read_as(lowered.get(name), ft) for name, ft in t[1]}
    if t[0] == "array":
        if not isinstance(value, list):
            return None
        return [read_as(item, t[1]) for item in value]
    if not isinstance(value, dict):
        return None
    return {key: read_as(v, t[2]) for key, v in value.items()}


# --- Presto's functions in DuckDB ----------------------------------------------------------

MACROS = [
    # '$["x-amz-acl"]' (Presto) is '$."x-amz-acl"' in DuckDB.
    r"""CREATE MACRO presto_json_path(p) AS regexp_replace(p, '\[\s*"([^"]*)"\s*\]', '."\1"', 'g')""",
    # json_extract_scalar: the text of a scalar; NULL for an object, an array, JSON null,
    # a missing path, or text that is not JSON.
    """CREATE MACRO json_extract_scalar(j, p) AS CASE
         WHEN json_valid(j) AND json_type(CAST(j AS JSON), presto_json_path(p)) NOT IN ('OBJECT', 'ARRAY')
         THEN json_extract_string(CAST(j AS JSON), presto_json_path(p)) END""",
    """CREATE MACRO json_extract(j, p) AS CASE
         WHEN json_valid(j) THEN system.main.json_extract(CAST(j AS JSON), presto_json_path(p)) END""",
    "CREATE MACRO json_format(j) AS CAST(j AS VARCHAR)",
    """CREATE MACRO json_array_length(j) AS CASE
         WHEN json_valid(j) AND json_type(CAST(j AS JSON)) = 'ARRAY'
         THEN CAST(system.main.json_array_length(CAST(j AS JSON)) AS BIGINT) END""",
    "CREATE MACRO regexp_like(s, p) AS regexp_matches(s, p)",
    # Times as UTC timestamps (Athena's session zone is UTC).
    "CREATE MACRO from_iso8601_timestamp(s) AS CAST(CAST(s AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)",
    "CREATE MACRO to_unixtime(t) AS epoch(t)",
    "CREATE MACRO from_unixtime(x) AS make_timestamp(CAST(round(x * 1000000) AS BIGINT))",
]


def connect(columns, events):
    import duckdb

    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    for macro in MACROS:
        db.execute(macro)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for event in events:
            lowered = {key.lower(): v for key, v in event.items()} if isinstance(event, dict) else {}
            row = {name: read_as(lowered.get(name), t) for name, t in columns}
            f.write(compact(row) + "\n")
        rows_file = f.name
    spec = "{" + ", ".join(f"'{name}': '{duckdb_type(t)}'" for name, t in columns) + "}"
    db.execute(
        f"CREATE TABLE cloudtrail_rows AS SELECT * FROM read_json('{rows_file}', "
        f"format = 'newline_delimited', columns = {spec})"
    )
    os.unlink(rows_file)
    db.execute("CREATE VIEW cloudtrail_logs AS SELECT * FROM cloudtrail_rows")
    return db


# --- Comparing ------------------------------------------------------------------------------


def time_text(t):
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond % 1000 == 0 and t.microsecond:
        text += f".{t.microsecond // 1000:03d}"
    elif t.microsecond:
        text += f".{t.microsecond:06d}"
    return text + "Z"


def normal(value):
    """A cell as text, the same whoever computed it: numbers as numbers, times in RFC 3339,
    JSON text as its value (Athena keeps the log's key order, trailscan sorts the keys)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        return time_text(value)
    if hasattr(value, "is_finite"):  # Decimal
        return normal(float(value))
    text = str(value)
    if text[:1] in "{[":
        try:
            return "json:" + json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
        except ValueError:
            pass
    return text


def shown(value):
    return "NULL" if value is None else repr(value.removeprefix("json:"))


def load_expected(path):
    """trailscan's rows by query (their columns, and the rows), and the queries it ran, from
    the JSON Lines of an audit over every query (`--format jsonl`)."""
    columns, rows, ran = {}, collections.defaultdict(list), {}
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if record.get("type") == "row":
                name = record["query"]
                columns[name] = list(record["row"].keys())
                rows[name].append(tuple(normal(v) for v in record["row"].values()))
            elif record.get("type") == "summary":
                ran.update(record.get("rows_per_query", {}))
    return columns, rows, ran


def compare(name, columns, expected, actual):
    """Every difference between trailscan's rows and DuckDB's, as lines."""
    problems = []
    if columns and actual and len(actual[0]) != len(columns):
        return [f"{name}: DuckDB returns {len(actual[0])} columns, trailscan {len(columns)} ({', '.join(columns)})"]
    missing = collections.Counter(expected) - collections.Counter(actual)
    extra = collections.Counter(actual) - collections.Counter(expected)
    if not missing and not extra:
        return problems
    extra_rows = list(extra.elements())
    label = lambda i: columns[i] if i < len(columns) else f"column {i + 1}"
    for row in missing.elements():
        number = expected.index(row) + 1
        if extra_rows:
            closest = max(extra_rows, key=lambda other: sum(a == b for a, b in zip(row, other)))
            extra_rows.remove(closest)
            for i, (mine, theirs) in enumerate(zip(row, closest)):
                if mine != theirs:
                    problems.append(
                        f"{name}: row {number}, column {label(i)}: trailscan {shown(mine)}, DuckDB {shown(theirs)}"
                    )
        else:
            cells = ", ".join(f"{label(i)}={shown(v)}" for i, v in enumerate(row))
            problems.append(f"{name}: row {number} is trailscan's only: {cells}")
    for row in extra_rows:
        cells = ", ".join(f"{label(i)}={shown(v)}" for i, v in enumerate(row))
        problems.append(f"{name}: a row DuckDB returns and trailscan does not: {cells}")
    return problems


def run_compare(args):
    ddl = parse_ddl(open(args.ddl).read())
    events = [e for path in object_files(args.fixtures) for e in events_of(path)]
    db = connect(ddl["columns"], events)
    all_columns, rows, ran = load_expected(args.expected)
    problems, compared, queries = [], 0, 0
    for file in sorted(os.listdir(args.queries)):
        if not file.endswith(".sql"):
            continue
        name = file[:-4]
        queries += 1
        sql = open(os.path.join(args.queries, file)).read()
        try:
            result = db.execute(sql)
            actual = [tuple(normal(v) for v in row) for row in result.fetchall()]
        except Exception as e:  # DuckDB's error names the construct
            first = str(e).strip().splitlines()[0]
            problems.append(f"{name}: DuckDB refuses the query: {first}")
            continue
        if name not in ran:
            problems.append(f"{name}: trailscan did not run it (not in its summary's rows_per_query)")
            continue
        expected = rows.get(name, [])
        if len(expected) != ran[name]:
            problems.append(f"{name}: trailscan printed {len(expected)} rows and counted {ran[name]}")
        columns = all_columns.get(name, [])
        compared += len(expected)
        problems.extend(compare(name, columns, expected, actual))
    for problem in problems:
        print(problem)
    print(f"{queries} queries over {len(events)} events in DuckDB; {compared} rows of trailscan's compared; {len(problems)} differences")
    return 1 if problems else 0


def run_ddl(args):
    documented = parse_ddl(open(args.ddl).read())
    try:
        printed = parse_ddl(open(args.file).read())
    except ValueError as e:
        print(f"the DDL does not parse: {e}")
        return 1
    problems = []
    if printed["columns"] != documented["columns"]:
        mine = dict(printed["columns"])
        for name, t in documented["columns"]:
            if mine.get(name) != t:
                problems.append(f"column {name}: documented {duckdb_type(t)}, printed {duckdb_type(mine[name]) if name in mine else 'none'}")
        names = [n for n, _ in documented["columns"]]
        problems.extend(f"column {n}: not documented" for n, _ in printed["columns"] if n not in names)
        if not problems:
            problems.append("the columns are in another order than documented")
    for key in ("serde", "input"):
        if printed[key] != documented[key]:
            problems.append(f"{key}: documented {documented[key]}, printed {printed[key]}")
    properties = printed["properties"]
    if properties.get("projection.enabled") != "true":
        problems.append("projection.enabled is not 'true'")
    template = properties.get("storage.location.template", "")
    if not template.startswith("s3://"):
        problems.append(f"storage.location.template {template!r} is not an s3:// URL")
    if not (printed["location"] or "").startswith("s3://"):
        problems.append(f"LOCATION {printed['location']!r} is not an s3:// URL")
    for name, t in printed["partitions"]:
        kind = properties.get(f"projection.{name}.type")
        if "${" + name + "}" not in template:
            problems.append(f"partition {name} is not in storage.location.template")
        if kind not in ("enum", "date", "integer", "injected"):
            problems.append(f"partition {name}: projection.{name}.type is {kind!r}")
        if kind == "enum" and not properties.get(f"projection.{name}.values"):
            problems.append(f"partition {name}: no projection.{name}.values")
        if kind == "date":
            for suffix in ("format", "range", "interval", "interval.unit"):
                if f"projection.{name}.{suffix}" not in properties:
                    problems.append(f"partition {name}: no projection.{name}.{suffix}")
    for problem in problems:
        print(problem)
    print(f"{len(printed['columns'])} columns, {len(printed['partitions'])} partition columns; {len(problems)} differences from the documented DDL")
    return 1 if problems else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    c = commands.add_parser("compare")
    c.add_argument("--ddl", required=True)
    c.add_argument("--queries", required=True)
    c.add_argument("--expected", required=True)
    c.add_argument("fixtures", nargs="+")
    d = commands.add_parser("ddl")
    d.add_argument("--ddl", required=True)
    d.add_argument("file")
    args = parser.parse_args()
    sys.exit(run_compare(args) if args.command == "compare" else run_ddl(args))


if __name__ == "__main__":
    main()
