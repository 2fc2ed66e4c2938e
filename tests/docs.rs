//! Every command line that the README and `--help` show runs, against the fixtures and moto,
//! so the documentation cannot drift from the program.
//!
//! An example runs as written but for its placeholders: `./AWSLogs` is the fixtures' bucket,
//! an `s3://` bucket is moto's copy of it, a topic ARN is a moto topic, a `nacl:` or `wafv2:`
//! blocking target is a network ACL or IP set made in moto, `--profile` is
//! dropped (the tests have no AWS profiles), and `> FILE` is not redirected. Synopsis lines
//! (`[OPTIONS]`, `<QUERY>`, `a | b`, `ARN`) are not examples and are left out.

use std::path::Path;

use crate::util::moto::{Bucket, create_topic, endpoint, trailscan_s3};
use crate::util::targets::{create_acl, create_ip_set};
use crate::util::{code, repo, stderr, trailscan};

/// One example: where it was found and the words to run.
struct Example {
    origin: String,
    text: String,
    words: Vec<String>,
    expected: Option<i32>,
}

/// Splits a command line as a POSIX shell would for plain words and quotes.
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quote, mut started) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            (None, c) => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

fn is_synopsis(line: &str) -> bool {
    line.contains(['[', '<', '|']) || shell_words(line).iter().any(|w| w == "ARN")
}

/// The command of a line (before a `# comment` or, in `--help`, a two-space description),
/// and the exit status the comment promises, if it says one.
fn split_comment(line: &str, description_after_spaces: bool) -> (String, Option<i32>) {
    let mut quote = None;
    let chars: Vec<char> = line.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => {
                let comment: String = chars[i..].iter().collect();
                let expected = ["exit 2", "exits 2"]
                    .iter()
                    .any(|s| comment.contains(s))
                    .then_some(2);
                return (
                    chars[..i].iter().collect::<String>().trim().to_owned(),
                    expected,
                );
            }
            (None, ' ') if description_after_spaces && chars.get(i + 1) == Some(&' ') => {
                let rest: String = chars[i..].iter().collect();
                let (_, expected) = split_comment(rest.trim(), false);
                return (
                    chars[..i].iter().collect::<String>().trim().to_owned(),
                    expected,
                );
            }
            _ => {}
        }
    }
    (line.trim().to_owned(), None)
}

/// Lines of `text` that start a `trailscan` command, joined with their continuation lines
/// while a quote is open.
fn commands(text: &str, origin: &str, description_after_spaces: bool, out: &mut Vec<Example>) {
    let mut lines = text.lines().enumerate().peekable();
    while let Some((number, line)) = lines.next() {
        let trimmed = line.trim_start().trim_start_matches("$ ");
        if !trimmed.starts_with("trailscan ") {
            continue;
        }
        let mut full = trimmed.to_owned();
        while full.matches('"').count() % 2 == 1 {
            match lines.next() {
                Some((_, more)) => {
                    full.push(' ');
                    full.push_str(more.trim());
                }
                None => break,
            }
        }
        let (command, expected) = split_comment(&full, description_after_spaces);
        if is_synopsis(&command) {
            continue;
        }
        let mut words = shell_words(&command);
        if let Some(at) = words.iter().position(|w| w == ">") {
            words.truncate(at);
        }
        words.remove(0);
        out.push(Example {
            origin: format!("{origin}:{}", number + 1),
            text: command,
            words,
            expected,
        });
    }
}

fn readme_examples() -> Vec<Example> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut examples = Vec::new();
    let mut fenced = String::new();
    let (mut inside, mut shell) = (false, false);
    for line in readme.lines() {
        if let Some(language) = line.strip_prefix("```") {
            if inside {
                inside = false;
                fenced.push('\n');
            } else {
                inside = true;
                shell = matches!(language.trim(), "" | "sh" | "console" | "shell");
                fenced.push('\n');
            }
            continue;
        }
        // Lines outside shell blocks keep their place (the numbers stay the README's).
        fenced.push_str(if inside && shell { line } else { "" });
        fenced.push('\n');
    }
    commands(&fenced, "README.md", true, &mut examples);
    examples
}

fn help_examples() -> Vec<Example> {
    let output = trailscan(&["--help"]);
    let help = String::from_utf8(output.stdout).unwrap();
    let examples_text = help
        .split_once("Examples:")
        .map(|(_, rest)| rest.split("Exit status").next().unwrap_or(rest))
        .expect("--help has an Examples section");
    let mut examples = Vec::new();
    commands(examples_text, "trailscan --help", true, &mut examples);
    examples
}

/// The words of an example with its placeholders made real.
fn realised(
    example: &Example,
    bucket: &str,
    topic: &str,
    targets: (&str, &str),
    config: &Path,
    temp: &Path,
) -> Vec<String> {
    let mut words = Vec::new();
    let mut iter = example.words.iter();
    while let Some(word) = iter.next() {
        match word.as_str() {
            "--profile" => {
                iter.next();
            }
            "./AWSLogs" => words.push("fixtures/trail".to_owned()),
            "./my-queries" => words.push("queries".to_owned()),
            "./sigma" => {
                words.push("../shared/data/third_party/sigma_aws_cloudtrail/rules".to_owned())
            }
            w if w.starts_with("arn:aws:sns:") => words.push(topic.to_owned()),
            w if w.starts_with("nacl:") => words.push(format!("nacl:{}", targets.0)),
            w if w.starts_with("wafv2:") => words.push(format!("wafv2:{}", targets.1)),
            w if w.starts_with("s3://") => {
                let rest = w.trim_start_matches("s3://");
                let path = rest.split_once('/').map_or("", |(_, p)| p);
                words.push(format!("s3://{bucket}/{path}"));
            }
            w if w.starts_with("/etc/") && w.ends_with(".toml") => {
                words.push(config.to_string_lossy().into_owned())
            }
            w if w.starts_with("~/") => {
                words.push(temp.join(&w[2..]).to_string_lossy().into_owned())
            }
            w => words.push(w.to_owned()),
        }
    }
    words
}

#[test]
fn every_example_in_the_readme_and_help_runs() {
    let examples: Vec<Example> = readme_examples()
        .into_iter()
        .chain(help_examples())
        .collect();
    assert!(
        examples.len() >= 25,
        "only {} examples found",
        examples.len()
    );
    let endpoint = endpoint();
    let bucket = Bucket::create(endpoint, "trail-bucket");
    bucket.upload_tree(&repo().join("fixtures/trail"), "");
    let topic = create_topic(endpoint, "security-alerts");
    let acl = create_acl(endpoint, &[]);
    let ip_set = create_ip_set(endpoint, "blocked", false, &[]);
    let temp = tempfile::tempdir().unwrap();
    // The README's configuration file example, pointed at the fixtures.
    let config = temp.path().join("trailscan.toml");
    std::fs::write(
        &config,
        format!(
            "sources = [\"fixtures/trail\"]\nsince = \"2026-11-20\"\nstate = \"{}\"\n",
            temp.path().join("state.json").display()
        ),
    )
    .unwrap();
    let mut broken = Vec::new();
    for example in &examples {
        let words = realised(
            example,
            &bucket.name,
            &topic,
            (&acl, &ip_set),
            &config,
            temp.path(),
        );
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let output = trailscan_s3(endpoint, &args);
        let status = code(&output);
        let fine = match example.expected {
            Some(expected) => status == expected,
            None => status == 0 || status == 1,
        };
        if !fine {
            broken.push(format!(
                "{}: `{}` exited {status}: {}",
                example.origin,
                example.text,
                stderr(&output).lines().next().unwrap_or_default()
            ));
        }
    }
    assert!(
        broken.is_empty(),
        "examples that broke:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_example_reader_finds_commands_and_leaves_synopses() {
    let mut found = Vec::new();
    commands(
        "trailscan [OPTIONS] [SOURCES]...\ntrailscan audit ./AWSLogs   # the audit\n\
         trailscan query \"SELECT 1\n   FROM cloudtrail_logs\" x  the query\n\
         trailscan a b # damaged: exit 2\n",
        "t",
        true,
        &mut found,
    );
    let words: Vec<Vec<String>> = found.iter().map(|e| e.words.clone()).collect();
    assert_eq!(
        words,
        [
            vec!["audit".to_owned(), "./AWSLogs".to_owned()],
            vec![
                "query".to_owned(),
                "SELECT 1 FROM cloudtrail_logs".to_owned(),
                "x".to_owned()
            ],
            vec!["a".to_owned(), "b".to_owned()],
        ]
    );
    assert_eq!(found[2].expected, Some(2));
    assert_eq!(found[1].origin, "t:3");
}
