//! Sigma correlation rules (event_count, value_count, temporal) as GROUP BY … HAVING plans over fixed windows.
//!
//! A correlation counts, per `group-by` value and per window of `timespan`, the events of
//! the rules it names; windows are fixed (aligned on the epoch), as the canned alarms'
//! 5-minute windows are and as CloudWatch alarm periods are, so a burst that straddles two
//! windows counts in each half. That is the reading Sigma allows targets without sliding
//! windows, and it keeps the correlation within the single pass.

use super::compile::{self, path_of};
use super::detection::Cond;
use super::to_sql;
use crate::query::Plan;
use crate::query::plan::{Aggregate, ArithOp, CmpOp, Expr, Func};
use crate::record::{FieldPath, Value};
use crate::results::{Order, SortBy, SortKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    EventCount,
    ValueCount,
    Temporal,
}

/// A correlation, its referenced rules resolved to their conditions (in its order).
#[derive(Debug, Clone)]
pub struct Correlation {
    pub kind: Kind,
    pub rules: Vec<Cond>,
    pub group_by: Vec<String>,
    pub timespan_seconds: i64,
    /// `value_count`'s field.
    pub field: Option<String>,
    /// The bounds the measure must meet, all of them (`gte: 5`, or `gt: 100` and `lte: 200`).
    pub bounds: Vec<(CmpOp, i64)>,
}

/// The SQL operator of a bound, and its Sigma name.
pub const BOUNDS: &[(&str, CmpOp, &str)] = &[
    ("gt", CmpOp::Gt, ">"),
    ("gte", CmpOp::GtEq, ">="),
    ("lt", CmpOp::Lt, "<"),
    ("lte", CmpOp::LtEq, "<="),
    ("eq", CmpOp::Eq, "="),
];

/// `5m` and the like: seconds (`s`), minutes (`m`), hours (`h`), days (`d`).
pub fn timespan(text: &str) -> Option<i64> {
    let text = text.trim();
    let unit = match text.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    let number: i64 = text[..text.len() - 1].parse().ok()?;
    (number > 0)
        .then(|| number.checked_mul(unit))
        .flatten()
        .filter(|s| *s <= 366 * 86_400)
}

impl Correlation {
    /// The name of the measured column.
    fn measure_name(&self) -> &'static str {
        match self.kind {
            Kind::EventCount => "events",
            Kind::ValueCount => "distinct_values",
            Kind::Temporal => "rules_matched",
        }
    }

    /// The bounds, or for a temporal correlation without them: every rule.
    fn bounds(&self) -> Vec<(CmpOp, i64)> {
        if self.bounds.is_empty() {
            vec![(CmpOp::GtEq, self.rules.len() as i64)]
        } else {
            self.bounds.clone()
        }
    }

    /// The plan: the rules' events, grouped by window and `group_by`, kept when the
    /// measure meets the bounds.
    pub fn plan(&self) -> Result<Plan, String> {
        let column = |path: &str| Expr::Column(FieldPath::parse(path));
        let literal = |n: i64| Box::new(Expr::Literal(Value::Int(n)));
        let seconds = Expr::Call(
            Func::ToUnixtime,
            Box::new(Expr::Call(
                Func::FromIso8601Timestamp,
                Box::new(column("eventTime")),
            )),
        );
        let window = Expr::Call(
            Func::FromUnixtime,
            Box::new(Expr::Arith(
                ArithOp::Mul,
                Box::new(Expr::Call(
                    Func::Floor,
                    Box::new(Expr::Arith(
                        ArithOp::Div,
                        Box::new(seconds),
                        literal(self.timespan_seconds),
                    )),
                )),
                literal(self.timespan_seconds),
            )),
        );
        let mut group_by = vec![window];
        group_by.extend(self.group_by.iter().map(|g| column(g)));

        let conditions: Vec<Expr> = (self.rules.iter())
            .map(|c| compile::expr(c, false))
            .collect::<Result<_, _>>()?;
        let mut aggregates = vec![Aggregate::CountAll];
        let measure = match self.kind {
            Kind::EventCount => Expr::Aggregate(0),
            Kind::ValueCount => {
                let field = self.field.as_deref().unwrap_or_default();
                aggregates.push(Aggregate::CountDistinct(Expr::Column(path_of(
                    &super::detection::Field::Path(field.to_owned()),
                ))));
                Expr::Aggregate(1)
            }
            Kind::Temporal => {
                // Per rule, 1 when one of the group's events meets it, else 0.
                let mut sum: Option<Expr> = None;
                for condition in &conditions {
                    aggregates.push(Aggregate::CountDistinct(Expr::If(
                        Box::new(condition.clone()),
                        literal(1),
                    )));
                    let this = Expr::Aggregate(aggregates.len() - 1);
                    sum = Some(match sum {
                        None => this,
                        Some(sum) => Expr::Arith(ArithOp::Add, Box::new(sum), Box::new(this)),
                    });
                }
                sum.unwrap_or(Expr::Literal(Value::Int(0)))
            }
        };
        let first = aggregates.len();
        aggregates.push(Aggregate::Min(column("eventTime")));
        aggregates.push(Aggregate::Max(column("eventTime")));

        let mut columns = vec!["window_start".to_owned()];
        columns.extend(self.group_by.iter().cloned());
        let mut projections: Vec<Expr> = (0..group_by.len()).map(Expr::GroupKey).collect();
        columns.push(self.measure_name().to_owned());
        projections.push(measure.clone());
        if self.kind != Kind::EventCount {
            columns.push("events".to_owned());
            projections.push(Expr::Aggregate(0));
        }
        columns.extend(["first_seen".to_owned(), "last_seen".to_owned()]);
        projections.extend([Expr::Aggregate(first), Expr::Aggregate(first + 1)]);

        let having = (self.bounds().into_iter())
            .map(|(op, n)| Expr::Compare(op, Box::new(measure.clone()), literal(n)))
            .reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
        let filter = conditions
            .into_iter()
            .reduce(|a, b| Expr::Or(Box::new(a), Box::new(b)));
        Ok(Plan {
            columns,
            projections,
            filter,
            group_by,
            aggregates,
            having,
            sort_exprs: Vec::new(),
            order: Order {
                keys: (0..=self.group_by.len())
                    .map(|i| SortKey {
                        by: SortBy::Column(i),
                        descending: false,
                        nulls_first: false,
                    })
                    .collect(),
                limit: None,
                extra: 0,
            },
            grouped: true,
        })
    }

    /// The same as Athena SQL.
    pub fn sql(&self) -> Result<String, String> {
        let n = self.timespan_seconds;
        let window = format!(
            "from_unixtime(floor(to_unixtime(from_iso8601_timestamp(eventTime)) / {n}) * {n})"
        );
        let mut keys = vec![window.clone()];
        let mut select = vec![format!("{window} AS window_start")];
        for field in &self.group_by {
            let sql = to_sql::scalar(field)?;
            keys.push(sql.clone());
            select.push(to_sql::aliased(sql, field));
        }
        let conditions: Vec<String> = (self.rules.iter())
            .map(to_sql::predicate_alone)
            .collect::<Result<_, _>>()?;
        let measure = match self.kind {
            Kind::EventCount => "count(*)".to_owned(),
            Kind::ValueCount => format!(
                "count(DISTINCT {})",
                to_sql::scalar(self.field.as_deref().unwrap_or_default())?
            ),
            Kind::Temporal => (conditions.iter())
                .map(|c| format!("count(DISTINCT if({c}, 1))"))
                .collect::<Vec<_>>()
                .join(" + "),
        };
        select.push(format!("{measure} AS {}", self.measure_name()));
        if self.kind != Kind::EventCount {
            select.push("count(*) AS events".to_owned());
        }
        select.push("min(eventTime) AS first_seen".to_owned());
        select.push("max(eventTime) AS last_seen".to_owned());
        let having: Vec<String> = (self.bounds().into_iter())
            .map(|(op, n)| {
                let sign = BOUNDS
                    .iter()
                    .find(|(_, o, _)| *o == op)
                    .map_or("=", |(_, _, s)| s);
                format!("{measure} {sign} {n}")
            })
            .collect();
        let mut order = vec!["window_start".to_owned()];
        order.extend(self.group_by.iter().map(|f| to_sql::output_name(f)));
        Ok(format!(
            "SELECT {}\nFROM cloudtrail_logs\nWHERE {}\nGROUP BY {}\nHAVING {}\nORDER BY {}",
            select.join(",\n       "),
            conditions
                .iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join("\n   OR "),
            keys.join(", "),
            having.join(" AND "),
            order.join(", ")
        ))
    }
}
