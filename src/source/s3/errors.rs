//! S3 errors in one line each: what went wrong, and the permission or setting that fixes it.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::aws::{self, Connection};

#[derive(Clone, Copy)]
pub(super) enum Action {
    List,
    Get,
}

/// One line that says what went wrong and what to do about it.
pub(super) fn describe<E>(
    error: &SdkError<E, HttpResponse>,
    action: Action,
    bucket: &str,
    connection: &Connection,
) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let permission = match action {
        Action::List => format!("s3:ListBucket on arn:aws:s3:::{bucket}"),
        Action::Get => format!(
            "s3:GetObject on arn:aws:s3:::{bucket}/* (and kms:Decrypt on the trail's key if it is SSE-KMS encrypted)"
        ),
    };
    let region_hint = error
        .raw_response()
        .and_then(|r| r.headers().get("x-amz-bucket-region"))
        .map(str::to_owned);
    match error {
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => {
            let code = error.code().unwrap_or_default();
            let status = error
                .raw_response()
                .map(|r| r.status().as_u16())
                .unwrap_or_default();
            let message = error.message().unwrap_or_default();
            if let Some(region) = region_hint.filter(|_| {
                status == 301 || code.contains("Redirect") || code == "AuthorizationHeaderMalformed"
            }) {
                return format!(
                    "the bucket is in region {region}: pass --bucket-region {region} (or set AWS_REGION)"
                );
            }
            match code {
                "NoSuchBucket" => "no such bucket: check the name in the s3:// URL".to_owned(),
                "AccessDenied" | "AllAccessDisabled"
                    if message.contains("KMS") || message.contains("kms") =>
                {
                    format!(
                        "access denied by KMS: needs kms:Decrypt on the trail's key ({message})"
                    )
                }
                "AccessDenied" | "AllAccessDisabled" => {
                    format!("access denied: needs {permission}")
                }
                "KMS.DisabledException" | "KMS.AccessDeniedException" | "KMS.NotFoundException" => {
                    format!("cannot decrypt: needs kms:Decrypt on the trail's key ({code})")
                }
                "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "InvalidToken" => {
                    format!(
                        "the AWS credentials were refused ({code}): refresh them (aws sso login, or new keys)"
                    )
                }
                "NoSuchKey" => "the object disappeared between listing and download".to_owned(),
                "" if status == 404 => "no such bucket or key (HTTP 404)".to_owned(),
                "" => format!("S3 answered HTTP {status}"),
                _ => format!("S3 error {code}: {message}"),
            }
        }
        SdkError::DispatchFailure(failure) => {
            if aws::lacks_credentials(error) {
                aws::NO_CREDENTIALS.to_owned()
            } else if failure.is_timeout() {
                format!("timed out reaching S3 ({})", aws::endpoint_hint(connection))
            } else if failure.is_io() {
                format!(
                    "cannot reach S3 ({}): {}",
                    aws::endpoint_hint(connection),
                    aws::innermost_cause(error)
                )
            } else {
                // A connection dropped or refused mid-request: say the innermost cause, not
                // the SDK's nested debug text.
                format!(
                    "the connection to S3 failed ({}): {}",
                    aws::endpoint_hint(connection),
                    aws::innermost_cause(error)
                )
            }
        }
        SdkError::TimeoutError(_) => {
            format!("timed out reaching S3 ({})", aws::endpoint_hint(connection))
        }
        SdkError::ConstructionFailure(_) if aws::lacks_credentials(error) => {
            aws::NO_CREDENTIALS.to_owned()
        }
        SdkError::ConstructionFailure(_) => {
            format!(
                "cannot build the request: {}",
                first_cause(&DisplayErrorContext(error).to_string())
            )
        }
        _ => first_cause(&DisplayErrorContext(error).to_string()),
    }
}

/// The SDK's error context, cut to one line.
fn first_cause(detail: &str) -> String {
    detail
        .lines()
        .next()
        .unwrap_or(detail)
        .chars()
        .take(300)
        .collect()
}

/// Whether `error` says the store could not be reached at all (refused, timed out), not that
/// it answered no.
pub(super) fn is_unreachable<E>(error: &SdkError<E, HttpResponse>) -> bool {
    match error {
        // Any failure to get an answer at all: refused, reset, closed mid-request, timed out.
        SdkError::DispatchFailure(failure) => !failure.is_user(),
        SdkError::TimeoutError(_) => true,
        _ => false,
    }
}
