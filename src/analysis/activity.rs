//! What the investigations count of events (writes, denials, data reads) and which canned queries fire on them.

use std::sync::Arc;

use crate::catalog::Catalog;
use crate::meta::{Meta, Severity};
use crate::query::Query;
use crate::query::plan::Expr;
use crate::record::Value;

/// Who a principal is in `summary`: a role session counts for its role (the session
/// issuer), a console or STS session for its user, a service for itself.
pub const PRINCIPAL: &str = "coalesce(userIdentity.sessionContext.sessionIssuer.arn, \
     userIdentity.arn, userIdentity.invokedBy, userIdentity.accountId, userIdentity.principalId)";

/// A write: `readOnly` false (CloudTrail logs a JSON boolean; Athena's table, a string).
pub const WRITE: &str = "readOnly = 'false'";

/// A denied call, as CIS 4.1 (`unauthorized-calls`) counts them.
pub const DENIED: &str =
    "(errorCode LIKE 'AccessDenied%' OR errorCode LIKE '%UnauthorizedOperation')";

/// The management calls that hand out data (secrets, parameters, keys, objects).
const DATA_EVENTS: [&str; 8] = [
    "GetSecretValue",
    "BatchGetSecretValue",
    "GetParameter",
    "GetParameters",
    "GetParametersByPath",
    "Decrypt",
    "GetObject",
    "GetPasswordData",
];

/// `WRITE` for a value already read.
pub fn is_write(read_only: &Value<'_>) -> bool {
    is_false(read_only)
}

/// `DENIED` for a value already read.
pub fn is_denied(error_code: &str) -> bool {
    error_code.starts_with("AccessDenied") || error_code.ends_with("UnauthorizedOperation")
}

/// Calls that read data rather than configuration: data events (S3 objects, Lambda
/// invocations, DynamoDB items), and the management calls that hand out secrets or keys.
pub fn is_data_access(management_event: &Value<'_>, event_name: &str) -> bool {
    is_false(management_event) || DATA_EVENTS.contains(&event_name)
}

fn is_false(value: &Value<'_>) -> bool {
    match value {
        Value::Bool(b) => !b,
        Value::Str(s) => s.eq_ignore_ascii_case("false"),
        _ => false,
    }
}

/// The canned queries an investigation checks its events against: the audit's (severity
/// low and up), built-in or from `--queries` and `--rules`.
pub fn canned(catalog: &Catalog) -> impl Iterator<Item = &Arc<Query>> {
    (catalog.all().iter()).filter(|q| q.meta.severity >= Severity::Low)
}

/// Two WHERE conditions ANDed, either of them absent.
pub fn both(first: Option<Expr>, second: Option<Expr>) -> Option<Expr> {
    match (first, second) {
        (Some(a), Some(b)) => Some(Expr::And(Box::new(a), Box::new(b))),
        (a, b) => a.or(b),
    }
}

/// `query` with `condition` added to its WHERE, known as `name`.
pub fn narrowed(query: &Query, name: String, condition: &Expr) -> Arc<Query> {
    let mut narrowed = query.clone();
    narrowed.plan.filter = both(narrowed.plan.filter.take(), Some(condition.clone()));
    narrowed.meta = Arc::new(Meta {
        name,
        ..(*query.meta).clone()
    });
    Arc::new(narrowed)
}

/// A glob (`*` any text, `?` one character) as an SQL `LIKE` condition on `expr`.
pub fn glob_like(expr: &str, glob: &str) -> String {
    let mut pattern = String::new();
    for c in glob.chars() {
        match c {
            '*' => pattern.push('%'),
            '?' => pattern.push('_'),
            '%' | '_' | '\\' => {
                pattern.push('\\');
                pattern.push(c);
            }
            '\'' => pattern.push_str("''"),
            c => pattern.push(c),
        }
    }
    format!("{expr} LIKE '{pattern}' ESCAPE '\\'")
}

/// The canned queries that make one row per event (no GROUP BY, no aggregate): those whose
/// findings are about the principal of each event.
pub fn per_event(catalog: &Catalog) -> impl Iterator<Item = &Arc<Query>> {
    canned(catalog).filter(|q| !q.plan.grouped)
}

/// The name a canned query's part of an investigation is known by in its inputs.
pub fn fired_name(query: &str) -> String {
    format!("fired:{query}")
}

/// The canned query of an input called by `fired_name`.
pub fn fired_query(input: &str) -> Option<&str> {
    input.strip_prefix("fired:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_denials_and_data_reads_read_as_in_sql() {
        assert!(is_write(&Value::Bool(false)));
        assert!(is_write(&Value::Str("false".into())));
        assert!(!is_write(&Value::Bool(true)));
        assert!(!is_write(&Value::Null));
        assert!(is_denied("AccessDenied"));
        assert!(is_denied("Client.UnauthorizedOperation"));
        assert!(!is_denied("ThrottlingException"));
        assert!(is_data_access(&Value::Bool(false), "PutItem"));
        assert!(is_data_access(&Value::Bool(true), "GetSecretValue"));
        assert!(!is_data_access(&Value::Bool(true), "ListBuckets"));
        let sql = format!(
            "SELECT {PRINCIPAL}, count(if({WRITE}, 1)), count(if({DENIED}, 1)) FROM cloudtrail_logs GROUP BY {PRINCIPAL}"
        );
        crate::lang::sql::internal("check", &sql);
        let like = glob_like("userIdentity.arn", "arn:*:user/o'ne_il?%");
        assert_eq!(
            like,
            "userIdentity.arn LIKE 'arn:%:user/o''ne\\_il_\\%' ESCAPE '\\'"
        );
        crate::lang::sql::internal(
            "check",
            &format!("SELECT eventID FROM cloudtrail_logs WHERE {like}"),
        );
    }
}
