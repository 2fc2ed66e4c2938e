//! Athena, for when the data outgrows one machine: the table of a trail (`athena ddl`), and the same query files run there (`athena run`).
//!
//! The query files are Athena SQL over the documented CloudTrail table; `athena ddl` writes
//! that table for a bucket, partitioned by the key layout, and `athena run` sends the files
//! unchanged behind a `cloudtrail_logs` CTE that prunes those partitions, then brings the
//! rows back through the printers, alerts and state of a local scan.

pub mod client;
pub mod ddl;
pub mod rows;
pub mod run;
pub mod statement;

/// The partition columns of the tables `athena ddl` writes: the layout's account, region
/// and day folder (`YYYY/MM/DD`, the name Athena's documentation gives it).
pub const ACCOUNT: &str = "account";
pub const REGION: &str = "region";
pub const DAY: &str = "timestamp";
