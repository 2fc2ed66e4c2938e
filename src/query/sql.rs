//! Athena SQL (parsed by sqlparser) compiled into a plan; constructs outside the subset are rejected.

use std::fmt;

use sqlparser::ast::{
    self, BinaryOperator, DuplicateTreatment, FunctionArg, FunctionArgExpr, FunctionArguments,
    GroupByExpr, LimitClause, OrderByKind, SelectItem, SetExpr, Spanned, Statement, TableFactor,
    UnaryOperator,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use super::eval::{LikePattern, holds_for_field};
use crate::record::{FieldPath, OwnedValue, Value};

/// Why a query does not compile, with its position in the SQL text (1-based; 0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.message
            )
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for CompileError {}

fn error_at(node: &impl Spanned, message: impl Into<String>) -> CompileError {
    let start = node.span().start;
    CompileError {
        line: start.line,
        column: start.column,
        message: message.into(),
    }
}

fn unsupported(node: &(impl Spanned + fmt::Display), what: &str) -> CompileError {
    let text = node.to_string();
    let shown = if text.len() > 60 {
        format!("{}…", &text[..text.floor_char_boundary(60)])
    } else {
        text
    };
    error_at(node, format!("{what} is not supported (in `{shown}`)"))
}

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
    DateTrunc(TruncUnit, Box<Expr>),
    GroupKey(usize),
    Aggregate(usize),
}

/// A condition on a record's `eventName` (a string) alone.
#[derive(Debug, Clone)]
pub enum NameFilter {
    /// Exactly one of these names.
    Names(Vec<String>),
    Like(LikePattern),
    /// At least one of these holds.
    Any(Vec<NameFilter>),
    /// Every one of these holds.
    All(Vec<NameFilter>),
}

impl NameFilter {
    pub fn accepts(&self, name: &str) -> bool {
        match self {
            NameFilter::Names(names) => names.iter().any(|n| n == name),
            NameFilter::Like(pattern) => pattern.matches(name),
            NameFilter::Any(filters) => filters.iter().any(|f| f.accepts(name)),
            NameFilter::All(filters) => filters.iter().all(|f| f.accepts(name)),
        }
    }

    /// The names accepted, when the filter is a plain list of them.
    pub fn exact_names(&self) -> Option<&[String]> {
        match self {
            NameFilter::Names(names) => Some(names),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Aggregate {
    CountAll,
    Count(Expr),
    CountDistinct(Expr),
    Min(Expr),
    Max(Expr),
}

#[derive(Debug, Clone)]
pub enum SortTarget {
    Column(usize),
    Expr(Expr),
}

#[derive(Debug, Clone)]
pub struct SortKey {
    pub target: SortTarget,
    pub descending: bool,
    pub nulls_first: bool,
}

/// A condition on one path that a record must meet to match (see `Plan::field_gate`).
#[derive(Debug, Clone)]
pub struct FieldGate {
    pub path: FieldPath,
    pub condition: Expr,
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
    pub order_by: Vec<SortKey>,
    pub limit: Option<usize>,
    pub grouped: bool,
}

/// The columns of Athena's CloudTrail table, in its order: what `SELECT *` returns.
pub const STAR_COLUMNS: &[&str] = &[
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "readOnly",
    "resources",
    "eventType",
    "apiVersion",
    "recipientAccountId",
    "serviceEventDetails",
    "sharedEventID",
    "vpcEndpointId",
    "eventCategory",
    "tlsDetails",
];

pub fn compile(sql: &str) -> Result<Plan, CompileError> {
    let statements = Parser::parse_sql(&GenericDialect {}, sql).map_err(|e| {
        let text = e.to_string();
        let (line, column) = position_in_message(&text);
        let message = text.trim_start_matches("sql parser error: ").to_owned();
        CompileError {
            line,
            column,
            message: format!("SQL syntax: {message}"),
        }
    })?;
    let statement = match statements.as_slice() {
        [one] => one,
        [] => {
            return Err(CompileError {
                line: 0,
                column: 0,
                message: "no SQL statement".into(),
            });
        }
        [_, second, ..] => {
            return Err(error_at(
                second,
                "only one statement per query is supported",
            ));
        }
    };
    let Statement::Query(query) = statement else {
        return Err(error_at(statement, "only SELECT statements are supported"));
    };
    Compiler::default().query(query)
}

/// sqlparser writes positions as "Line: 3, Column: 14" inside its messages.
fn position_in_message(text: &str) -> (u64, u64) {
    let number_after = |label: &str| -> Option<u64> {
        let rest = &text[text.find(label)? + label.len()..];
        let digits: String = rest
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    (
        number_after("Line:").unwrap_or(0),
        number_after("Column:").unwrap_or(0),
    )
}

#[derive(Default)]
struct Compiler {
    /// Names a column path may start with that refer to the table itself (`t.eventName`).
    table_names: Vec<String>,
    group_by_text: Vec<String>,
    aggregates: Vec<Aggregate>,
    aggregate_text: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Evaluated on one record: WHERE, GROUP BY keys, aggregate arguments, ungrouped SELECT.
    Record,
    /// Evaluated on one group: SELECT, HAVING and ORDER BY of a grouped query.
    Group,
}

impl Compiler {
    fn query(mut self, query: &ast::Query) -> Result<Plan, CompileError> {
        if let Some(with) = &query.with {
            return Err(unsupported(with, "WITH"));
        }
        if let Some(fetch) = &query.fetch {
            return Err(unsupported(fetch, "FETCH"));
        }
        if !query.locks.is_empty() || query.for_clause.is_some() || query.settings.is_some() {
            return Err(error_at(
                query,
                "locking, FOR and SETTINGS clauses are not supported",
            ));
        }
        if query.format_clause.is_some() || !query.pipe_operators.is_empty() {
            return Err(error_at(
                query,
                "FORMAT and pipe operators are not supported",
            ));
        }
        let select = match query.body.as_ref() {
            SetExpr::Select(select) => select,
            other => return Err(unsupported(other, "a set operation or subquery")),
        };
        self.check_select_shape(select)?;

        let group_exprs: Vec<&ast::Expr> = match &select.group_by {
            GroupByExpr::Expressions(exprs, modifiers) if modifiers.is_empty() => {
                exprs.iter().collect()
            }
            other => return Err(unsupported(other, "GROUP BY ALL and GROUP BY modifiers")),
        };
        let has_aggregate = select.projection.iter().any(item_has_aggregate)
            || select.having.is_some()
            || order_by_exprs(query)
                .iter()
                .any(|o| expr_has_aggregate(&o.expr));
        let grouped = !group_exprs.is_empty() || has_aggregate;

        let (columns, select_exprs) = self.projection_items(select)?;

        // GROUP BY may name an output column by position or alias, as Athena allows.
        let mut group_by = Vec::new();
        for expr in &group_exprs {
            let resolved = resolve_output_reference(expr, &columns, &select_exprs)?.unwrap_or(expr);
            group_by.push(self.expr(resolved, Scope::Record)?);
            self.group_by_text.push(normalized(resolved));
        }

        let filter = match &select.selection {
            Some(expr) => {
                if expr_has_aggregate(expr) {
                    return Err(error_at(
                        expr,
                        "aggregates are not allowed in WHERE (use HAVING)",
                    ));
                }
                Some(self.expr(expr, Scope::Record)?)
            }
            None => None,
        };

        let scope = if grouped { Scope::Group } else { Scope::Record };
        let projections = select_exprs
            .iter()
            .map(|e| self.expr(e, scope))
            .collect::<Result<Vec<_>, _>>()?;
        let having = match &select.having {
            Some(expr) => Some(self.expr(expr, Scope::Group)?),
            None => None,
        };
        let order_by = self.order_by(query, &columns, &select_exprs, scope)?;
        let limit = limit(query)?;

        Ok(Plan {
            columns,
            projections,
            filter,
            group_by,
            aggregates: self.aggregates,
            having,
            order_by,
            limit,
            grouped,
        })
    }

    fn check_select_shape(&mut self, select: &ast::Select) -> Result<(), CompileError> {
        if select.distinct.is_some() {
            return Err(error_at(
                select,
                "SELECT DISTINCT is not supported (use GROUP BY)",
            ));
        }
        if select.top.is_some() {
            return Err(error_at(select, "TOP is not supported (use LIMIT)"));
        }
        if let Some(into) = &select.into {
            return Err(unsupported(into, "SELECT INTO"));
        }
        let extra_clauses = !select.lateral_views.is_empty()
            || select.prewhere.is_some()
            || !select.connect_by.is_empty()
            || !select.cluster_by.is_empty()
            || !select.distribute_by.is_empty()
            || !select.sort_by.is_empty()
            || !select.named_window.is_empty()
            || select.qualify.is_some()
            || select.exclude.is_some();
        if extra_clauses {
            return Err(error_at(
                select,
                "LATERAL VIEW, WINDOW, QUALIFY and similar clauses are not supported",
            ));
        }
        let [table] = select.from.as_slice() else {
            return Err(error_at(
                select,
                "exactly one table is expected in FROM (cloudtrail_logs)",
            ));
        };
        if let Some(join) = table.joins.first() {
            return Err(unsupported(&join.relation, "JOIN"));
        }
        match &table.relation {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => {
                if let Some(last) = name.0.last() {
                    self.table_names
                        .push(last.to_string().trim_matches('"').to_lowercase());
                }
                if let Some(alias) = alias {
                    self.table_names.push(alias.name.value.to_lowercase());
                }
                Ok(())
            }
            other => Err(unsupported(other, "a subquery or table function in FROM")),
        }
    }

    /// Output column names and the expressions behind them, with `*` expanded.
    fn projection_items(
        &self,
        select: &ast::Select,
    ) -> Result<(Vec<String>, Vec<ast::Expr>), CompileError> {
        let mut columns = Vec::new();
        let mut exprs = Vec::new();
        for item in &select.projection {
            match item {
                SelectItem::UnnamedExpr(expr) => {
                    columns.push(default_column_name(expr));
                    exprs.push(expr.clone());
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    columns.push(alias.value.clone());
                    exprs.push(expr.clone());
                }
                SelectItem::Wildcard(options) => {
                    if options.opt_exclude.is_some()
                        || options.opt_except.is_some()
                        || options.opt_replace.is_some()
                        || options.opt_rename.is_some()
                        || options.opt_ilike.is_some()
                    {
                        return Err(unsupported(item, "a `*` modifier"));
                    }
                    for name in STAR_COLUMNS {
                        columns.push((*name).to_owned());
                        exprs.push(ast::Expr::Identifier(ast::Ident::new(*name)));
                    }
                }
                other => return Err(unsupported(other, "this select item")),
            }
        }
        Ok((columns, exprs))
    }

    fn order_by(
        &mut self,
        query: &ast::Query,
        columns: &[String],
        select_exprs: &[ast::Expr],
        scope: Scope,
    ) -> Result<Vec<SortKey>, CompileError> {
        if let Some(order_by) = &query.order_by {
            if let OrderByKind::All(_) = order_by.kind {
                return Err(unsupported(order_by, "ORDER BY ALL"));
            }
            if order_by.interpolate.is_some() {
                return Err(unsupported(order_by, "INTERPOLATE"));
            }
        }
        let mut keys = Vec::new();
        for item in order_by_exprs(query) {
            if let Some(fill) = &item.with_fill {
                return Err(unsupported(fill, "WITH FILL"));
            }
            let descending = match &item.options.sort {
                None | Some(ast::OrderBySort::Asc) => false,
                Some(ast::OrderBySort::Desc) => true,
                Some(ast::OrderBySort::Using(_)) => {
                    return Err(error_at(&item.expr, "ORDER BY … USING is not supported"));
                }
            };
            // Athena (Trino) puts NULLs last whatever the direction, unless told otherwise.
            let nulls_first = item.options.nulls_first.unwrap_or(false);
            let target = match output_column_index(&item.expr, columns, select_exprs)? {
                Some(index) => SortTarget::Column(index),
                None => SortTarget::Expr(self.expr(&item.expr, scope)?),
            };
            keys.push(SortKey {
                target,
                descending,
                nulls_first,
            });
        }
        Ok(keys)
    }

    fn expr(&mut self, expr: &ast::Expr, scope: Scope) -> Result<Expr, CompileError> {
        use ast::Expr as E;
        if scope == Scope::Group {
            let text = normalized(expr);
            if let Some(index) = self.group_by_text.iter().position(|g| *g == text) {
                return Ok(Expr::GroupKey(index));
            }
        }
        Ok(match expr {
            E::Identifier(_) | E::CompoundIdentifier(_) => {
                if scope == Scope::Group {
                    return Err(error_at(
                        expr,
                        format!(
                            "column `{expr}` must appear in GROUP BY or be used in an aggregate"
                        ),
                    ));
                }
                Expr::Column(self.column_path(expr))
            }
            E::Value(value) => Expr::Literal(literal(value)?),
            E::Nested(inner) => self.expr(inner, scope)?,
            E::UnaryOp { op, expr: inner } => {
                let operand = Box::new(self.expr(inner, scope)?);
                match op {
                    UnaryOperator::Not => Expr::Not(operand),
                    UnaryOperator::Minus => Expr::Negate(operand),
                    UnaryOperator::Plus => *operand,
                    other => {
                        return Err(error_at(
                            expr,
                            format!("unary operator {other} is not supported"),
                        ));
                    }
                }
            }
            E::BinaryOp { left, op, right } => {
                let l = Box::new(self.expr(left, scope)?);
                let r = Box::new(self.expr(right, scope)?);
                match op {
                    BinaryOperator::And => Expr::And(l, r),
                    BinaryOperator::Or => Expr::Or(l, r),
                    BinaryOperator::Eq => Expr::Compare(CmpOp::Eq, l, r),
                    BinaryOperator::NotEq => Expr::Compare(CmpOp::NotEq, l, r),
                    BinaryOperator::Lt => Expr::Compare(CmpOp::Lt, l, r),
                    BinaryOperator::LtEq => Expr::Compare(CmpOp::LtEq, l, r),
                    BinaryOperator::Gt => Expr::Compare(CmpOp::Gt, l, r),
                    BinaryOperator::GtEq => Expr::Compare(CmpOp::GtEq, l, r),
                    BinaryOperator::Plus => Expr::Arith(ArithOp::Add, l, r),
                    BinaryOperator::Minus => Expr::Arith(ArithOp::Sub, l, r),
                    BinaryOperator::Multiply => Expr::Arith(ArithOp::Mul, l, r),
                    BinaryOperator::Divide => Expr::Arith(ArithOp::Div, l, r),
                    BinaryOperator::Modulo => Expr::Arith(ArithOp::Rem, l, r),
                    other => {
                        return Err(error_at(expr, format!("operator {other} is not supported")));
                    }
                }
            }
            E::IsNull(inner) => Expr::IsNull {
                expr: Box::new(self.expr(inner, scope)?),
                negated: false,
            },
            E::IsNotNull(inner) => Expr::IsNull {
                expr: Box::new(self.expr(inner, scope)?),
                negated: true,
            },
            E::InList {
                expr: inner,
                list,
                negated,
            } => Expr::InList {
                expr: Box::new(self.expr(inner, scope)?),
                list: list
                    .iter()
                    .map(|e| self.expr(e, scope))
                    .collect::<Result<_, _>>()?,
                negated: *negated,
            },
            E::Between {
                expr: inner,
                negated,
                low,
                high,
            } => {
                let value = self.expr(inner, scope)?;
                let within = Expr::And(
                    Box::new(Expr::Compare(
                        CmpOp::GtEq,
                        Box::new(value.clone()),
                        Box::new(self.expr(low, scope)?),
                    )),
                    Box::new(Expr::Compare(
                        CmpOp::LtEq,
                        Box::new(value),
                        Box::new(self.expr(high, scope)?),
                    )),
                );
                if *negated {
                    Expr::Not(Box::new(within))
                } else {
                    within
                }
            }
            E::Like {
                negated,
                any,
                expr: inner,
                pattern,
                escape_char,
            } => {
                if *any {
                    return Err(unsupported(expr, "LIKE ANY"));
                }
                let escape = match escape_char.as_deref() {
                    None => None,
                    Some(e) => Some(single_char(e)?),
                };
                let pattern_text =
                    string_literal(pattern, "a LIKE pattern must be a string literal")?;
                let pattern = LikePattern::compile(&pattern_text, escape)
                    .map_err(|message| error_at(pattern.as_ref(), message))?;
                Expr::Like {
                    expr: Box::new(self.expr(inner, scope)?),
                    pattern,
                    negated: *negated,
                }
            }
            E::Function(function) => self.function(expr, function, scope)?,
            E::Floor {
                expr: inner,
                field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime),
            } => Expr::Call(Func::Floor, Box::new(self.expr(inner, scope)?)),
            other => return Err(unsupported(other, construct_name(other))),
        })
    }

    fn function(
        &mut self,
        whole: &ast::Expr,
        function: &ast::Function,
        scope: Scope,
    ) -> Result<Expr, CompileError> {
        let name = function.name.to_string().to_lowercase();
        if function.filter.is_some() || function.over.is_some() || !function.within_group.is_empty()
        {
            return Err(unsupported(whole, "FILTER, OVER and WITHIN GROUP"));
        }
        let FunctionArguments::List(list) = &function.args else {
            return Err(error_at(whole, format!("{name} needs an argument list")));
        };
        if !list.clauses.is_empty() {
            return Err(unsupported(whole, "clauses inside a function call"));
        }
        let distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
        if is_aggregate_name(&name) {
            return self.aggregate(whole, &name, list, distinct, scope);
        }
        if distinct {
            return Err(error_at(
                whole,
                format!("DISTINCT is only allowed in count(), not in {name}()"),
            ));
        }
        let args = plain_args(whole, &list.args)?;
        let arity = |n: usize| -> Result<(), CompileError> {
            if args.len() == n {
                Ok(())
            } else {
                Err(error_at(
                    whole,
                    format!("{name}() takes {n} argument(s), got {}", args.len()),
                ))
            }
        };
        let unary = |f: Func, this: &mut Self| -> Result<Expr, CompileError> {
            arity(1)?;
            Ok(Expr::Call(f, Box::new(this.expr(args[0], scope)?)))
        };
        match name.as_str() {
            "lower" => unary(Func::Lower, self),
            "upper" => unary(Func::Upper, self),
            "from_iso8601_timestamp" => unary(Func::FromIso8601Timestamp, self),
            "to_unixtime" => unary(Func::ToUnixtime, self),
            "from_unixtime" => unary(Func::FromUnixtime, self),
            "json_extract_scalar" => {
                arity(2)?;
                let path_text = string_literal(args[1], "the JSON path must be a string literal")?;
                let path = parse_json_path(&path_text).map_err(|m| error_at(args[1], m))?;
                let base = self.expr(args[0], scope)?;
                Ok(match base {
                    Expr::Column(column) => {
                        let mut segments = column.segments().to_vec();
                        segments.extend(path);
                        Expr::JsonScalarPath(FieldPath::new(segments))
                    }
                    other => Expr::JsonScalar(Box::new(other), path),
                })
            }
            "date_trunc" => {
                arity(2)?;
                let unit_text =
                    string_literal(args[0], "date_trunc's unit must be a string literal")?;
                let unit = match unit_text.to_lowercase().as_str() {
                    "minute" => TruncUnit::Minute,
                    "hour" => TruncUnit::Hour,
                    "day" => TruncUnit::Day,
                    other => {
                        return Err(error_at(
                            args[0],
                            format!(
                                "date_trunc unit '{other}' is not supported (minute, hour, day)"
                            ),
                        ));
                    }
                };
                Ok(Expr::DateTrunc(unit, Box::new(self.expr(args[1], scope)?)))
            }
            _ => Err(error_at(
                whole,
                format!("function {name}() is not supported"),
            )),
        }
    }

    fn aggregate(
        &mut self,
        whole: &ast::Expr,
        name: &str,
        list: &ast::FunctionArgumentList,
        distinct: bool,
        scope: Scope,
    ) -> Result<Expr, CompileError> {
        if scope == Scope::Record {
            return Err(error_at(whole, format!("{name}() is not allowed here")));
        }
        let text = normalized(whole);
        if let Some(index) = self.aggregate_text.iter().position(|t| *t == text) {
            return Ok(Expr::Aggregate(index));
        }
        let aggregate = match (name, list.args.as_slice()) {
            ("count", [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)]) if !distinct => {
                Aggregate::CountAll
            }
            (_, [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))]) => {
                if expr_has_aggregate(arg) {
                    return Err(error_at(arg, "aggregates cannot be nested"));
                }
                let arg = self.expr(arg, Scope::Record)?;
                match (name, distinct) {
                    ("count", false) => Aggregate::Count(arg),
                    ("count", true) => Aggregate::CountDistinct(arg),
                    ("min", false) => Aggregate::Min(arg),
                    ("max", false) => Aggregate::Max(arg),
                    _ => {
                        return Err(error_at(
                            whole,
                            format!("{name}(DISTINCT …) is not supported"),
                        ));
                    }
                }
            }
            _ => return Err(error_at(whole, format!("{name}() takes one argument"))),
        };
        self.aggregates.push(aggregate);
        self.aggregate_text.push(text);
        Ok(Expr::Aggregate(self.aggregates.len() - 1))
    }

    /// The column path, without a leading table name or alias.
    fn column_path(&self, expr: &ast::Expr) -> FieldPath {
        let idents: Vec<&ast::Ident> = match expr {
            ast::Expr::Identifier(ident) => vec![ident],
            ast::Expr::CompoundIdentifier(idents) => idents.iter().collect(),
            _ => Vec::new(),
        };
        let mut segments: Vec<String> = idents.iter().map(|i| i.value.clone()).collect();
        if segments.len() > 1 && self.table_names.contains(&segments[0].to_lowercase()) {
            segments.remove(0);
        }
        FieldPath::new(segments)
    }
}

fn order_by_exprs(query: &ast::Query) -> &[ast::OrderByExpr] {
    match &query.order_by {
        Some(ast::OrderBy {
            kind: OrderByKind::Expressions(exprs),
            ..
        }) => exprs,
        _ => &[],
    }
}

fn limit(query: &ast::Query) -> Result<Option<usize>, CompileError> {
    match &query.limit_clause {
        None => Ok(None),
        Some(LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        }) => {
            if let Some(offset) = offset {
                return Err(unsupported(offset, "OFFSET"));
            }
            if let Some(first) = limit_by.first() {
                return Err(unsupported(first, "LIMIT BY"));
            }
            match limit {
                None => Ok(None),
                Some(expr) => match expr {
                    ast::Expr::Value(v) => match &v.value {
                        ast::Value::Number(n, _) => n
                            .parse::<usize>()
                            .map(Some)
                            .map_err(|_| error_at(expr, "LIMIT takes a whole number")),
                        _ => Err(error_at(expr, "LIMIT takes a whole number")),
                    },
                    _ => Err(error_at(expr, "LIMIT takes a whole number")),
                },
            }
        }
        Some(other @ LimitClause::OffsetCommaLimit { .. }) => {
            Err(unsupported(other, "LIMIT offset, count"))
        }
    }
}

/// `ORDER BY 2`, or `ORDER BY n` where `n` is an alias, names an output column.
fn output_column_index(
    expr: &ast::Expr,
    columns: &[String],
    select_exprs: &[ast::Expr],
) -> Result<Option<usize>, CompileError> {
    if let ast::Expr::Value(v) = expr
        && let ast::Value::Number(n, _) = &v.value
    {
        return match n.parse::<usize>() {
            Ok(i) if (1..=columns.len()).contains(&i) => Ok(Some(i - 1)),
            _ => Err(error_at(
                expr,
                format!(
                    "position {n} is not an output column (1..{})",
                    columns.len()
                ),
            )),
        };
    }
    if let ast::Expr::Identifier(ident) = expr
        && let Some(i) = columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(&ident.value))
    {
        return Ok(Some(i));
    }
    let text = normalized(expr);
    Ok(select_exprs.iter().position(|e| normalized(e) == text))
}

/// GROUP BY 1 or GROUP BY alias resolves to the select expression it names.
fn resolve_output_reference<'e>(
    expr: &ast::Expr,
    columns: &[String],
    select_exprs: &'e [ast::Expr],
) -> Result<Option<&'e ast::Expr>, CompileError> {
    let is_position =
        matches!(expr, ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)));
    let is_alias = matches!(expr, ast::Expr::Identifier(ident)
        if columns.iter().zip(select_exprs).any(|(c, e)| c.eq_ignore_ascii_case(&ident.value)
            && normalized(e) != normalized(expr)));
    if !(is_position || is_alias) {
        return Ok(None);
    }
    Ok(output_column_index(expr, columns, select_exprs)?.map(|i| &select_exprs[i]))
}

fn normalized(expr: &ast::Expr) -> String {
    expr.to_string().to_lowercase().replace('"', "")
}

fn default_column_name(expr: &ast::Expr) -> String {
    match expr {
        ast::Expr::Identifier(ident) => ident.value.clone(),
        ast::Expr::CompoundIdentifier(idents) => idents
            .iter()
            .map(|i| i.value.as_str())
            .collect::<Vec<_>>()
            .join("."),
        other => other.to_string(),
    }
}

fn is_aggregate_name(name: &str) -> bool {
    matches!(name, "count" | "min" | "max")
}

fn item_has_aggregate(item: &SelectItem) -> bool {
    match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            expr_has_aggregate(e)
        }
        _ => false,
    }
}

fn expr_has_aggregate(expr: &ast::Expr) -> bool {
    use ast::Expr as E;
    match expr {
        E::Function(f) => {
            is_aggregate_name(&f.name.to_string().to_lowercase())
                || match &f.args {
                    FunctionArguments::List(list) => list.args.iter().any(|a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => expr_has_aggregate(e),
                        _ => false,
                    }),
                    _ => false,
                }
        }
        E::Nested(e) | E::UnaryOp { expr: e, .. } | E::IsNull(e) | E::IsNotNull(e) => {
            expr_has_aggregate(e)
        }
        E::BinaryOp { left, right, .. } => expr_has_aggregate(left) || expr_has_aggregate(right),
        E::InList { expr, list, .. } => {
            expr_has_aggregate(expr) || list.iter().any(expr_has_aggregate)
        }
        E::Between {
            expr, low, high, ..
        } => expr_has_aggregate(expr) || expr_has_aggregate(low) || expr_has_aggregate(high),
        E::Like { expr, .. } | E::Floor { expr, .. } => expr_has_aggregate(expr),
        _ => false,
    }
}

fn plain_args<'a>(
    whole: &ast::Expr,
    args: &'a [FunctionArg],
) -> Result<Vec<&'a ast::Expr>, CompileError> {
    args.iter()
        .map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e),
            _ => Err(unsupported(whole, "named or wildcard function arguments")),
        })
        .collect()
}

fn literal(value: &ast::ValueWithSpan) -> Result<OwnedValue, CompileError> {
    Ok(match &value.value {
        ast::Value::Number(n, _) => match n.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(
                n.parse()
                    .map_err(|_| error_at(value, format!("bad number {n}")))?,
            ),
        },
        ast::Value::SingleQuotedString(s) => Value::Str(s.clone().into()),
        ast::Value::Boolean(b) => Value::Bool(*b),
        ast::Value::Null => Value::Null,
        other => return Err(error_at(value, format!("literal {other} is not supported"))),
    })
}

fn string_literal(expr: &ast::Expr, message: &str) -> Result<String, CompileError> {
    match expr {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => Ok(s.clone()),
            _ => Err(error_at(expr, message)),
        },
        _ => Err(error_at(expr, message)),
    }
}

fn single_char(expr: &ast::Expr) -> Result<char, CompileError> {
    let text = string_literal(expr, "ESCAPE takes a one-character string")?;
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(error_at(expr, "ESCAPE takes a one-character string")),
    }
}

/// The JSONPath subset Athena users write: `$.a.b`, `$.a[0]`, `$["a b"]`.
fn parse_json_path(path: &str) -> Result<Vec<String>, String> {
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| format!("JSON path '{path}' must start with $"))?;
    let mut segments = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut key = String::new();
                while let Some(&next) = chars.peek() {
                    if next == '.' || next == '[' {
                        break;
                    }
                    key.push(next);
                    chars.next();
                }
                if key.is_empty() {
                    return Err(format!("JSON path '{path}' has an empty key"));
                }
                segments.push(key);
            }
            '[' => {
                let mut inner = String::new();
                for next in chars.by_ref() {
                    if next == ']' {
                        break;
                    }
                    inner.push(next);
                }
                let key = inner.trim().trim_matches(|q| q == '"' || q == '\'');
                if key.is_empty() {
                    return Err(format!("JSON path '{path}' has an empty subscript"));
                }
                segments.push(key.to_owned());
            }
            _ => return Err(format!("JSON path '{path}' is not of the form $.a.b")),
        }
    }
    Ok(segments)
}

fn construct_name(expr: &ast::Expr) -> &'static str {
    use ast::Expr as E;
    match expr {
        E::Case { .. } => "CASE",
        E::Cast { .. } => "CAST",
        E::Subquery(_) | E::Exists { .. } | E::InSubquery { .. } => "a subquery",
        E::ILike { .. } => "ILIKE",
        E::SimilarTo { .. } | E::RLike { .. } => "regular expression matching",
        E::Interval(_) => "INTERVAL",
        E::TypedString { .. } => "a typed literal",
        E::Array(_) => "an array literal",
        E::Tuple(_) => "a tuple",
        E::IsTrue(_) | E::IsFalse(_) | E::IsNotTrue(_) | E::IsNotFalse(_) => "IS TRUE/FALSE",
        E::IsDistinctFrom(..) | E::IsNotDistinctFrom(..) => "IS DISTINCT FROM",
        E::Extract { .. } => "EXTRACT",
        E::Wildcard(_) | E::QualifiedWildcard(..) => "`*` in an expression",
        _ => "this expression",
    }
}

impl Expr {
    /// Every column path the expression reads, into `out`.
    fn paths<'e>(&'e self, out: &mut Vec<&'e FieldPath>) {
        match self {
            Expr::Column(path) | Expr::JsonScalarPath(path) => out.push(path),
            Expr::Literal(_) | Expr::GroupKey(_) | Expr::Aggregate(_) => {}
            Expr::Compare(_, a, b) | Expr::Arith(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                a.paths(out);
                b.paths(out);
            }
            Expr::Negate(e)
            | Expr::Not(e)
            | Expr::Call(_, e)
            | Expr::JsonScalar(e, _)
            | Expr::DateTrunc(_, e) => e.paths(out),
            Expr::Like { expr, .. } | Expr::IsNull { expr, .. } => expr.paths(out),
            Expr::InList { expr, list, .. } => {
                expr.paths(out);
                list.iter().for_each(|e| e.paths(out));
            }
        }
    }
}

impl Plan {
    /// What the WHERE clause demands of `eventName` alone, when it demands anything: a
    /// record whose name the filter rejects cannot match, whatever its other fields.
    pub fn name_filter(&self) -> Option<NameFilter> {
        fn is_event_name(expr: &Expr) -> bool {
            matches!(expr, Expr::Column(path) if path.segments().len() == 1
                && path.segments()[0].eq_ignore_ascii_case("eventName"))
        }
        fn filter(expr: &Expr) -> Option<NameFilter> {
            let text = |e: &Expr| match e {
                Expr::Literal(Value::Str(s)) => Some(s.to_string()),
                _ => None,
            };
            match expr {
                Expr::And(a, b) => match (filter(a), filter(b)) {
                    (Some(a), Some(b)) => Some(NameFilter::All(vec![a, b])),
                    (one, None) | (None, one) => one,
                },
                Expr::Or(a, b) => Some(NameFilter::Any(vec![filter(a)?, filter(b)?])),
                Expr::Compare(CmpOp::Eq, a, b) if is_event_name(a) => {
                    text(b).map(|n| NameFilter::Names(vec![n]))
                }
                Expr::Compare(CmpOp::Eq, a, b) if is_event_name(b) => {
                    text(a).map(|n| NameFilter::Names(vec![n]))
                }
                Expr::InList {
                    expr,
                    list,
                    negated: false,
                } if is_event_name(expr) => list
                    .iter()
                    .map(text)
                    .collect::<Option<_>>()
                    .map(NameFilter::Names),
                Expr::Like {
                    expr,
                    pattern,
                    negated: false,
                } if is_event_name(expr) => Some(NameFilter::Like(pattern.clone())),
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

    /// The column paths the plan reads from records: what a projection must keep.
    pub fn paths(&self) -> Vec<&FieldPath> {
        let mut out = Vec::new();
        for expr in self
            .projections
            .iter()
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
        for key in &self.order_by {
            if let SortTarget::Expr(e) = &key.target {
                e.paths(&mut out);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(sql: &str) -> CompileError {
        compile(sql).expect_err("should not compile")
    }

    #[test]
    fn compiles_the_supported_subset() {
        let plan = compile(
            "SELECT useridentity.arn AS who, count(*) AS n, count(DISTINCT sourceIPAddress), \
             min(eventTime), max(eventTime) FROM cloudtrail_logs \
             WHERE eventName LIKE '%Policy%' AND NOT (errorCode IS NULL) AND readOnly = false \
             AND eventSource IN ('iam.amazonaws.com', 'sts.amazonaws.com') \
             AND lower(userAgent) <> 'x' AND json_extract_scalar(requestParameters, '$.a.b') = 'c' \
             GROUP BY useridentity.arn HAVING count(*) >= 5 ORDER BY n DESC, 1 LIMIT 10",
        )
        .unwrap();
        assert_eq!(
            plan.columns,
            [
                "who",
                "n",
                "count(DISTINCT sourceIPAddress)",
                "min(eventTime)",
                "max(eventTime)"
            ]
        );
        assert!(plan.grouped);
        assert_eq!(plan.aggregates.len(), 4);
        assert_eq!(plan.limit, Some(10));
        assert!(matches!(plan.projections[0], Expr::GroupKey(0)));
        assert!(matches!(plan.projections[1], Expr::Aggregate(0)));
    }

    #[test]
    fn star_expands_to_athena_columns() {
        let plan = compile("SELECT * FROM cloudtrail_logs").unwrap();
        assert_eq!(plan.columns.len(), STAR_COLUMNS.len());
        assert_eq!(plan.columns[2], "eventTime");
    }

    #[test]
    fn table_alias_prefix_is_stripped() {
        let plan = compile("SELECT t.eventName FROM cloudtrail_logs t").unwrap();
        assert!(matches!(&plan.projections[0], Expr::Column(p) if p.segments() == ["eventName"]));
    }

    #[test]
    fn rejected_constructs_name_themselves_and_their_position() {
        let cases = [
            (
                "SELECT eventName FROM cloudtrail_logs a JOIN other b ON a.x = b.x",
                "JOIN",
                1,
            ),
            (
                "SELECT eventName\nFROM cloudtrail_logs\nWHERE CAST(x AS int) = 1",
                "CAST",
                3,
            ),
            (
                "SELECT sum(x) FROM cloudtrail_logs",
                "function sum() is not supported",
                1,
            ),
            (
                "SELECT eventName FROM cloudtrail_logs WHERE eventName ILIKE 'a%'",
                "ILIKE",
                1,
            ),
            (
                "SELECT eventName FROM (SELECT * FROM cloudtrail_logs)",
                "subquery",
                1,
            ),
            (
                "SELECT eventName, count(*) FROM cloudtrail_logs",
                "must appear in GROUP BY",
                1,
            ),
            (
                "SELECT eventName FROM cloudtrail_logs WHERE count(*) > 1",
                "not allowed in WHERE",
                1,
            ),
            (
                "SELECT eventName FROM cloudtrail_logs LIMIT 5 OFFSET 2",
                "OFFSET",
                1,
            ),
            (
                "SELECT date_trunc('week', eventTime) FROM cloudtrail_logs",
                "unit 'week'",
                1,
            ),
            (
                "SELECT eventName FROM cloudtrail_logs; SELECT 1 FROM t",
                "one statement",
                1,
            ),
            ("DELETE FROM cloudtrail_logs", "only SELECT", 1),
        ];
        for (sql, needle, line) in cases {
            let e = error(sql);
            assert!(e.message.contains(needle), "{sql}: {e}");
            assert_eq!(e.line, line, "{sql}: {e}");
            assert!(e.column > 0, "{sql}: {e}");
        }
    }

    #[test]
    fn syntax_errors_carry_their_position() {
        let e = error("SELECT eventName\nFROM cloudtrail_logs WHERE eventName = = 'x'");
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.starts_with("SQL syntax"), "{e}");
    }

    #[test]
    fn name_filters_follow_and_or_and_like_on_the_event_name() {
        let filter = |sql: &str| compile(sql).unwrap().name_filter();
        let base = "SELECT eventName FROM cloudtrail_logs WHERE ";
        let accepts = |sql: &str, names: &[&str]| -> Vec<bool> {
            let f = filter(&format!("{base}{sql}")).expect("a name filter");
            names.iter().map(|n| f.accepts(n)).collect()
        };
        assert_eq!(
            filter(&format!("{base}eventName = 'A' AND x = 1"))
                .unwrap()
                .exact_names(),
            Some(&["A".to_owned()][..])
        );
        assert_eq!(
            accepts("x = 1 AND EVENTNAME IN ('A', 'B')", &["A", "B", "C", "a"]),
            [true, true, false, false]
        );
        assert_eq!(
            accepts(
                "(eventName = 'A' AND x = 1) OR (eventName LIKE '%Role%' AND y = 2)",
                &["A", "CreateRole", "B"]
            ),
            [true, true, false]
        );
        assert_eq!(
            accepts(
                "eventName LIKE 'Put%' AND eventName LIKE '%Policy'",
                &["PutPolicy", "PutX"]
            ),
            [true, false]
        );
        for unconstrained in [
            "eventName = 'A' OR x = 1",
            "eventName NOT IN ('A')",
            "eventName NOT LIKE 'A%'",
            "lower(eventName) = 'a'",
            "eventName IN ('A', 1)",
        ] {
            assert!(
                filter(&format!("{base}{unconstrained}")).is_none(),
                "{unconstrained}"
            );
        }
        assert!(filter("SELECT eventName FROM cloudtrail_logs").is_none());
    }

    #[test]
    fn json_paths() {
        assert_eq!(parse_json_path("$.a.b").unwrap(), ["a", "b"]);
        assert_eq!(
            parse_json_path("$.items[0].id").unwrap(),
            ["items", "0", "id"]
        );
        assert_eq!(parse_json_path("$[\"a b\"]").unwrap(), ["a b"]);
        assert!(parse_json_path("a.b").is_err());
    }

    #[test]
    fn a_field_gate_is_one_condition_on_one_path_that_null_fails() {
        let gate = |sql: &str| {
            compile(sql)
                .unwrap()
                .field_gate()
                .map(|g| g.path.segments().join("."))
        };
        let from = "SELECT eventName FROM cloudtrail_logs";
        assert_eq!(
            gate(&format!(
                "{from} WHERE userIdentity.invokedBy IS NULL AND userIdentity.type = 'Root'"
            )),
            Some("userIdentity.type".into()),
            "the first conjunct is met by a record without the path"
        );
        assert_eq!(
            gate(&format!(
                "{from} WHERE (errorCode LIKE '%Denied' OR errorCode LIKE 'Unauth%') AND x <> 1"
            )),
            Some("errorCode".into())
        );
        assert_eq!(
            gate(&format!(
                "{from} WHERE json_extract_scalar(requestParameters, '$.a') = 'b'"
            )),
            Some("requestParameters.a".into())
        );
        assert_eq!(
            gate(&format!("{from} WHERE a = 1 OR b = 2")),
            None,
            "two paths"
        );
        assert_eq!(gate(&format!("{from} WHERE a = 1 OR a IS NULL")), None);
        assert_eq!(gate(&format!("{from} WHERE NOT (a IS NOT NULL)")), None);
        assert_eq!(gate(&format!("{from} WHERE 1 = 0")), None, "no path");
        assert_eq!(gate(from), None);
    }
}
