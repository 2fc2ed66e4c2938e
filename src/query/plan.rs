//! A compiled query: expressions, filter, grouping, aggregates and order, ready to evaluate.

use std::sync::Arc;

use super::like::LikePattern;
use crate::record::{FieldPath, OwnedValue};
use crate::results::Order;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TruncUnit {
    Minute,
    Hour,
    Day,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Lower,
    Upper,
    Floor,
    FromIso8601Timestamp,
    ToUnixtime,
    FromUnixtime,
    /// `json_format(json)`: JSON text, as `json_extract` gives it.
    JsonFormat,
    /// `json_array_length(json)`: NULL when the value is not a JSON array.
    JsonArrayLength,
}

/// A compiled expression. `GroupKey` and `Aggregate` only appear after GROUP BY.
#[derive(Debug, Clone)]
pub enum Expr {
    Column(FieldPath),
    Literal(OwnedValue),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    Negate(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Like {
        expr: Box<Expr>,
        pattern: LikePattern,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
        /// When every item is a string literal, the items as a set: a text is looked up
        /// once, not compared with each item (an `IN` of 40,000 event names).
        texts: Option<Arc<foldhash::HashSet<String>>>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    Call(Func, Box<Expr>),
    /// `json_extract_scalar(column, '$.a.b')` on a column: one lookup of the joined path.
    JsonScalarPath(FieldPath),
    /// `json_extract_scalar(expr, '$.a.b')` on a computed string.
    JsonScalar(Box<Expr>, Vec<String>),
    /// `json_extract(column, '$.a.b')` on a column: the value there as JSON text.
    JsonPath(FieldPath),
    /// `json_extract(expr, '$.a.b')` on a computed string.
    Json(Box<Expr>, Vec<String>),
    /// `regexp_like(expr, 'pattern')`: the pattern found anywhere in the text.
    Regexp(Box<Expr>, Arc<regex_lite::Regex>),
    /// `a || b`: NULL when either side is.
    Concat(Box<Expr>, Box<Expr>),
    /// `strpos(text, part)`: where `part` first starts in `text`, from 1; 0 when absent.
    Strpos(Box<Expr>, Box<Expr>),
    /// `coalesce(a, b, …)`: the first that is not NULL.
    Coalesce(Vec<Expr>),
    /// Whether the test, which reads only the path, holds of one of the values there,
    /// lists met on the way standing for each of their elements (a Sigma rule's field).
    AnyValue(FieldPath, Box<Expr>),
    /// `if(condition, value)`: the value when the condition is TRUE, else NULL (so that
    /// `count(DISTINCT if(…, 1))` says whether any row of a group met it).
    If(Box<Expr>, Box<Expr>),
    DateTrunc(TruncUnit, Box<Expr>),
    GroupKey(usize),
    Aggregate(usize),
}

#[derive(Debug, Clone)]
pub enum Aggregate {
    CountAll,
    Count(Expr),
    CountDistinct(Expr),
    Min(Expr),
    Max(Expr),
}

/// A query compiled once, evaluated against every record.
#[derive(Debug, Clone)]
pub struct Plan {
    pub columns: Vec<String>,
    pub projections: Vec<Expr>,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub aggregates: Vec<Aggregate>,
    pub having: Option<Expr>,
    /// ORDER BY expressions that are not output columns, in the order `order` names them.
    pub sort_exprs: Vec<Expr>,
    /// ORDER BY and LIMIT.
    pub order: Order,
    pub grouped: bool,
}

impl Expr {
    /// Calls `visit` on this expression and on every expression inside it.
    pub fn walk<'e>(&'e self, visit: &mut impl FnMut(&'e Expr)) {
        visit(self);
        match self {
            Expr::Column(_)
            | Expr::JsonScalarPath(_)
            | Expr::JsonPath(_)
            | Expr::Literal(_)
            | Expr::GroupKey(_)
            | Expr::Aggregate(_) => {}
            Expr::Compare(_, a, b)
            | Expr::Arith(_, a, b)
            | Expr::And(a, b)
            | Expr::Or(a, b)
            | Expr::Concat(a, b)
            | Expr::If(a, b)
            | Expr::Strpos(a, b) => {
                a.walk(visit);
                b.walk(visit);
            }
            Expr::Negate(e)
            | Expr::Not(e)
            | Expr::Call(_, e)
            | Expr::JsonScalar(e, _)
            | Expr::Json(e, _)
            | Expr::Regexp(e, _)
            | Expr::DateTrunc(_, e)
            | Expr::AnyValue(_, e) => e.walk(visit),
            Expr::Like { expr, .. } | Expr::IsNull { expr, .. } => expr.walk(visit),
            Expr::InList { expr, list, .. } => {
                expr.walk(visit);
                list.iter().for_each(|e| e.walk(visit));
            }
            Expr::Coalesce(list) => list.iter().for_each(|e| e.walk(visit)),
        }
    }

    /// Every column path the expression reads, into `out`.
    pub fn paths<'e>(&'e self, out: &mut Vec<&'e FieldPath>) {
        self.walk(&mut |e| match e {
            Expr::Column(path)
            | Expr::JsonScalarPath(path)
            | Expr::JsonPath(path)
            | Expr::AnyValue(path, _) => out.push(path),
            _ => {}
        });
    }

    /// Whether evaluating it may count a failed integer operation (see `eval::failures`).
    pub fn may_fail(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Arith(..) | Expr::Negate(_)));
        found
    }
}

impl Plan {
    /// The column paths the plan reads from records: what a projection must keep.
    pub fn paths(&self) -> Vec<&FieldPath> {
        let mut out = Vec::new();
        for expr in (self.projections.iter())
            .chain(&self.filter)
            .chain(&self.group_by)
            .chain(&self.having)
        {
            expr.paths(&mut out);
        }
        for aggregate in &self.aggregates {
            match aggregate {
                Aggregate::CountAll => {}
                Aggregate::Count(e)
                | Aggregate::CountDistinct(e)
                | Aggregate::Min(e)
                | Aggregate::Max(e) => e.paths(&mut out),
            }
        }
        for expr in &self.sort_exprs {
            expr.paths(&mut out);
        }
        out
    }
}
