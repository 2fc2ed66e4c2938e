//! Prefilters: what a plan demands of `eventName` alone or of one field alone, so most events skip most queries.

use super::eval::holds_for_field;
use super::like::LikePattern;
use super::plan::{CmpOp, Expr, Func, Plan};
use crate::record::{FieldPath, Value};

/// A condition on a record's `eventName` (a string) alone.
#[derive(Debug, Clone)]
pub enum NameFilter {
    /// Exactly one of these names.
    Names(foldhash::HashSet<String>),
    Like(LikePattern),
    /// At least one of these holds.
    Any(Vec<NameFilter>),
    /// Every one of these holds.
    All(Vec<NameFilter>),
    /// This holds of the name in lowercase (`lower(eventName) = …`, as Sigma compares).
    Lower(Box<NameFilter>),
}

impl NameFilter {
    pub fn accepts(&self, name: &str) -> bool {
        match self {
            NameFilter::Names(names) => names.contains(name),
            NameFilter::Like(pattern) => pattern.matches(name),
            NameFilter::Any(filters) => filters.iter().any(|f| f.accepts(name)),
            NameFilter::All(filters) => filters.iter().all(|f| f.accepts(name)),
            NameFilter::Lower(filter) => filter.accepts(&name.to_lowercase()),
        }
    }

    /// The names accepted, when the filter is a plain list of them.
    pub fn exact_names(&self) -> Option<&foldhash::HashSet<String>> {
        match self {
            NameFilter::Names(names) => Some(names),
            _ => None,
        }
    }

    /// The lowercase names accepted, when the filter is a list of them in any case.
    pub fn lowered_names(&self) -> Option<&foldhash::HashSet<String>> {
        match self {
            NameFilter::Lower(inner) => inner.exact_names(),
            _ => None,
        }
    }
}

/// A condition on one path that a record must meet to match (see `Plan::field_gate`).
#[derive(Debug, Clone)]
pub struct FieldGate {
    pub path: FieldPath,
    pub condition: Expr,
}

impl Plan {
    /// What the WHERE clause demands of `eventName` alone, when it demands anything: a
    /// record whose name the filter rejects cannot match, whatever its other fields.
    pub fn name_filter(&self) -> Option<NameFilter> {
        fn is_event_name(expr: &Expr) -> bool {
            matches!(expr, Expr::Column(path) if path.segments().len() == 1
                && path.segments()[0].eq_ignore_ascii_case("eventName"))
        }
        fn is_lowered_name(expr: &Expr) -> bool {
            matches!(expr, Expr::Call(Func::Lower, arg) if is_event_name(arg))
        }
        fn filter(expr: &Expr) -> Option<NameFilter> {
            match expr {
                Expr::And(a, b) => match (filter(a), filter(b)) {
                    (Some(a), Some(b)) => Some(NameFilter::All(vec![a, b])),
                    (one, None) | (None, one) => one,
                },
                Expr::Or(a, b) => Some(NameFilter::Any(vec![filter(a)?, filter(b)?])),
                _ => test(expr, is_event_name).or_else(|| {
                    test(expr, is_lowered_name).map(|f| NameFilter::Lower(Box::new(f)))
                }),
            }
        }
        /// A test of what `is_name` accepts: `= 'x'`, `IN (…)`, `LIKE …`.
        fn test(expr: &Expr, is_name: fn(&Expr) -> bool) -> Option<NameFilter> {
            let text = |e: &Expr| match e {
                Expr::Literal(Value::Str(s)) => Some(s.to_string()),
                _ => None,
            };
            match expr {
                Expr::Compare(CmpOp::Eq, a, b) if is_name(a) => {
                    text(b).map(|n| NameFilter::Names([n].into_iter().collect()))
                }
                Expr::Compare(CmpOp::Eq, a, b) if is_name(b) => {
                    text(a).map(|n| NameFilter::Names([n].into_iter().collect()))
                }
                Expr::InList {
                    expr,
                    list,
                    negated: false,
                    ..
                } if is_name(expr) => list
                    .iter()
                    .map(text)
                    .collect::<Option<_>>()
                    .map(NameFilter::Names),
                Expr::Like {
                    expr,
                    pattern,
                    negated: false,
                } if is_name(expr) => Some(NameFilter::Like(pattern.clone())),
                _ => None,
            }
        }
        self.filter.as_ref().and_then(filter)
    }

    /// A condition of the WHERE clause on one path alone that no record without that path
    /// meets: a record whose value there fails it cannot match, whatever its other fields.
    /// For queries that name no event, it spares building the rest of every event that
    /// fails it (root-usage needs `userIdentity.type = 'Root'`).
    pub fn field_gate(&self) -> Option<FieldGate> {
        fn conjuncts<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
            match expr {
                Expr::And(a, b) => {
                    conjuncts(a, out);
                    conjuncts(b, out);
                }
                other => out.push(other),
            }
        }
        let mut all = Vec::new();
        conjuncts(self.filter.as_ref()?, &mut all);
        all.into_iter().find_map(|condition| {
            let mut paths = Vec::new();
            condition.paths(&mut paths);
            let path = *paths.first()?;
            let one_path = paths.iter().all(|p| *p == path);
            (one_path && !holds_for_field(condition, path, Value::Null, false)).then(|| FieldGate {
                path: path.clone(),
                condition: condition.clone(),
            })
        })
    }
}

/// Most queries require one of a few event names: looking the name up once per record and
/// evaluating only the queries that could match spares the rest.
#[derive(Debug, Clone, Default)]
pub struct Dispatch {
    /// Queries that may match whatever the event name.
    pub always: Vec<usize>,
    /// Queries that name the events they want, by name.
    pub by_name: foldhash::HashMap<String, Vec<usize>>,
    /// Queries that name the events they want in any case (Sigma's), by lowercase name.
    pub by_lowered_name: foldhash::HashMap<String, Vec<usize>>,
    /// Queries with another condition on the name alone (`LIKE`, `OR`), tried per record.
    pub by_filter: Vec<(usize, NameFilter)>,
}

impl Dispatch {
    /// The dispatch of queries with these plans, known by their index.
    pub fn new<'p>(plans: impl Iterator<Item = &'p Plan>) -> Dispatch {
        let mut dispatch = Dispatch::default();
        for (i, plan) in plans.enumerate() {
            let add = |map: &mut foldhash::HashMap<String, Vec<usize>>, names| {
                for name in names {
                    let list: &mut Vec<usize> = map.entry(String::clone(name)).or_default();
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                }
            };
            match plan.name_filter() {
                Some(filter) => match (filter.exact_names(), filter.lowered_names()) {
                    (Some(names), _) => add(&mut dispatch.by_name, names),
                    (None, Some(names)) => add(&mut dispatch.by_lowered_name, names),
                    (None, None) => dispatch.by_filter.push((i, filter)),
                },
                None => dispatch.always.push(i),
            }
        }
        dispatch
    }

    /// The queries that can match a record named `name`, beyond `always`.
    pub fn named(&self, name: &str) -> impl Iterator<Item = usize> {
        let exact = self.by_name.get(name).into_iter().flatten().copied();
        // One lowercase copy of the name per record, and only when a query needs it.
        let lowered = match self.by_lowered_name.is_empty() {
            true => None,
            false => self.by_lowered_name.get(&name.to_lowercase()),
        };
        let exact = exact.chain(lowered.into_iter().flatten().copied());
        let filtered = self
            .by_filter
            .iter()
            .filter(move |(_, filter)| filter.accepts(name))
            .map(|(i, _)| *i);
        exact.chain(filtered)
    }

    /// Every query that names some event: what a record with an odd name may match.
    pub fn named_any(&self) -> std::collections::BTreeSet<usize> {
        (self.by_name.values())
            .chain(self.by_lowered_name.values())
            .flatten()
            .copied()
            .chain(self.by_filter.iter().map(|(i, _)| *i))
            .collect()
    }
}
