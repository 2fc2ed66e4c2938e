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
        // The profile named is the one used: environment keys do not win over it.
        let credentials = aws_config::profile::ProfileFileCredentialsProvider::builder()
            .profile_name(profile)
            .build();
        loader = loader
            .profile_name(profile)
            .credentials_provider(credentials);
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

/// Whether the shared config or credentials file (`AWS_CONFIG_FILE`,
/// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and `~/.aws/credentials`) has a
/// profile called `name`.
pub fn has_profile(name: &str) -> bool {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let file = |variable: &str, default: &str| {
        std::env::var_os(variable)
            .map(std::path::PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let sections = |path: Option<std::path::PathBuf>| -> Vec<String> {
        let text = path
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        (text.lines())
            .filter_map(|line| line.trim().strip_prefix('[')?.strip_suffix(']'))
            .map(|section| section.trim().to_owned())
            .collect()
    };
    let config = sections(file("AWS_CONFIG_FILE", "config"));
    let credentials = sections(file("AWS_SHARED_CREDENTIALS_FILE", "credentials"));
    let in_config = |section: &String| {
        section == name && name == "default"
            || section
                .strip_prefix("profile")
                .is_some_and(|rest| rest.trim() == name)
    };
    config.iter().any(in_config) || credentials.iter().any(|s| s == name)
}

/// Whether `url` can be an endpoint: `http://` or `https://`, then a host.
pub fn is_endpoint(url: &str) -> bool {
    let rest = (url.strip_prefix("http://")).or_else(|| url.strip_prefix("https://"));
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !host.starts_with(':') && !rest.contains(char::is_whitespace)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_urls_with_a_host() {
        for good in [
            "http://127.0.0.1:9000",
            "https://s3.example.com/",
            "http://minio",
        ] {
            assert!(is_endpoint(good), "{good}");
        }
        for bad in [
            "127.0.0.1:9000",
            "http://",
            "http://:9000",
            "ftp://x",
            "http://a b",
            "",
        ] {
            assert!(!is_endpoint(bad), "{bad}");
        }
    }
}
