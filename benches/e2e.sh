#!/usr/bin/env bash
# End-to-end benchmark: trailscan against zcat, DuckDB and jq on one generated corpus.
#
#   bash benches/e2e.sh [RECORDS]        # default 800000 records, about 1 GB of JSON
#
# Generates a deterministic corpus in the S3 key layout under target/ (never committed),
# builds trailscan in release mode, installs hyperfine and jq (Debian) and DuckDB (PyPI) when
# missing, times every tool with hyperfine on 2 threads, measures peak RSS with GNU time,
# checks that every tool returns the same number of failed-logins rows, runs trailscan again
# on a corpus four times larger (hard links) to show that memory stays flat, times the
# ratios with targets again in alternating runs, and writes BENCHMARKS.md. The audit runs once
# more with SigmaHQ's CloudTrail rules loaded (--rules, from ../shared/data beside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."

records=${1:-800000}
corpus=target/bench-corpus-$records
big=target/bench-corpus-$records-x4
sigma=../shared/data/third_party/sigma_aws_cloudtrail/rules
out=BENCHMARKS.md

need() { command -v "$1" >/dev/null || { echo "installing $1"; apt-get install -y "$1" >/dev/null; }; }
need hyperfine
need jq
[ -x /usr/bin/time ] || apt-get install -y time >/dev/null
if [ ! -x target/bench-venv/bin/python ] || ! target/bench-venv/bin/python -c 'import duckdb' 2>/dev/null; then
    python3 -m venv target/bench-venv
    target/bench-venv/bin/pip install --quiet 'duckdb==2.0.0'
fi

[ -d "$corpus" ] || python3 benches/gen_corpus.py "$corpus" --records "$records"
if [ ! -d "$big" ]; then
    mkdir -p "$big"
    for copy in 1 2 3 4; do cp -al "$corpus" "$big/copy$copy"; done
fi
cargo build --release --locked --bin trailscan --example inflate
bin=target/release/trailscan
inflate=target/release/examples/inflate

raw_bytes=$($inflate "$corpus" | sed -E 's/.* ([0-9]+) bytes.*/\1/')
files=$(find "$corpus" -name '*.json.gz' | wc -l)
jq_filter='.Records[] | select(.eventName == "ConsoleLogin" and .errorMessage != null)
  | {eventTime, account: .recipientAccountId, user_name: .userIdentity.userName,
     principal: .userIdentity.arn, sourceIPAddress, errorMessage, mfa_used: .additionalEventData.MFAUsed}'
export JQ_FILTER=$jq_filter

declare -A commands=(
    [zcat]="find $corpus -name '*.gz' -print0 | xargs -0 -P 2 -n 64 zcat > /dev/null"
    [decompress]="$inflate $corpus --threads 2 > /dev/null"
    [failed-logins]="$bin failed-logins $corpus --threads 2 --format jsonl > /dev/null"
    [audit]="$bin audit $corpus --threads 2 --format jsonl > /dev/null"
    [audit-html]="$bin audit $corpus --threads 2 --format html --output target/bench-report.html"
    # One rule of SigmaHQ's does not compile: the warning saying so goes to /dev/null.
    [audit-sigma]="$bin audit $corpus --threads 2 --format jsonl --rules $sigma > /dev/null 2>&1"
    [most-rows]="$bin athena-policy-and-role-events $corpus --threads 2 --format jsonl > /dev/null"
    # The corpus gives every event a fresh key: a user's trace follows thousands of them.
    [trace]="$bin trace arn:aws:iam::111122223333:user/user07 $corpus --threads 2 --format jsonl > /dev/null"
    [summary]="$bin summary $corpus --threads 2 --format jsonl > /dev/null"
    [duckdb]="target/bench-venv/bin/python benches/duckdb_failed_logins.py $corpus > /dev/null"
    [jq]="find $corpus -name '*.gz' -print0 | xargs -0 -P 2 -n 64 sh -c 'zcat \"\$@\" | jq -c \"\$JQ_FILTER\"' _ > /dev/null"
)
order=(zcat decompress failed-logins most-rows audit audit-html duckdb jq audit-sigma trace summary)
labels=(
    [0]="zcat, 2 processes (decompression only)"
    [1]="trailscan's inflate path only (benches/inflate.rs)"
    [2]="trailscan failed-logins"
    [3]="trailscan athena-policy-and-role-events (the query with the most rows)"
    [4]="trailscan audit (all queries, one pass)"
    [5]="trailscan audit --format html (the page's counts in the same pass)"
    [6]="DuckDB read_json_auto + unnest(Records)"
    [7]="jq, 2 processes"
    [8]="trailscan audit --rules (and the SigmaHQ CloudTrail rules that compile, same pass)"
    [9]="trailscan trace of one user (two passes)"
    [10]="trailscan summary (one row per principal)"
)

# Same answer from everyone, or the timings mean nothing.
# trailscan exits 1 when it finds something: that is its answer, not a failure here.
rows_trailscan=$({ $bin failed-logins "$corpus" --format jsonl || true; } | grep -c '"type":"row"')
rows_audit=$({ $bin audit "$corpus" --format jsonl || true; } | tail -1 \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows_per_query"]["failed-logins"])')
rows_duckdb=$(target/bench-venv/bin/python benches/duckdb_failed_logins.py "$corpus")
rows_jq=$(find "$corpus" -name '*.gz' -print0 | xargs -0 -P 2 -n 64 sh -c 'zcat "$@" | jq -c "$JQ_FILTER"' _ | wc -l)
echo "failed-logins rows: trailscan $rows_trailscan, audit $rows_audit, DuckDB $rows_duckdb, jq $rows_jq"
if [ "$rows_trailscan" != "$rows_duckdb" ] || [ "$rows_trailscan" != "$rows_jq" ] || [ "$rows_trailscan" != "$rows_audit" ]; then
    echo "row counts differ: the benchmark is void" >&2
    exit 1
fi

hyperfine_args=(--warmup 1 --runs 5 --ignore-failure --export-json target/bench-hyperfine.json)
names=()
for name in "${order[@]}"; do names+=(--command-name "$name" "${commands[$name]}"); done
hyperfine "${hyperfine_args[@]}" "${names[@]}"

# GNU time exits with the command's status; trailscan's 1 (findings) is not an error here.
rss() { { /usr/bin/time -f '%M' sh -c "$1" 2>&1 >/dev/null || true; } | tail -1; }
declare -A peak
for name in "${order[@]}"; do peak[$name]=$(rss "${commands[$name]}"); done
peak_big_failed=$(rss "$bin failed-logins $big --threads 2 --format jsonl > /dev/null")
peak_big_audit=$(rss "$bin audit $big --threads 2 --format jsonl > /dev/null")

# hyperfine times one command after the other, and this machine's load drifts in between:
# the ratios with targets are also taken from runs that alternate, command by command.
python3 - "$bin" "$corpus" "$inflate" "$sigma" > target/bench-alternating.json <<'PY'
import json, statistics, subprocess, sys, time
bin, corpus, inflate, sigma = sys.argv[1:]
commands = {
    "decompress": [inflate, corpus, "--threads", "2"],
    "failed-logins": [bin, "failed-logins", corpus, "--threads", "2", "--format", "jsonl"],
    "audit": [bin, "audit", corpus, "--threads", "2", "--format", "jsonl"],
    "audit-html": [bin, "audit", corpus, "--threads", "2", "--format", "html", "--output", "target/bench-report.html"],
    "audit-sigma": [bin, "audit", corpus, "--threads", "2", "--format", "jsonl", "--rules", sigma],
}
times = {name: [] for name in commands}
for _ in range(11):
    for name, argv in commands.items():
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[name].append(time.perf_counter() - start)
print(json.dumps({name: statistics.median(runs) for name, runs in times.items()}))
PY

python3 - "$out" "$raw_bytes" "$records" "$files" "$rows_trailscan" \
    "${peak[zcat]}" "${peak[decompress]}" "${peak[failed-logins]}" "${peak[most-rows]}" "${peak[audit]}" "${peak[audit-html]}" "${peak[duckdb]}" "${peak[jq]}" "${peak[audit-sigma]}" \
    "${peak[trace]}" "${peak[summary]}" \
    "$peak_big_failed" "$peak_big_audit" "${labels[@]}" <<'PY'
import json, os, platform, subprocess, sys
(out, raw, records, files, rows, *rest) = sys.argv[1:]
names = ["zcat", "decompress", "failed-logins", "most-rows", "audit", "audit-html", "duckdb", "jq", "audit-sigma",
         "trace", "summary"]
peaks = dict(zip(names, map(int, rest[:11])))
big_failed, big_audit = int(rest[11]), int(rest[12])
labels = rest[13:]
report_bytes = os.path.getsize("target/bench-report.html")
raw, records = int(raw), int(records)
results = {r["command"]: r for r in json.load(open("target/bench-hyperfine.json"))["results"]}
median = {name: results[name]["median"] for name in results}
alternating = json.load(open("target/bench-alternating.json"))
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
lines = [
    "# Benchmarks",
    "",
    f"Written by `bash benches/e2e.sh {records}`. Corpus: {int(files):,} gzipped CloudTrail files in the S3 key layout, "
    f"{records:,} records, {raw / 1e6:,.0f} MB of JSON (`benches/gen_corpus.py`, deterministic). "
    f"Machine: {cpu}, 2 threads for every tool, files in the page cache. "
    f"Wall time is hyperfine's median of 5 runs after a warm-up; peak RSS from GNU time, one run.",
    "",
    "| tool | wall (median) | MB/s of JSON | records/s | peak RSS |",
    "|---|---|---|---|---|",
]
for name, label in zip(names, labels):
    t = median[name]
    lines.append(f"| {label} | {t:.2f} s | {raw / 1e6 / t:,.0f} | {records / t:,.0f} | {peaks[name] / 1024:,.0f} MB |")
lines += [
    "",
    f"Every tool returned the same {int(rows):,} failed-logins rows (checked before timing).",
    "",
    "| ratio | value | target |",
    "|---|---|---|",
    f"| DuckDB / trailscan failed-logins | {median['duckdb'] / median['failed-logins']:.1f}x | at least 6x |",
    f"| jq / trailscan failed-logins | {median['jq'] / median['failed-logins']:.1f}x | |",
    f"| trailscan failed-logins / trailscan decompress | {median['failed-logins'] / median['decompress']:.2f}x | at most 1.5x |",
    f"| trailscan failed-logins / zcat | {median['failed-logins'] / median['zcat']:.2f}x | |",
    f"| trailscan audit / failed-logins | {median['audit'] / median['failed-logins']:.2f}x | at most 1.2x |",
    f"| trailscan audit / athena-policy-and-role-events | {median['audit'] / median['most-rows']:.2f}x | |",
    f"| trailscan audit, --format html / --format jsonl | {median['audit-html'] / median['audit']:.2f}x | little more |",
    f"| trailscan audit, --format html / --format jsonl, alternating runs | {alternating['audit-html'] / alternating['audit']:.2f}x | little more |",
    f"| the audit's HTML page (tables capped at 50 rows a query) | {report_bytes / 1e6:.2f} MB | a few MB |",
    f"| trailscan failed-logins / trailscan decompress, alternating runs (median of 11 each) | {alternating['failed-logins'] / alternating['decompress']:.2f}x | at most 1.5x |",
    f"| trailscan audit / failed-logins, alternating runs | {alternating['audit'] / alternating['failed-logins']:.2f}x | at most 1.2x |",
    f"| peak RSS, failed-logins: corpus / 4x corpus | {peaks['failed-logins'] / 1024:.0f} MB / {big_failed / 1024:.0f} MB | at most 150 MB, flat |",
    f"| peak RSS, audit: corpus / 4x corpus | {peaks['audit'] / 1024:.0f} MB / {big_audit / 1024:.0f} MB | at most 150 MB, flat |",
    f"| trailscan audit --rules SigmaHQ / failed-logins | {median['audit-sigma'] / median['failed-logins']:.2f}x | at most 2x |",
    f"| trailscan audit --rules SigmaHQ / failed-logins, alternating runs | {alternating['audit-sigma'] / alternating['failed-logins']:.2f}x | at most 2x |",
    f"| trailscan audit --rules SigmaHQ / audit without rules, alternating runs | {alternating['audit-sigma'] / alternating['audit']:.2f}x | |",
    f"| trailscan audit --rules SigmaHQ, events/s (as Suzaku reports it) | {records / median['audit-sigma']:,.0f} | |",
    f"| peak RSS, audit --rules SigmaHQ | {peaks['audit-sigma'] / 1024:.0f} MB | at most 150 MB |",
    f"| trailscan trace (one user) / audit | {median['trace'] / median['audit']:.2f}x | at most 2x |",
    f"| trailscan summary / audit | {median['summary'] / median['audit']:.2f}x | at most 2x |",
    f"| peak RSS, trace / summary | {peaks['trace'] / 1024:.0f} MB / {peaks['summary'] / 1024:.0f} MB | at most 150 MB |",
    "",
]
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
PY
