//! What S3 and SNS share: a small runtime, aws-config's default chain, and error wording.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// How to reach AWS, as the user set it; everything else comes from aws-config's chain.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The AWS clients' runtime could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the {name} runtime: {source}")]
pub struct RuntimeError {
    name: String,
    source: std::io::Error,
}

/// A runtime for the AWS clients only: the rest of trailscan is synchronous.
pub fn runtime(name: &str) -> Result<tokio::runtime::Runtime, RuntimeError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name(name)
        .build()
        .map_err(|source| RuntimeError {
            name: name.to_owned(),
            source,
        })
}

/// The shared configuration: credentials chain, retries with backoff, timeouts.
pub async fn load(connection: &Connection) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        // Standard mode retries throttling, 5xx answers and timeouts with jittered backoff.
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(120))
                .build(),
        );
    if let Some(profile) = &connection.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &connection.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &connection.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// Where requests go, for messages: `--endpoint-url`, `AWS_ENDPOINT_URL`, or AWS itself.
pub fn endpoint_hint(connection: &Connection) -> String {
    match connection
        .endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
    {
        Some(url) => format!("endpoint {url}"),
        None => "check the network, --endpoint-url and proxy settings".to_owned(),
    }
}

pub const NO_CREDENTIALS: &str = "no AWS credentials found: set AWS_PROFILE or --profile, run `aws sso login`, or use an instance role";

/// Whether an SDK error's chain says that no credentials could be found.
pub fn lacks_credentials(error: &(dyn std::error::Error + 'static)) -> bool {
    chain(error).any(|e| {
        let text = e.to_string();
        text.contains("credential") || text.contains("Credentials")
    })
}

/// The root cause (`Connection refused (os error 111)`), not the SDK's whole chain.
pub fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    chain(error)
        .last()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

fn chain<'e>(
    error: &'e (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'e (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}
