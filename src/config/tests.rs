//! Resolving settings: sizes, typos, values named in errors, and the file against the flags.
use clap::Parser;

use super::*;

fn resolve(args: &[&str]) -> anyhow::Result<(Config, Task)> {
    let cli = Cli::try_parse_from(std::iter::once("trailscan").chain(args.iter().copied()))?;
    Config::new(cli, None, Utc::now())
}

fn error(args: &[&str]) -> String {
    match resolve(args) {
        Ok(_) => panic!("{args:?} resolved"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn a_typo_gets_the_nearest_name() {
    let names = || {
        ["failed-logins", "audit", "queries", "root-usage"]
            .map(String::from)
            .into_iter()
    };
    assert_eq!(
        did_you_mean("failed-login", names()).as_deref(),
        Some("failed-logins")
    );
    assert_eq!(did_you_mean("quries", names()).as_deref(), Some("queries"));
    assert_eq!(
        did_you_mean("rootusage", names()).as_deref(),
        Some("root-usage")
    );
    assert_eq!(did_you_mean("zzz", names()), None);
    assert_eq!(did_you_mean("logs", names()), None);
}

#[test]
fn sizes_read_with_binary_suffixes() {
    assert_eq!(parse_size("4G"), Some(4 << 30));
    assert_eq!(parse_size("512MiB"), Some(512 << 20));
    assert_eq!(parse_size("1000"), Some(1000));
    assert_eq!(parse_size("10k"), Some(10 << 10));
    for bad in ["", "0", "G", "-1G", "4X", "99999999999T"] {
        assert_eq!(parse_size(bad), None, "{bad}");
    }
}

#[test]
fn bad_values_are_named_in_the_error() {
    let config = tempfile::tempdir().unwrap();
    let none = config.path().join("none.toml");
    std::fs::write(&none, "").unwrap();
    let with = |args: &[&str]| {
        let mut all = vec!["--config", none.to_str().unwrap()];
        all.extend(args);
        error(&all)
    };
    assert!(
        with(&["--since", "7x", "audit", "logs"]).starts_with("invalid --since: '7x' is neither"),
        "{}",
        with(&["--since", "7x", "audit", "logs"])
    );
    assert!(with(&["--account", "123", "audit", "logs"]).contains("12-digit"));
    assert!(with(&["--since", "1d", "--until", "2d", "audit", "logs"]).contains("must be earlier"));
    assert!(
        with(&["--sns-topic", "my-topic", "audit", "logs"]).contains("is not an SNS topic ARN")
    );
    let e = with(&["audit"]);
    assert!(e.starts_with("no source given"), "{e}");
    // The commands that do not scan do not check what only a scan uses.
    let config = none.to_str().unwrap();
    assert!(resolve(&["--config", config, "--threads", "0", "queries"]).is_ok());
    assert!(resolve(&["--config", config, "--since", "junk", "show", "root-usage"]).is_ok());
}

fn file_error(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trailscan.toml");
    std::fs::write(&path, text).unwrap();
    error(&["--config", path.to_str().unwrap(), "audit", "logs"])
}

#[test]
fn file_errors_name_the_line() {
    let cases = [
        (
            "sources = [\"x\"]\nsincee = \"1d\"\n",
            ":2: unknown field `sincee`",
        ),
        ("sources = [\"x\"]\nthreads = \"two\"\n", ":2: invalid type"),
        (
            "\n\nsince = \"yesterday\"\n",
            ":3: since: 'yesterday' is neither",
        ),
        ("fail_on = \"urgent\"\n", ":1: fail_on: unknown severity"),
        ("format = \"xml\"\n", ":1: format: 'xml' is not"),
        ("lookback = \"soon\"\n", ":1: lookback:"),
        ("sns_topic = \"topic\"\n", ":1: sns_topic:"),
        (
            "queries = [\"root-usage\", \"nope\"]\n",
            ":1: queries: no query named 'nope'",
        ),
        (
            "[suppress.root-usage]\nsource_cidrs = [\"10.0.0.0/99\"]\n",
            ":1: suppress.root-usage: '10.0.0.0/99' is not a network",
        ),
    ];
    for (text, expected) in cases {
        let error = file_error(text);
        assert!(error.contains(expected), "{text:?}: {error}");
    }
}

#[test]
fn file_settings_select_queries_and_paths_are_relative_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trailscan.toml");
    std::fs::write(&path, "sources = [\"logs\"]\nstate = \"state.json\"\nqueries = [\"root-usage\", \"vpc-changes\", \"nacl-changes\"]\nexclude = [\"vpc-changes\"]\n").unwrap();
    let (config, task) = resolve(&["--config", path.to_str().unwrap()]).unwrap();
    assert_eq!(config.settings.state, Some(dir.path().join("state.json")));
    assert_eq!(config.sources, ["logs"]);
    let Task::Scan(job) = task else {
        panic!("an audit")
    };
    let names: Vec<&str> = job.queries.queries().iter().map(|q| q.name()).collect();
    assert_eq!(names, ["root-usage", "nacl-changes"]);
    // A flag given wins over the file; one not given leaves the file's value.
    let (config, _) =
        resolve(&["--config", path.to_str().unwrap(), "--state", "other.json"]).unwrap();
    assert_eq!(config.settings.state, Some(PathBuf::from("other.json")));
    assert_eq!(config.sources, ["logs"]);
}
