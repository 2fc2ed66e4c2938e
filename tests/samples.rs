//! The third-party CloudTrail samples through the command line: every unreadable one named, no panic.

use crate::util::{code, shared_data, stderr, trailscan};

#[test]
fn every_shared_sample_is_read_and_each_unreadable_one_is_named() {
    let dir = shared_data();
    let list =
        std::fs::read_to_string(crate::util::repo().join("tests/golden/samples.tsv")).unwrap();
    let samples: Vec<(&str, &str)> = (list.lines())
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .collect();
    let folders: std::collections::BTreeSet<&str> = (samples.iter())
        .filter_map(|(path, _)| path.split('/').next())
        .collect();
    let paths: Vec<String> = (folders.iter())
        .map(|f| dir.join(f).display().to_string())
        .collect();
    let mut args: Vec<&str> = vec!["audit", "--format", "jsonl"];
    args.extend(paths.iter().map(String::as_str));
    let output = trailscan(&args);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(!err.contains("panicked"), "{err}");
    let reported: Vec<&str> = (err.lines())
        .filter(|l| !l.starts_with("trailscan: warning:"))
        .collect();
    let unreadable: Vec<&str> = (samples.iter())
        .filter(|(_, expected)| expected.starts_with("error: "))
        .map(|(path, _)| *path)
        .collect();
    assert_eq!(reported.len(), unreadable.len(), "{err}");
    for path in unreadable {
        assert!(
            reported.iter().any(|line| line.contains(path)),
            "{path} not reported:\n{err}"
        );
    }
}
