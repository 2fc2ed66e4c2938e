//! What `verify` found, per account and region and per object, as a table, JSON, JSON Lines or CSV.

use std::io::{self, Write};
use std::time::Duration;

use chrono::{DateTime, Utc};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use super::digest::short_name;
use crate::output::Format;
use crate::output::sanitize::{for_terminal, write_csv_text_cell};
use crate::record::format_time;
use crate::results::Transfer;

/// What is wrong with one object, or with the chain at one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A log file whose SHA-256 is not the one its digest records.
    Modified,
    /// A log file a digest lists that the sources do not hold.
    Missing,
    /// A log file no digest lists: possibly planted.
    NotCovered,
    /// A digest the chain names that the sources do not hold.
    DigestMissing,
    /// A digest whose SHA-256 is not the one the next digest records.
    DigestModified,
    /// A digest that cannot be read as one, or is not where it says it was delivered.
    DigestInvalid,
    BadSignature,
    /// A digest outside the chain.
    ChainBreak,
    /// Hours no digest covers.
    ChainGap,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Modified => "modified",
            Kind::Missing => "missing",
            Kind::NotCovered => "not-covered",
            Kind::DigestMissing => "digest-missing",
            Kind::DigestModified => "digest-modified",
            Kind::DigestInvalid => "digest-invalid",
            Kind::BadSignature => "bad-signature",
            Kind::ChainBreak => "chain-break",
            Kind::ChainGap => "chain-gap",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: Kind,
    pub account: String,
    pub region: String,
    pub object: String,
    /// When: a log file's delivery, the end of a digest's hour.
    #[serde(serialize_with = "rfc3339")]
    pub time: Option<DateTime<Utc>>,
    pub detail: String,
}

impl Problem {
    /// The order of the report: by account and region, then in time.
    pub fn order(&self) -> impl Ord + '_ {
        (
            &self.account,
            &self.region,
            self.time,
            &self.object,
            self.kind,
            &self.detail,
        )
    }
}

fn rfc3339<S: serde::Serializer>(time: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => s.serialize_str(&format_time(time)),
        None => s.serialize_none(),
    }
}

/// What was checked for one account and region, and what came of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub account: String,
    pub region: String,
    /// Digest files read (in the time window).
    pub digests: u64,
    pub signatures_valid: u64,
    pub signatures_invalid: u64,
    pub signatures_unchecked: u64,
    /// Log files in the sources (in the time window).
    pub log_files: u64,
    pub valid: u64,
    pub modified: u64,
    pub missing: u64,
    pub not_covered: u64,
    /// Log files newer than the last digest: the next hourly digest will list them.
    pub pending: u64,
    pub chain_breaks: u64,
    pub gaps: u64,
}

/// The whole of a run.
pub struct Report {
    pub accounts: Vec<Counts>,
    pub problems: Vec<Problem>,
    pub notes: Vec<String>,
    /// Objects that could not be read, and listings that failed (said on stderr).
    pub errors: usize,
    pub elapsed: Duration,
    /// Requests made and bytes moved, when a source is remote.
    pub transfer: Option<Transfer>,
}

#[derive(Serialize)]
struct Summary {
    digests: u64,
    log_files: u64,
    valid: u64,
    problems: usize,
    errors: usize,
    verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    s3_list_requests: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    s3_get_requests: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    s3_bytes_downloaded: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    s3_cache_hits: Option<u64>,
    elapsed_ms: u128,
}

impl Report {
    fn summary(&self) -> Summary {
        let sum = |f: fn(&Counts) -> u64| self.accounts.iter().map(f).sum();
        Summary {
            digests: sum(|c| c.digests),
            log_files: sum(|c| c.log_files),
            valid: sum(|c| c.valid),
            problems: self.problems.len(),
            errors: self.errors,
            verified: self.problems.is_empty() && self.errors == 0,
            s3_list_requests: self.transfer.map(|t| t.list_requests),
            s3_get_requests: self.transfer.map(|t| t.get_requests),
            s3_bytes_downloaded: self.transfer.map(|t| t.bytes_downloaded),
            s3_cache_hits: self.transfer.map(|t| t.cache_hits),
            elapsed_ms: self.elapsed.as_millis(),
        }
    }

    /// Prints the report in `format` (`terminal`: fit tables to it); the formats that are
    /// not verify's (`Config` refuses them) print the table.
    pub fn print(&self, format: Format, out: &mut impl Write, terminal: bool) -> io::Result<()> {
        match format {
            Format::Json => self.json(out),
            Format::Jsonl => self.json_lines(out),
            Format::Csv => self.csv(out),
            _ => self.table(out, terminal),
        }?;
        out.flush()
    }

    fn table(&self, out: &mut impl Write, fit: bool) -> io::Result<()> {
        let new_table = || {
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED);
            if fit {
                table.set_content_arrangement(ContentArrangement::Dynamic);
            } else {
                table.force_no_tty();
            }
            table
        };
        let mut table = new_table();
        table.set_header([
            "account",
            "region",
            "digests",
            "signatures",
            "logs",
            "valid",
            "modified",
            "missing",
            "not covered",
            "chain",
        ]);
        for c in &self.accounts {
            table.add_row([
                for_terminal(&c.account).into_owned(),
                for_terminal(&c.region).into_owned(),
                c.digests.to_string(),
                signatures(c),
                c.log_files.to_string(),
                c.valid.to_string(),
                c.modified.to_string(),
                c.missing.to_string(),
                c.not_covered.to_string(),
                chain(c),
            ]);
        }
        writeln!(out, "{table}")?;
        // One table of problems per account and region, in time order; objects by their
        // short name (JSON and CSV give the whole path).
        for group in self
            .problems
            .chunk_by(|a, b| (&a.account, &a.region) == (&b.account, &b.region))
        {
            let first = &group[0];
            writeln!(out)?;
            writeln!(
                out,
                "{} {} · {} problem{}",
                for_terminal(&first.account),
                for_terminal(&first.region),
                group.len(),
                if group.len() == 1 { "" } else { "s" }
            )?;
            let mut table = new_table();
            table.set_header(["kind", "object", "detail"]);
            for problem in group {
                table.add_row([
                    problem.kind.as_str().to_owned(),
                    for_terminal(short_name(&problem.object)).into_owned(),
                    for_terminal(&problem.detail).into_owned(),
                ]);
            }
            writeln!(out, "{table}")?;
        }
        if !self.notes.is_empty() {
            writeln!(out)?;
        }
        for note in &self.notes {
            writeln!(out, "note: {}", for_terminal(note))?;
        }
        let s = self.summary();
        writeln!(out)?;
        if s.verified {
            writeln!(
                out,
                "Verified: {} of {} log files match their digests, and the chain of {} digests holds.",
                s.valid, s.log_files, s.digests
            )?;
        } else {
            writeln!(
                out,
                "NOT VERIFIED: {} problems, {} errors; {} of {} log files match their digests ({} digests).",
                s.problems, s.errors, s.valid, s.log_files, s.digests
            )?;
        }
        if let Some(t) = &self.transfer {
            writeln!(
                out,
                "S3: {} LIST requests ({} keys), {} GET and HEAD requests, {:.2} MB downloaded, {} from the cache",
                t.list_requests,
                t.keys_listed,
                t.get_requests,
                t.bytes_downloaded as f64 / 1e6,
                t.cache_hits
            )?;
        }
        writeln!(out, "Elapsed {:.2} s", self.elapsed.as_secs_f64())
    }

    fn json(&self, out: &mut impl Write) -> io::Result<()> {
        let document = serde_json::json!({
            "accounts": self.accounts,
            "problems": self.problems,
            "notes": self.notes,
            "summary": self.summary(),
        });
        serde_json::to_writer_pretty(&mut *out, &document)?;
        writeln!(out)
    }

    fn json_lines(&self, out: &mut impl Write) -> io::Result<()> {
        let mut line = |kind: &str, value: serde_json::Value| -> io::Result<()> {
            let mut object = serde_json::Map::new();
            object.insert("type".into(), kind.into());
            if let serde_json::Value::Object(fields) = value {
                object.extend(fields);
            }
            serde_json::to_writer(&mut *out, &object)?;
            writeln!(out)
        };
        for counts in &self.accounts {
            line("account", serde_json::to_value(counts)?)?;
        }
        for problem in &self.problems {
            line("problem", serde_json::to_value(problem)?)?;
        }
        for note in &self.notes {
            line("note", serde_json::json!({ "note": note }))?;
        }
        line("summary", serde_json::to_value(self.summary())?)
    }

    fn csv(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(b"account,region,digests,signatures_valid,signatures_invalid,signatures_unchecked,log_files,valid,modified,missing,not_covered,pending,chain_breaks,gaps\n")?;
        for c in &self.accounts {
            write_csv_text_cell(&c.account, out)?;
            out.write_all(b",")?;
            write_csv_text_cell(&c.region, out)?;
            let numbers = [
                c.digests,
                c.signatures_valid,
                c.signatures_invalid,
                c.signatures_unchecked,
                c.log_files,
                c.valid,
                c.modified,
                c.missing,
                c.not_covered,
                c.pending,
                c.chain_breaks,
                c.gaps,
            ];
            for n in numbers {
                write!(out, ",{n}")?;
            }
            out.write_all(b"\n")?;
        }
        out.write_all(b"\nkind,account,region,object,time,detail\n")?;
        for p in &self.problems {
            out.write_all(p.kind.as_str().as_bytes())?;
            let time = p.time.map(|t| format_time(&t)).unwrap_or_default();
            for text in [&p.account, &p.region, &p.object, &time, &p.detail] {
                out.write_all(b",")?;
                write_csv_text_cell(text, out)?;
            }
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// The chain cell: intact, or its breaks and gaps.
fn chain(c: &Counts) -> String {
    let plural = |n: u64, one: &str, many: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    };
    match (c.chain_breaks, c.gaps) {
        (0, 0) if c.digests > 0 => "intact".to_owned(),
        (0, 0) => "-".to_owned(),
        (breaks, 0) => plural(breaks, "break", "breaks"),
        (0, gaps) => plural(gaps, "gap", "gaps"),
        (breaks, gaps) => format!(
            "{}, {}",
            plural(breaks, "break", "breaks"),
            plural(gaps, "gap", "gaps")
        ),
    }
}

/// The signatures cell: how many verified, how many did not, or that none were checked.
fn signatures(c: &Counts) -> String {
    match (c.signatures_valid, c.signatures_invalid) {
        (0, 0) => "not checked".to_owned(),
        (valid, 0) if c.signatures_unchecked == 0 => format!("{valid} valid"),
        (valid, invalid) => {
            let mut cell = format!("{valid} valid, {invalid} bad");
            if c.signatures_unchecked > 0 {
                cell.push_str(&format!(", {} not checked", c.signatures_unchecked));
            }
            cell
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            accounts: vec![Counts {
                account: "111122223333".into(),
                region: "us-east-1".into(),
                digests: 2,
                log_files: 3,
                valid: 2,
                modified: 1,
                ..Counts::default()
            }],
            problems: vec![Problem {
                account: "111122223333".into(),
                region: "us-east-1".into(),
                object: "=HYPERLINK(\"x\")\u{1b}[31m".into(),
                time: None,
                kind: Kind::Modified,
                detail: "its SHA-256 differs".into(),
            }],
            notes: vec!["signatures not checked".into()],
            errors: 0,
            elapsed: Duration::from_millis(5),
            transfer: None,
        }
    }

    fn printed(format: Format) -> String {
        let mut out = Vec::new();
        report().print(format, &mut out, false).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_format_says_the_same_and_keeps_log_text_inert() {
        let table = printed(Format::Table);
        assert!(table.contains("not checked"), "{table}");
        assert!(
            table.contains("\\x1b[31m") && !table.contains('\u{1b}'),
            "{table}"
        );
        assert!(table.contains("NOT VERIFIED: 1 problems"), "{table}");
        let csv = printed(Format::Csv);
        assert!(
            csv.contains("modified,111122223333,us-east-1,\"'=HYPERLINK"),
            "{csv}"
        );
        let json: serde_json::Value = serde_json::from_str(&printed(Format::Json)).unwrap();
        assert_eq!(json["problems"][0]["kind"], "modified");
        assert_eq!(json["summary"]["verified"], false);
        let lines = printed(Format::Jsonl);
        let last: serde_json::Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
        assert_eq!(last["type"], "summary");
        assert_eq!(last["problems"], 1);
        assert!(lines.starts_with("{\"type\":\"account\",\"account\":\"111122223333\""));
    }
}
