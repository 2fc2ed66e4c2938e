//! Publishing to SNS (aws-sdk-sns), on its own small runtime like S3.

use aws_sdk_sns::Client;
use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;

use super::message::{Message, Notifier, SendError};
use crate::aws::{self, Connection, RuntimeError};

pub struct SnsPublisher {
    runtime: tokio::runtime::Runtime,
    client: Client,
    topic: String,
    connection: Connection,
}

impl SnsPublisher {
    /// A client for `topic`, in the topic's own region.
    pub fn connect(connection: &Connection, topic: &str) -> Result<SnsPublisher, RuntimeError> {
        let runtime = aws::runtime("trailscan-sns")?;
        let connection = Connection {
            region: topic_region(topic).map(str::to_owned),
            ..connection.clone()
        };
        let shared = runtime.block_on(aws::load(&connection));
        let client = Client::new(&shared);
        Ok(SnsPublisher {
            runtime,
            client,
            topic: topic.to_owned(),
            connection,
        })
    }

    fn publish(&self, message: &Message) -> Result<(), SendError> {
        let attribute = |value: String| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| SendError::Refused(e.to_string()))
        };
        let request = self
            .client
            .publish()
            .topic_arn(&self.topic)
            .subject(&message.subject)
            .message(&message.body)
            .message_attributes("query", attribute(message.query.clone())?)
            .message_attributes("severity", attribute(message.severity.to_string())?);
        self.runtime
            .block_on(request.send())
            .map(|_| ())
            .map_err(|e| SendError::Refused(self.describe(&e)))
    }

    fn describe<E>(&self, error: &SdkError<E, aws_sdk_sns::config::http::HttpResponse>) -> String
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let topic = &self.topic;
        match error {
            SdkError::ServiceError(_) => match error.code().unwrap_or_default() {
                "NotFound" => format!("topic {topic} does not exist: create it or fix --sns-topic"),
                "AuthorizationError" | "AccessDenied" | "AccessDeniedException" => {
                    format!("not allowed to publish: needs sns:Publish on {topic}")
                }
                code if code.starts_with("KMS") => format!(
                    "the topic's KMS key refused ({code}): needs kms:GenerateDataKey and kms:Decrypt on it"
                ),
                "InvalidClientTokenId" | "SignatureDoesNotMatch" | "ExpiredToken" => {
                    "the AWS credentials were refused: refresh them (aws sso login, or new keys)"
                        .to_owned()
                }
                "" => format!(
                    "SNS answered HTTP {} without saying why",
                    error.raw_response().map_or(0, |r| r.status().as_u16())
                ),
                code => match error.message() {
                    Some(message) => format!("SNS error {code}: {message}"),
                    None => format!("SNS error {code}"),
                },
            },
            _ if aws::lacks_credentials(error) => aws::NO_CREDENTIALS.to_owned(),
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => format!(
                "cannot reach SNS ({}): {}",
                aws::endpoint_hint(&self.connection),
                aws::innermost_cause(error)
            ),
            _ => DisplayErrorContext(error)
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
        }
    }
}

impl Notifier for SnsPublisher {
    fn target(&self) -> &str {
        &self.topic
    }

    fn send(&self, message: &Message) -> Result<bool, SendError> {
        self.publish(message).map(|()| true)
    }
}

/// A text that is not an SNS topic ARN.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")]
pub struct NotATopic(String);

/// An SNS topic ARN: `arn:<partition>:sns:<region>:<account>:<name>`.
pub fn check_topic(topic: &str) -> Result<(), NotATopic> {
    let parts: Vec<&str> = topic.split(':').collect();
    if parts.len() != 6
        || parts[0] != "arn"
        || parts[2] != "sns"
        || parts[3].is_empty()
        || parts[5].is_empty()
    {
        return Err(NotATopic(topic.to_owned()));
    }
    Ok(())
}

/// The region in an SNS topic ARN, where the topic must be published to.
fn topic_region(topic: &str) -> Option<&str> {
    topic.split(':').nth(3).filter(|r| !r.is_empty())
}
