//! Query files and SQL: listing, showing, linting, user folders, ad-hoc SQL, the README's catalogue.

use crate::util::{TRAIL, code, repo, stderr, stdout, trailscan, write};

#[test]
fn ad_hoc_query_returns_rows_and_exits_zero() {
    let sql = "SELECT errorCode, count(*) AS n FROM cloudtrail_logs WHERE errorCode IS NOT NULL \
               GROUP BY errorCode ORDER BY n DESC, errorCode LIMIT 3";
    let output = trailscan(&["query", sql, TRAIL, "--format", "csv"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "query,severity,errorCode,n",
            "query,info,AccessDenied,13",
            "query,info,AccessDeniedException,1",
            "query,info,Client.RequestLimitExceeded,1"
        ]
    );

    let output = trailscan(&[
        "query",
        "SELECT eventName FROM cloudtrail_logs WHERE CAST(x AS int) = 1",
        TRAIL,
    ]);
    assert_eq!(code(&output), 2);
    assert_eq!(
        stderr(&output),
        "trailscan: in the SQL, line 1, column 50: CAST is not supported (in `CAST(x AS INT)`)\n"
    );
}

#[test]
fn queries_list_show_and_lint() {
    let output = trailscan(&["queries"]);
    assert_eq!(code(&output), 0);
    for name in catalogue_names() {
        assert!(
            stdout(&output).contains(&name),
            "{name} missing from `trailscan queries`"
        );
    }
    let output = trailscan(&["show", "root-usage"]);
    assert_eq!(code(&output), 0);
    let text = stdout(&output);
    assert!(
        text.starts_with("Root user activity (root-usage)\nseverity     critical\n"),
        "{text}"
    );
    assert!(
        text.contains("runbook      Root should be unused"),
        "{text}"
    );
    assert!(text.contains("WHERE userIdentity.type = 'Root'"), "{text}");
    assert_eq!(code(&trailscan(&["show", "nope"])), 2);

    let output = trailscan(&["queries", "lint"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));

    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "good.sql",
        b"-- name: good\n-- title: Good\n-- severity: low\nSELECT eventName FROM cloudtrail_logs\n",
    );
    write(dir.path(), "bad.sql", b"-- name: bad\n-- severity: urgent\nSELECT eventName\nFROM cloudtrail_logs\nWHERE eventName ILIKE 'x'\n");
    let output = trailscan(&["queries", "lint", dir.path().to_str().unwrap()]);
    assert_eq!(code(&output), 1);
    let text = stdout(&output);
    let bad = dir.path().join("bad.sql").display().to_string();
    assert!(
        text.contains(&format!("{bad}:1: the header needs a '-- title: …' line")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{bad}:2: unknown severity 'urgent'")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{bad}:5:7: ILIKE is not supported")),
        "{text}"
    );
    assert!(text.ends_with("2 files checked, 3 problems\n"), "{text}");
}

#[test]
fn user_queries_add_to_and_replace_builtins() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "root-usage.sql", b"-- name: root-usage\n-- title: Root, narrowed\n-- severity: low\nSELECT eventName FROM cloudtrail_logs WHERE userIdentity.type = 'Root' AND eventName = 'ConsoleLogin'\n");
    write(dir.path(), "stop-logging.sql", b"-- name: stop-logging\n-- title: StopLogging only\n-- severity: critical\nSELECT eventTime FROM cloudtrail_logs WHERE eventName = 'StopLogging'\n");
    let queries = dir.path().to_str().unwrap();
    let output = trailscan(&["root-usage", TRAIL, "--queries", queries]);
    assert!(
        stdout(&output).starts_with("Root, narrowed (root-usage) · LOW · 1 row"),
        "{}",
        stdout(&output)
    );
    let output = trailscan(&[
        "--queries",
        queries,
        "stop-logging",
        TRAIL,
        "--format",
        "csv",
    ]);
    assert_eq!(
        stdout(&output),
        "query,severity,eventTime\nstop-logging,critical,2026-11-20T12:05:00Z\n"
    );

    write(dir.path(), "broken.sql", b"-- name: broken\nSELECT\n");
    let output = trailscan(&["audit", TRAIL, "--queries", queries]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("broken.sql:1: the header needs a '-- title: …' line"),
        "{}",
        stderr(&output)
    );
}

/// Names in the README's catalogue table, between its heading and the next heading.
fn readme_catalogue() -> Vec<String> {
    readme_section("## Query catalogue")
}

/// The names in the first column of the table under `heading`.
fn readme_section(heading: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("README has a '{heading}' section"));
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_owned)
        .collect()
}

fn catalogue_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("queries"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn readme_catalogue_matches_the_queries_folder() {
    let mut documented = readme_catalogue();
    documented.sort();
    assert_eq!(documented, catalogue_names());
    let analyses = readme_section("## Built-in analyses");
    assert_eq!(analyses, ["suspicious-ips", "insights", "secrets-access"]);
    for name in &analyses {
        let output = trailscan(&[name, "--help"]);
        assert_eq!(code(&output), 0, "{name}");
    }
}
