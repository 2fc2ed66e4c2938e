//! `trailscan athena ddl`: the CloudTrail table of a trail's bucket, with partition projection.
//!
//! The columns are Athena's documented CloudTrail table (`lang::sql::table`); the table is
//! partitioned by account, region and day, and Athena projects the partitions from the
//! values written here (no `ALTER TABLE ADD PARTITION`, no crawler). The accounts and
//! regions come from the bucket's key layout, listed with delimiters as a scan lists it.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::{Context, bail};
use chrono::{NaiveDate, TimeDelta};

use super::{ACCOUNT, DAY, REGION};
use crate::config::{Config, DdlSpec};
use crate::exit::Exit;
use crate::lang::sql::table;
use crate::source::{TimeWindow, TrailFolder};

/// Prints the tables of the trails below `spec.location`.
pub fn run(config: &Config, spec: &DdlSpec) -> anyhow::Result<Exit> {
    let rest = spec.location.strip_prefix("s3://").with_context(|| {
        format!(
            "{}: athena ddl reads a trail's bucket: give s3://BUCKET[/PREFIX]",
            spec.location
        )
    })?;
    let bucket = rest.split('/').next().unwrap_or_default().to_owned();
    let filter = &config.filter;
    let first_day = filter.window.since.is_none();
    let (trails, transfer) = crate::source::trails(rest, &config.remote, filter, first_day)
        .map_err(|reason| anyhow::anyhow!("{}: {reason}", spec.location))?;
    if trails.is_empty() {
        bail!(
            "{}: no CloudTrail folders (AWSLogs/<account>/CloudTrail/) below it: check the bucket and prefix",
            spec.location
        );
    }
    let mut text = String::new();
    if let Some(database) = &spec.database {
        text.push_str(&format!("CREATE DATABASE IF NOT EXISTS {database};\n\n"));
    }
    let names = table_names(&spec.table, &trails);
    for (trail, name) in trails.iter().zip(&names) {
        let qualified = match &spec.database {
            Some(database) => format!("{database}.{name}"),
            None => name.clone(),
        };
        text.push_str(&create_table(
            &bucket,
            trail,
            &qualified,
            &filter.window,
            config.now.date_naive(),
        )?);
        text.push('\n');
    }
    let database = (spec.database.as_ref()).map_or(String::new(), |d| format!(" --database {d}"));
    text.push_str(&format!(
        "-- {} found with {} LIST requests. Then: trailscan athena run audit{database} --table {} --since 24h\n",
        count(trails.len(), "trail"),
        transfer.list_requests,
        names[0]
    ));
    match &config.output {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("cannot write --output {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(Exit::Clean)
}

/// One table per trail: `table` alone, or with several trails `table_<where>` after the
/// prefix and organization of each.
fn table_names(table: &str, trails: &[TrailFolder]) -> Vec<String> {
    if trails.len() == 1 {
        return vec![table.to_owned()];
    }
    let mut taken = BTreeSet::new();
    (trails.iter())
        .map(|trail| {
            let parts: Vec<String> = (trail.root.split('/'))
                .filter(|p| !p.is_empty() && *p != "AWSLogs")
                .map(|p| {
                    p.chars()
                        .map(|c| match c.is_ascii_alphanumeric() {
                            true => c.to_ascii_lowercase(),
                            false => '_',
                        })
                        .collect()
                })
                .collect();
            let place = match parts.join("_") {
                p if p.is_empty() => "trail".to_owned(),
                p => p,
            };
            let mut name = format!("{table}_{place}");
            let mut n = 2;
            while !taken.insert(name.clone()) {
                name = format!("{table}_{place}_{n}");
                n += 1;
            }
            name
        })
        .collect()
}

/// The `CREATE EXTERNAL TABLE` of one trail, partitioned by account, region and day.
pub fn create_table(
    bucket: &str,
    trail: &TrailFolder,
    name: &str,
    window: &TimeWindow,
    today: NaiveDate,
) -> anyhow::Result<String> {
    let root = format!("s3://{bucket}/{}", trail.root);
    if root.contains(['\'', '\\']) || root.contains("${") {
        bail!("{root}: a quote, a backslash or ${{ in the location cannot be written in the DDL");
    }
    let slack = TimeDelta::days(1);
    let start = match window.since {
        Some(since) => since.date_naive() - slack,
        None => trail.first_day.unwrap_or(today),
    };
    let end = match window.last_day() {
        Some(last) => (last + slack).format("%Y/%m/%d").to_string(),
        None => "NOW".to_owned(),
    };
    let list = |values: &BTreeSet<String>| values.iter().cloned().collect::<Vec<_>>().join(",");
    let what = match &trail.organization {
        Some(org) => format!("the organization trail {org}"),
        None => "the trail".to_owned(),
    };
    Ok(format!(
        "-- {what} in {root}: {}, {}, days from {}\n\
         CREATE EXTERNAL TABLE IF NOT EXISTS {name} (\n\
         {}\n\
         )\n\
         PARTITIONED BY (\n    {ACCOUNT} STRING,\n    {REGION} STRING,\n    `{DAY}` STRING)\n\
         ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n\
         STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'\n\
         OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n\
         LOCATION '{root}'\n\
         TBLPROPERTIES (\n\
         \x20   'projection.enabled'='true',\n\
         \x20   'projection.{ACCOUNT}.type'='enum',\n\
         \x20   'projection.{ACCOUNT}.values'='{}',\n\
         \x20   'projection.{REGION}.type'='enum',\n\
         \x20   'projection.{REGION}.values'='{}',\n\
         \x20   'projection.{DAY}.type'='date',\n\
         \x20   'projection.{DAY}.format'='yyyy/MM/dd',\n\
         \x20   'projection.{DAY}.range'='{},{end}',\n\
         \x20   'projection.{DAY}.interval'='1',\n\
         \x20   'projection.{DAY}.interval.unit'='DAYS',\n\
         \x20   'storage.location.template'='{root}${{{ACCOUNT}}}/CloudTrail/${{{REGION}}}/${{{DAY}}}');\n",
        count(trail.accounts.len(), "account"),
        count(trail.regions.len(), "region"),
        start.format("%Y/%m/%d"),
        table::ddl_columns(),
        list(&trail.accounts),
        list(&trail.regions),
        start.format("%Y/%m/%d"),
    ))
}

fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        _ => format!("{n} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trail(root: &str, organization: Option<&str>) -> TrailFolder {
        TrailFolder {
            root: root.to_owned(),
            organization: organization.map(str::to_owned),
            accounts: ["111122223333".to_owned()].into(),
            regions: ["eu-west-1".to_owned(), "us-east-1".to_owned()].into(),
            first_day: NaiveDate::from_ymd_opt(2026, 11, 19),
        }
    }

    #[test]
    fn the_table_projects_accounts_regions_and_days_below_its_root() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let ddl = create_table(
            "b",
            &trail("p/AWSLogs/o-abc/", Some("o-abc")),
            "security.cloudtrail_logs",
            &TimeWindow::default(),
            today,
        )
        .unwrap();
        for expected in [
            "CREATE EXTERNAL TABLE IF NOT EXISTS security.cloudtrail_logs (\n    eventversion STRING,",
            "LOCATION 's3://b/p/AWSLogs/o-abc/'",
            "'projection.account.values'='111122223333'",
            "'projection.region.values'='eu-west-1,us-east-1'",
            "'projection.timestamp.range'='2026/11/19,NOW'",
            "'storage.location.template'='s3://b/p/AWSLogs/o-abc/${account}/CloudTrail/${region}/${timestamp}');",
        ] {
            assert!(ddl.contains(expected), "{expected}\n{ddl}");
        }
        let since = chrono::DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z").unwrap();
        let window = TimeWindow {
            since: Some(since.to_utc()),
            until: Some((since + TimeDelta::days(7)).to_utc()),
        };
        let ddl = create_table("b", &trail("AWSLogs/", None), "t", &window, today).unwrap();
        assert!(
            ddl.contains("'projection.timestamp.range'='2026/11/19,2026/11/28'"),
            "{ddl}"
        );
    }

    #[test]
    fn several_trails_get_a_table_each_named_after_where_they_are() {
        let names = table_names(
            "cloudtrail_logs",
            &[
                trail("AWSLogs/", None),
                trail(
                    "security-prefix/AWSLogs/o-a1b2c3d4e5/",
                    Some("o-a1b2c3d4e5"),
                ),
            ],
        );
        assert_eq!(
            names,
            [
                "cloudtrail_logs_trail",
                "cloudtrail_logs_security_prefix_o_a1b2c3d4e5"
            ]
        );
        assert_eq!(
            table_names("t", &[trail("AWSLogs/", None)]),
            ["t"],
            "one trail: the name given"
        );
    }
}
