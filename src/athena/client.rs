//! Athena's API through aws-sdk-athena: queries started in order, polled with backoff, results paged; errors in one line.
//!
//! tokio lives here as in the S3 source: a small runtime for the client, the rest of the run
//! synchronous. Queries are started one after the other (so that a test server gives each
//! its results in order), up to `concurrency` running at once.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_athena::Client;
use aws_sdk_athena::config::http::HttpResponse;
use aws_sdk_athena::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::aws::{self, Connection};
use crate::config::AthenaTarget as Target;

/// A query that finished: its columns (name and Athena type) and rows (NULL as `None`),
/// and what it cost.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    pub id: String,
    pub columns: Vec<(String, String)>,
    pub rows: Vec<Vec<Option<String>>>,
    pub data_scanned: u64,
    pub engine_ms: u64,
    /// GetQueryResults calls it took.
    pub pages: usize,
}

/// Why a query gave no rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// StartQueryExecution refused it (and every query after it was left unstarted).
    NotStarted(String),
    /// Not started, because an earlier query could not be.
    Skipped,
    Failed {
        id: String,
        reason: String,
    },
    Cancelled {
        id: String,
        reason: String,
    },
    /// Following it or reading its results failed.
    Lost {
        id: String,
        reason: String,
    },
}

/// A connected Athena client on its own runtime.
pub struct Athena {
    runtime: tokio::runtime::Runtime,
    client: Client,
    connection: Connection,
}

/// How long to wait before the first look at a running query, and at most between two.
const FIRST_POLL: Duration = Duration::from_millis(200);
const LONGEST_POLL: Duration = Duration::from_secs(5);
/// Rows per GetQueryResults page: Athena's most.
const PAGE_ROWS: i32 = 1000;

impl Athena {
    /// A client for `connection` (its region is Athena's: the table's).
    pub fn connect(connection: &Connection) -> anyhow::Result<Athena> {
        let runtime = aws::runtime("trailscan-athena")?;
        let client = runtime.block_on(async {
            let shared = aws::load(connection).await;
            Client::new(&shared)
        });
        Ok(Athena {
            runtime,
            client,
            connection: connection.clone(),
        })
    }

    /// Runs `statements` (a name and its SQL each) and gives each outcome, in their order.
    pub fn run_all(
        &self,
        statements: &[(String, String)],
        target: &Target,
        concurrency: usize,
    ) -> Vec<Result<Finished, Failure>> {
        self.runtime
            .block_on(self.run_concurrently(statements, target, concurrency.max(1)))
    }

    async fn run_concurrently(
        &self,
        statements: &[(String, String)],
        target: &Target,
        concurrency: usize,
    ) -> Vec<Result<Finished, Failure>> {
        let mut outcomes: Vec<Option<Result<Finished, Failure>>> = vec![None; statements.len()];
        let limit = Arc::new(Semaphore::new(concurrency));
        let mut tasks = JoinSet::new();
        let mut stopped = false;
        for (index, (_, sql)) in statements.iter().enumerate() {
            if stopped {
                outcomes[index] = Some(Err(Failure::Skipped));
                continue;
            }
            let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
                break;
            };
            match self.start(sql, target).await {
                Ok(id) => {
                    let (client, connection) = (self.client.clone(), self.connection.clone());
                    tasks.spawn(async move {
                        let outcome = follow(&client, &connection, id).await;
                        drop(permit);
                        (index, outcome)
                    });
                }
                Err(reason) => {
                    // What refuses one start (workgroup, output location, credentials)
                    // refuses the next: one line says it, not one per query.
                    outcomes[index] = Some(Err(Failure::NotStarted(reason)));
                    stopped = true;
                }
            }
        }
        while let Some(joined) = tasks.join_next().await {
            if let Ok((index, outcome)) = joined {
                outcomes[index] = Some(outcome);
            }
        }
        (outcomes.into_iter())
            .map(|o| {
                o.unwrap_or(Err(Failure::Lost {
                    id: String::new(),
                    reason: "its task stopped".into(),
                }))
            })
            .collect()
    }

    async fn start(&self, sql: &str, target: &Target) -> Result<String, String> {
        let mut request = (self.client.start_query_execution())
            .query_string(sql)
            .work_group(&target.workgroup);
        if let Some(database) = &target.database {
            request = request.query_execution_context(
                QueryExecutionContext::builder().database(database).build(),
            );
        }
        if let Some(location) = &target.output_location {
            request = request.result_configuration(
                ResultConfiguration::builder()
                    .output_location(location)
                    .build(),
            );
        }
        let started = request
            .send()
            .await
            .map_err(|e| describe(&e, &self.connection, target))?;
        started
            .query_execution_id()
            .map(str::to_owned)
            .ok_or_else(|| "Athena started the query but gave no execution id".to_owned())
    }
}

/// Polls a started query with backoff until it ends, then reads every page of its results.
async fn follow(client: &Client, connection: &Connection, id: String) -> Result<Finished, Failure> {
    let lost = |reason: String| Failure::Lost {
        id: id.clone(),
        reason,
    };
    let no_target = Target {
        workgroup: String::new(),
        output_location: None,
        database: None,
    };
    let mut delay = FIRST_POLL;
    let (data_scanned, engine_ms) = loop {
        let answer = (client.get_query_execution())
            .query_execution_id(&id)
            .send()
            .await
            .map_err(|e| lost(describe(&e, connection, &no_target)))?;
        let execution = answer.query_execution();
        let status = execution.and_then(|e| e.status());
        let reason = || {
            let said = status.and_then(|s| s.state_change_reason());
            let error = status
                .and_then(|s| s.athena_error())
                .and_then(|e| e.error_message());
            said.or(error).unwrap_or("Athena gave no reason").to_owned()
        };
        match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Succeeded) => {
                let statistics = execution.and_then(|e| e.statistics());
                let scanned = statistics.and_then(|s| s.data_scanned_in_bytes());
                let engine = statistics.and_then(|s| s.engine_execution_time_in_millis());
                break (
                    scanned.unwrap_or(0).max(0) as u64,
                    engine.unwrap_or(0).max(0) as u64,
                );
            }
            Some(QueryExecutionState::Failed) => {
                return Err(Failure::Failed {
                    id: id.clone(),
                    reason: reason(),
                });
            }
            Some(QueryExecutionState::Cancelled) => {
                return Err(Failure::Cancelled {
                    id: id.clone(),
                    reason: reason(),
                });
            }
            _ => {
                tokio::time::sleep(delay).await;
                delay = (delay * 3 / 2).min(LONGEST_POLL);
            }
        }
    };
    let mut finished = Finished {
        id: id.clone(),
        data_scanned,
        engine_ms,
        ..Finished::default()
    };
    let mut token: Option<String> = None;
    loop {
        let page = (client.get_query_results())
            .query_execution_id(&id)
            .max_results(PAGE_ROWS)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| lost(describe(&e, connection, &no_target)))?;
        finished.pages += 1;
        if let Some(set) = page.result_set() {
            if finished.columns.is_empty()
                && let Some(metadata) = set.result_set_metadata()
            {
                finished.columns = (metadata.column_info().iter())
                    .map(|c| {
                        (
                            c.label().unwrap_or(c.name()).to_owned(),
                            c.r#type().to_owned(),
                        )
                    })
                    .collect();
            }
            finished.rows.extend(set.rows().iter().map(|row| {
                (row.data().iter())
                    .map(|datum| datum.var_char_value().map(str::to_owned))
                    .collect()
            }));
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(finished)
}

/// One line that says what went wrong and what to do about it.
fn describe<E>(
    error: &SdkError<E, HttpResponse>,
    connection: &Connection,
    target: &Target,
) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => {
            let code = error.code().unwrap_or_default();
            let message = error.message().unwrap_or_default();
            let lower = message.to_lowercase();
            if lower.contains("workgroup")
                && (lower.contains("not found") || lower.contains("not exist"))
            {
                return format!(
                    "workgroup '{}' does not exist: `aws athena list-work-groups` lists them (--workgroup, or workgroup in [athena])",
                    target.workgroup
                );
            }
            if lower.contains("output location") {
                return format!(
                    "no output location for the results: pass --output-location s3://BUCKET/PREFIX/, or set one on workgroup '{}' ({message})",
                    target.workgroup
                );
            }
            match code {
                "AccessDeniedException" => format!(
                    "access denied: needs athena:StartQueryExecution, GetQueryExecution and GetQueryResults on workgroup '{}', glue:GetTable and GetDatabase, and S3 access to the trail and the output location ({message})",
                    target.workgroup
                ),
                "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "ExpiredTokenException"
                | "InvalidClientTokenId" => format!(
                    "the AWS credentials were refused ({code}): refresh them (aws sso login, or new keys)"
                ),
                "TooManyRequestsException" | "ThrottlingException" => format!(
                    "Athena throttled the requests ({message}): lower --concurrency, or run again later"
                ),
                "" => format!(
                    "Athena answered HTTP {}",
                    error
                        .raw_response()
                        .map(|r| r.status().as_u16())
                        .unwrap_or_default()
                ),
                _ => format!("Athena error {code}: {message}"),
            }
        }
        SdkError::DispatchFailure(_) if aws::lacks_credentials(error) => {
            aws::NO_CREDENTIALS.to_owned()
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => format!(
            "cannot reach Athena ({}): {}",
            aws::innermost_cause(error),
            aws::endpoint_hint(connection)
        ),
        _ if aws::lacks_credentials(error) => aws::NO_CREDENTIALS.to_owned(),
        _ => aws::innermost_cause(error),
    }
}
