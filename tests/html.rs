//! `--format html`: the page of the fixtures' audit, rendered by a real headless Chromium,
//! log fields that arrive inert, and the same bytes whatever the thread count.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::util::browser::{self, Rendered};
use crate::util::{TRAIL, code, repo, rows_per_query, stderr, stdout, trailscan, write};

/// Where the screenshots go: under target/, never committed.
fn screenshots() -> PathBuf {
    let dir = repo().join("target/html-report");
    std::fs::create_dir_all(&dir).expect("target/ is writable");
    dir
}

/// Runs `args` with `--format html --output FILE` in a fresh folder; the page, and the run's exit code.
fn page(args: &[&str], dir: &Path) -> (String, i32) {
    let file = dir.join("report.html");
    let mut all = args.to_vec();
    let file_arg = file.to_str().expect("a UTF-8 path");
    all.extend(["--format", "html", "--output", file_arg]);
    let output = trailscan(&all);
    assert!(
        stdout(&output).is_empty(),
        "with --output nothing goes to stdout: {}",
        stdout(&output)
    );
    let html = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", file.display(), stderr(&output)));
    (html, code(&output))
}

/// The page with its one varying part, the elapsed time, masked.
fn without_elapsed(html: &str) -> String {
    let start = "<dd class=\"elapsed\">";
    let Some(at) = html.find(start) else {
        panic!("the page has no elapsed time")
    };
    let end = at + html[at..].find("</dd>").expect("the elapsed time ends");
    format!("{}{start}<elapsed>{}", &html[..at], &html[end..])
}

/// Every tag of the page, as written (text is escaped: each `<` in the file starts a tag).
fn tags(html: &str) -> Vec<&str> {
    html.match_indices('<')
        .map(|(at, _)| {
            let end = html[at..].find('>').map_or(html.len(), |e| at + e + 1);
            &html[at..end]
        })
        .collect()
}

/// The element names the page may use: no script, image, frame, link, form or object.
const ELEMENTS: &[&str] = &[
    "!DOCTYPE",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "h1",
    "h2",
    "h3",
    "p",
    "nav",
    "a",
    "main",
    "section",
    "dl",
    "dt",
    "dd",
    "span",
    "code",
    "strong",
    "br",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "div",
    "figure",
    "figcaption",
    "article",
    "footer",
    "svg",
    "rect",
    "line",
    "polyline",
    "polygon",
    "path",
    "circle",
    "text",
];

/// What the page must never hold in a tag: a script's way in, or a request's.
fn assert_inert(html: &str) {
    let mut names = BTreeSet::new();
    for tag in tags(html) {
        let name: String = (tag.trim_start_matches("</").trim_start_matches('<').chars())
            .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
            .collect();
        assert!(
            ELEMENTS.contains(&name.as_str()),
            "an element the page never writes: {tag}"
        );
        names.insert(name);
        let lower = tag.to_ascii_lowercase();
        for forbidden in [
            "http:",
            "https:",
            "javascript:",
            "data:",
            "//",
            " src=",
            " href=\"http",
        ] {
            assert!(!lower.contains(forbidden), "{forbidden:?} in a tag: {tag}");
        }
        // No event handler attribute (` onerror=`, ` onload=`).
        for (at, _) in lower.match_indices(" on") {
            let rest = &lower[at + 3..];
            let name_end = rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            assert!(
                !rest[name_end..].starts_with('='),
                "an event handler in a tag: {tag}"
            );
        }
    }
    assert!(names.contains("svg"), "the charts are inline SVG");
    assert!(
        html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"),
        "the policy forbids every request"
    );
}

/// What a browser made of a page that must be quiet: no console message, no request.
fn assert_quiet(rendered: &Rendered, what: &str) {
    assert!(
        rendered.console.is_empty(),
        "{what}: console messages:\n{}",
        rendered.console.join("\n")
    );
    assert!(
        rendered.requests.is_empty(),
        "{what}: requests attempted:\n{}",
        rendered.requests.join("\n")
    );
}

#[test]
fn the_audit_page_shows_every_section_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let (html, exit) = page(&["audit", TRAIL], dir.path());
    assert_eq!(exit, 1, "findings, as in every format");
    assert!(html.len() < 1 << 20, "{} bytes", html.len());
    assert_inert(&html);

    let rendered = browser::dump_dom(&dir.path().join("report.html"));
    assert_quiet(&rendered, "the fixtures' audit");
    let dom = &rendered.dom;
    for (id, heading) in [
        ("run", "The run"),
        ("findings", "Findings by severity"),
        ("activity", "Over time, per hour (UTC)"),
        ("top", "Top 10"),
        ("details", "Queries with findings"),
    ] {
        assert!(
            dom.contains(&format!("<section id=\"{id}\">\n<h2>{heading}</h2>")),
            "section {id} ({heading})"
        );
    }
    // The run.
    for fact in [
        "<code>fixtures/trail</code>",
        "<code>111122223333</code>, <code>444455556666</code>",
        "<code>eu-west-1</code>, <code>us-east-1</code>",
        "7 objects read",
        "95 decoded, 95 evaluated",
        "0 errors",
        "events from 2026-11-19 23:57:12 UTC to 2026-11-21 00:05:00 UTC",
    ] {
        assert!(dom.contains(fact), "the run: {fact}");
    }
    // Findings: every query with rows links to its section, with its count, as JSON Lines says.
    let counts = rows_per_query(&stdout(&trailscan(&["audit", TRAIL, "--format", "jsonl"])));
    let with_rows: Vec<(&String, &u64)> = counts.iter().filter(|(_, n)| **n > 0).collect();
    assert!(with_rows.len() > 20, "{with_rows:?}");
    for (name, rows) in &with_rows {
        let link = format!("-{name}\">");
        assert!(dom.contains(&link), "a link to {name}");
        assert!(
            dom.contains(&format!(
                "<code>{name}</code></td><td class=\"n\">{rows}</td>"
            )),
            "{name}: {rows} rows"
        );
        assert!(
            dom.contains(&format!("<code>{name}</code> · {rows} row")),
            "the section of {name}"
        );
    }
    let total: u64 = with_rows.iter().map(|(_, n)| **n).sum();
    let tiles: u64 = (dom.match_indices("<span class=\"count\">"))
        .map(|(at, tag)| {
            let rest = &dom[at + tag.len()..];
            rest[..rest.find('<').unwrap()]
                .replace(',', "")
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(tiles, total, "the severity tiles add up to every row");
    // The charts over time, each an SVG with its columns, and the alarm drawn where a query has one.
    for key in [
        "events",
        "errors",
        "failed-sign-ins",
        "unauthorized",
        "root",
        "warnings",
    ] {
        let at = dom
            .find(&format!("<figure class=\"chart\" id=\"chart-{key}\">"))
            .unwrap_or_else(|| panic!("the chart of {key}"));
        let figure = &dom[at..at + dom[at..].find("</figure>").unwrap()];
        assert!(figure.contains("<svg role=\"img\""), "{key} is drawn");
        if key != "warnings" {
            assert!(figure.contains("fill=\"#2F5F98\""), "{key} has columns");
        }
    }
    let failed = &dom[dom.find("id=\"chart-failed-sign-ins\"").unwrap()..];
    let failed = &failed[..failed.find("</figure>").unwrap()];
    assert!(failed.contains("stroke=\"#B02A1E\""), "the threshold line");
    assert!(failed.contains("<polygon"), "the alarm's mark");
    assert!(failed.contains("the threshold of <code>brute-force-logins</code>"));
    // The top lists.
    for key in ["principals", "addresses", "event-names", "regions"] {
        assert!(dom.contains(&format!("id=\"top-{key}\"")), "top {key}");
    }
    assert!(dom.contains("arn:aws:iam::111122223333:user/bob</span>"));
    // A query's section: severity, ATT&CK, description, runbook, rows.
    let at = dom.find("<code>brute-force-logins</code> · ").unwrap();
    let section = &dom[at..at + dom[at..].find("</article>").unwrap()];
    for part in [
        "Credential Access (TA0006)",
        "T1110.001 Brute Force: Password Guessing",
        "class=\"description\"",
        "<strong>Runbook</strong> Block the address",
        "<th>window_start</th>",
        "203.0.113.10",
    ] {
        assert!(section.contains(part), "brute-force-logins: {part}");
    }

    let png = screenshots().join("fixtures-audit.png");
    let _ = std::fs::remove_file(&png);
    let shot = browser::screenshot(&dir.path().join("report.html"), &png, 1280, 3000);
    assert_quiet(&shot, "the screenshot");
    let bytes = std::fs::read(&png).expect("the screenshot is written");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 50_000,
        "{} bytes",
        bytes.len()
    );
}

#[test]
fn the_browser_harness_sees_requests_and_console_messages() {
    // Without this, "no request, no console message" could be a harness that sees nothing.
    let dir = tempfile::tempdir().unwrap();
    let page = write(
        dir.path(),
        "noisy.html",
        b"<!DOCTYPE html><html><body><img src=\"http://example.invalid/pixel.png\"><script>console.error('noisy')</script></body></html>",
    );
    let rendered = browser::dump_dom(&page);
    assert!(
        rendered.console.iter().any(|line| line.contains("noisy")),
        "{:?}",
        rendered.console
    );
    assert!(
        (rendered.requests.iter()).any(|r| r.contains("example.invalid")),
        "{:?}",
        rendered.requests
    );
}

const SCRIPT: &str = "<script>console.error('pwned-script')</script>";
const ATTRIBUTE: &str = "\"><img src=x onerror=console.error('pwned-img')>";
const URL: &str = "javascript:console.error('pwned-url')";
const REMOTE: &str = "<img src=\"http://attacker.invalid/pixel.png\">";
const ESCAPE: &str = "\u{1b}[31mred\u{1b}[0m\u{202e}";

fn hostile_events() -> Vec<Value> {
    let principal = format!("arn:aws:iam::111122223333:user/{SCRIPT}{ATTRIBUTE}");
    let user_agent = format!(
        "{SCRIPT} {ATTRIBUTE} {URL} {REMOTE} {ESCAPE}</style><svg onload=console.error('pwned-svg')>"
    );
    let event = |id: &str, minute: u32, error: &str, kind: &str| {
        json!({
            "eventVersion": "1.09", "eventID": id,
            "eventTime": format!("2026-11-20T10:{minute:02}:00Z"),
            "eventName": "ConsoleLogin", "eventSource": "signin.amazonaws.com",
            "eventType": "AwsConsoleSignIn", "awsRegion": "us-east-1",
            "recipientAccountId": "111122223333",
            "sourceIPAddress": format!("198.51.100.9{ATTRIBUTE}"),
            "userAgent": user_agent,
            "errorMessage": error,
            "userIdentity": {"type": kind, "arn": principal, "userName": format!("{URL}{SCRIPT}"),
                             "accountId": "111122223333"},
            "responseElements": {"ConsoleLogin": "Failure"},
            "additionalEventData": {"MFAUsed": "No"},
        })
    };
    let mut events: Vec<Value> = (0..6)
        .map(|i| {
            event(
                &format!("e{i}"),
                i,
                &format!("{SCRIPT}{ATTRIBUTE}{ESCAPE}{URL}"),
                "IAMUser",
            )
        })
        .collect();
    events.push(event("auth", 7, "Failed authentication", "IAMUser"));
    let mut root = event("root", 8, "", "Root");
    root["responseElements"] = json!({"ConsoleLogin": "Success"});
    root.as_object_mut().unwrap().remove("errorMessage");
    events.push(root);
    let mut odd = event("odd", 9, REMOTE, "IAMUser");
    odd["eventName"] = json!(format!("Get{SCRIPT}"));
    events.push(odd);
    events
}

#[test]
fn log_fields_arrive_inert() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write(
        &logs,
        "hostile.json",
        json!({ "Records": hostile_events() })
            .to_string()
            .as_bytes(),
    );
    let (html, _) = page(&["audit", logs.to_str().unwrap()], dir.path());
    assert_inert(&html);
    assert!(!html.contains('\u{1b}') && !html.contains('\u{202e}'));
    // Shown, as text.
    for shown in [
        "&lt;script&gt;console.error(&#39;pwned-script&#39;)&lt;/script&gt;",
        "&quot;&gt;&lt;img src=x onerror=console.error(&#39;pwned-img&#39;)&gt;",
        "javascript:console.error(&#39;pwned-url&#39;)",
        "\\x1b[31mred\\x1b[0m\\u{202e}",
    ] {
        assert!(html.contains(shown), "{shown}");
    }
    // In the principal, the error message and the user agent, each in a query's rows.
    for (query, column) in [
        ("failed-logins", "errorMessage"),
        ("failed-logins", "principal"),
        ("console-auth-failures", "userAgent"),
        ("root-console-login", "userAgent"),
    ] {
        let at = html
            .find(&format!("<code>{query}</code> · "))
            .unwrap_or_else(|| panic!("{query} found the hostile events"));
        let section = &html[at..at + html[at..].find("</article>").unwrap()];
        assert!(section.contains(&format!("<th>{column}</th>")), "{query}");
        assert!(section.contains("&lt;script&gt;"), "{query}: {column}");
    }

    let rendered = browser::dump_dom(&dir.path().join("report.html"));
    assert_quiet(&rendered, "hostile fields");
    for element in ["<script", "<img", "<svg onload", "<iframe"] {
        assert!(!rendered.dom.contains(element), "{element} in the DOM");
    }
    assert!(
        rendered
            .dom
            .contains("&lt;script&gt;console.error('pwned-script')&lt;/script&gt;"),
        "the payload is text in the DOM"
    );
    let png = screenshots().join("hostile.png");
    let shot = browser::screenshot(&dir.path().join("report.html"), &png, 1280, 2000);
    assert_quiet(&shot, "hostile fields, drawn");

    // Typed SQL's rows are shown the same way.
    let output = trailscan(&[
        "query",
        "SELECT userAgent, errorMessage, userIdentity.arn AS principal FROM cloudtrail_logs",
        logs.to_str().unwrap(),
        "--format",
        "html",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let html = stdout(&output);
    assert_inert(&html);
    assert!(html.contains("<th>userAgent</th>") && html.contains("&lt;svg onload="));
}

#[test]
fn the_page_is_the_same_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    let one = tempfile::tempdir_in(dir.path()).unwrap();
    let two = tempfile::tempdir_in(dir.path()).unwrap();
    let (first, _) = page(&["audit", TRAIL, "--threads", "1"], one.path());
    let (second, _) = page(&["audit", TRAIL, "--threads", "2"], two.path());
    assert_eq!(without_elapsed(&first), without_elapsed(&second));
    // And on stdout, the same page.
    let output = trailscan(&["audit", TRAIL, "--format", "html", "--threads", "2"]);
    assert_eq!(without_elapsed(&stdout(&output)), without_elapsed(&first));
}

#[test]
fn rows_past_html_rows_are_counted_not_shown() {
    let output = trailscan(&[
        "failed-logins",
        TRAIL,
        "--format",
        "html",
        "--html-rows",
        "3",
    ]);
    let html = stdout(&output);
    assert_eq!(code(&output), 1);
    let at = html.find("<table class=\"rows\">").unwrap();
    let table = &html[at..at + html[at..].find("</table>").unwrap()];
    assert_eq!(
        table.matches("<tr>").count(),
        1 + 3,
        "the header and three rows"
    );
    assert!(html.contains("and 13 more rows"), "16 rows in all");
    // A single query's page lists its result even when empty, and says so.
    let output = trailscan(&[
        "root-usage",
        TRAIL,
        "--format",
        "html",
        "--since",
        "2027-01-01",
    ]);
    let html = stdout(&output);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(html.contains("No rows.") && html.contains("No findings"));
    assert!(html.contains("No event read; window from 2027-01-01 00:00:00 UTC on"));
}

#[test]
fn analyses_draw_their_findings() {
    let dir = tempfile::tempdir().unwrap();
    let (html, _) = page(&["insights", "fixtures/behaviour"], dir.path());
    assert_inert(&html);
    let at = html
        .find("<figure class=\"analysis baseline\">")
        .expect("the baseline chart");
    let figure = &html[at..at + html[at..].find("</figure>").unwrap()];
    assert!(figure.contains("<svg role=\"img\""));
    assert!(
        figure.contains("CreateTags write calls 11-20 12:00"),
        "{figure}"
    );
    let rendered = browser::dump_dom(&dir.path().join("report.html"));
    assert_quiet(&rendered, "insights");
    assert!(rendered.dom.contains("<h2>Findings</h2>"));
    let png = screenshots().join("insights.png");
    let shot = browser::screenshot(&dir.path().join("report.html"), &png, 1280, 3000);
    assert_quiet(&shot, "insights, drawn");

    let output = trailscan(&["suspicious-ips", "fixtures/behaviour", "--format", "html"]);
    let html = stdout(&output);
    let at = html
        .find("<figure class=\"analysis flagged\">")
        .expect("the addresses");
    let figure = &html[at..at + html[at..].find("</figure>").unwrap()];
    assert!(
        figure.contains("198.51.100.20<span class=\"note\">denied calls</span>"),
        "{figure}"
    );

    let output = trailscan(&["secrets-access", "fixtures/behaviour", "--format", "html"]);
    let html = stdout(&output);
    assert!(html.contains("<figure class=\"analysis flagged\">"));
    assert!(html.contains("prod/db-password"));
}

#[test]
fn a_report_file_that_cannot_be_written_is_an_error_before_the_scan() {
    let output = trailscan(&[
        "audit",
        TRAIL,
        "--format",
        "html",
        "--output",
        "/nonexistent/trailscan/report.html",
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("--output /nonexistent/trailscan/report.html: there is no folder"),
        "{}",
        stderr(&output)
    );
    let dir = tempfile::tempdir().unwrap();
    let output = trailscan(&["audit", TRAIL, "--output", dir.path().to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("is a folder"),
        "{}",
        stderr(&output)
    );
    // Any format goes to the file; the table is the default.
    let file = dir.path().join("audit.txt");
    let output = trailscan(&["audit", TRAIL, "--output", file.to_str().unwrap()]);
    assert_eq!(code(&output), 1);
    assert!(stdout(&output).is_empty());
    let table = std::fs::read_to_string(&file).unwrap();
    assert!(table.contains("Audit: "), "{table}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["audit.txt"], "no temporary file is left");
}
