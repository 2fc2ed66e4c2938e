//! SQL expressions compiled into plan expressions: operators, LIKE, IN, functions, aggregates, literals.

use std::sync::Arc;

use sqlparser::ast::{
    self, BinaryOperator, DuplicateTreatment, FunctionArg, FunctionArgExpr, FunctionArguments,
    SelectItem, UnaryOperator,
};

use super::athena;
use super::error::{CompileError, error_at, unsupported};
use crate::query::like::LikePattern;
use crate::query::plan::{Aggregate, ArithOp, CmpOp, Expr, Func, TruncUnit};
use crate::record::{FieldPath, OwnedValue, Value};

#[derive(Default)]
pub(super) struct Compiler {
    /// Names a column path may start with that refer to the table itself (`t.eventName`).
    pub(super) table_names: Vec<String>,
    pub(super) group_by_text: Vec<String>,
    pub(super) aggregates: Vec<Aggregate>,
    pub(super) aggregate_text: Vec<String>,
    /// What Athena would refuse, where it stands: `queries lint` warns of it.
    pub(super) athena: Vec<CompileError>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// Evaluated on one record: WHERE, GROUP BY keys, aggregate arguments, ungrouped SELECT.
    Record,
    /// Evaluated on one group: SELECT, HAVING and ORDER BY of a grouped query.
    Group,
}

impl Compiler {
    /// The column path, without a leading table name or alias.
    pub(super) fn column_path(&self, expr: &ast::Expr) -> FieldPath {
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

    pub(super) fn expr(&mut self, expr: &ast::Expr, scope: Scope) -> Result<Expr, CompileError> {
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
                let path = self.column_path(expr);
                if let Some(problem) = athena::column(path.segments()) {
                    self.athena.push(error_at(expr, problem));
                }
                Expr::Column(path)
            }
            E::Value(value) => Expr::Literal(literal(value)?),
            E::Nested(inner) => self.expr(inner, scope)?,
            E::UnaryOp { op, expr: inner } => {
                let operand = Box::new(self.expr(inner, scope)?);
                if *op == UnaryOperator::Not
                    && let Some(problem) = athena::boolean_operand(inner, &operand)
                {
                    self.athena.push(error_at(expr, problem));
                }
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
                if let Some(problem) = athena::binary(op, left, right, &l, &r) {
                    self.athena.push(error_at(expr, problem));
                }
                let comparison = matches!(
                    op,
                    BinaryOperator::Eq
                        | BinaryOperator::NotEq
                        | BinaryOperator::Lt
                        | BinaryOperator::LtEq
                        | BinaryOperator::Gt
                        | BinaryOperator::GtEq
                );
                if comparison
                    && let (Kind::Text, Kind::Number) | (Kind::Number, Kind::Text) =
                        (kind(&l), kind(&r))
                {
                    return Err(error_at(
                        expr,
                        format!(
                            "`{expr}` compares text with a number, which Athena refuses: quote the number ('5'), or make the text a number"
                        ),
                    ));
                }
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
                    BinaryOperator::StringConcat => Expr::Concat(l, r),
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
            } => {
                let list: Vec<Expr> = (list.iter())
                    .map(|e| self.expr(e, scope))
                    .collect::<Result<_, _>>()?;
                let texts = (list.iter())
                    .map(|item| match item {
                        Expr::Literal(Value::Str(text)) => Some(text.to_string()),
                        _ => None,
                    })
                    .collect::<Option<foldhash::HashSet<String>>>()
                    .map(Arc::new);
                Expr::InList {
                    expr: Box::new(self.expr(inner, scope)?),
                    list,
                    negated: *negated,
                    texts,
                }
            }
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
                    .map_err(|e| error_at(pattern.as_ref(), e.to_string()))?;
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
        if let Some(problem) = athena::function(&name) {
            self.athena.push(error_at(whole, problem));
        }
        match name.as_str() {
            "lower" => unary(Func::Lower, self),
            "upper" => unary(Func::Upper, self),
            // Athena's try() makes a failing call NULL; trailscan's calls are NULL already
            // where Athena's fail (a time that does not parse, say).
            "try" => {
                arity(1)?;
                self.expr(args[0], scope)
            }
            "from_iso8601_timestamp" => unary(Func::FromIso8601Timestamp, self),
            "to_unixtime" => {
                arity(1)?;
                let arg = self.expr(args[0], scope)?;
                if let Some(problem) = athena::timestamp_argument(&name, "", args[0], &arg) {
                    self.athena.push(error_at(whole, problem));
                }
                Ok(Expr::Call(Func::ToUnixtime, Box::new(arg)))
            }
            "from_unixtime" => unary(Func::FromUnixtime, self),
            "json_format" => unary(Func::JsonFormat, self),
            "json_array_length" => unary(Func::JsonArrayLength, self),
            "json_extract" | "json_extract_scalar" => {
                arity(2)?;
                let path_text = string_literal(args[1], "the JSON path must be a string literal")?;
                let path = parse_json_path(&path_text).map_err(|m| error_at(args[1], m))?;
                let base = self.expr(args[0], scope)?;
                if let Some(problem) = athena::json_argument(&name, args[0], &base) {
                    self.athena.push(error_at(whole, problem));
                }
                let scalar = name == "json_extract_scalar";
                Ok(match base {
                    Expr::Column(column) => {
                        let mut segments = column.segments().to_vec();
                        segments.extend(path);
                        let path = FieldPath::new(segments);
                        if scalar {
                            Expr::JsonScalarPath(path)
                        } else {
                            Expr::JsonPath(path)
                        }
                    }
                    other if scalar => Expr::JsonScalar(Box::new(other), path),
                    other => Expr::Json(Box::new(other), path),
                })
            }
            "strpos" => {
                arity(2)?;
                Ok(Expr::Strpos(
                    Box::new(self.expr(args[0], scope)?),
                    Box::new(self.expr(args[1], scope)?),
                ))
            }
            "coalesce" => {
                if args.is_empty() {
                    return Err(error_at(whole, "coalesce() needs at least one argument"));
                }
                let list = (args.iter())
                    .map(|a| self.expr(a, scope))
                    .collect::<Result<_, _>>()?;
                Ok(Expr::Coalesce(list))
            }
            "if" => {
                if args.len() != 2 {
                    return Err(error_at(
                        whole,
                        "if() takes a condition and a value (the value is NULL otherwise)",
                    ));
                }
                Ok(Expr::If(
                    Box::new(self.expr(args[0], scope)?),
                    Box::new(self.expr(args[1], scope)?),
                ))
            }
            "regexp_like" => {
                arity(2)?;
                let pattern =
                    string_literal(args[1], "regexp_like's pattern must be a string literal")?;
                let regex = regex_lite::Regex::new(&pattern)
                    .map_err(|e| error_at(args[1], format!("bad regular expression: {e}")))?;
                Ok(Expr::Regexp(
                    Box::new(self.expr(args[0], scope)?),
                    Arc::new(regex),
                ))
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
                let time = self.expr(args[1], scope)?;
                let before = format!("{}, ", args[0]);
                if let Some(problem) = athena::timestamp_argument(&name, &before, args[1], &time) {
                    self.athena.push(error_at(whole, problem));
                }
                Ok(Expr::DateTrunc(unit, Box::new(time)))
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
}

/// What an expression yields, as far as Athena's types tell: the scalar columns of its
/// CloudTrail table, and every field read out of one with `json_extract_scalar`, are text.
/// Other names (aliases, fields Athena's table does not declare) are left unjudged.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Other,
}

fn kind(expr: &Expr) -> Kind {
    match expr {
        Expr::Column(path) => match path.segments() {
            [name] if is_text_column(name) => Kind::Text,
            _ => Kind::Other,
        },
        Expr::JsonScalarPath(_) | Expr::JsonScalar(..) => Kind::Text,
        Expr::Call(Func::Lower | Func::Upper | Func::JsonFormat, _) => Kind::Text,
        Expr::Concat(..) => Kind::Text,
        Expr::Call(Func::JsonArrayLength, _) | Expr::Strpos(..) => Kind::Number,
        Expr::Literal(Value::Str(_)) => Kind::Text,
        Expr::Literal(Value::Int(_) | Value::Float(_)) => Kind::Number,
        Expr::Arith(..) | Expr::Negate(_) => Kind::Number,
        Expr::Call(Func::ToUnixtime | Func::Floor, _) => Kind::Number,
        _ => Kind::Other,
    }
}

fn is_text_column(name: &str) -> bool {
    const STRUCTURED: [&str; 3] = ["userIdentity", "resources", "tlsDetails"];
    super::compile::STAR_COLUMNS
        .iter()
        .any(|column| column.eq_ignore_ascii_case(name))
        && !STRUCTURED.iter().any(|s| s.eq_ignore_ascii_case(name))
}

pub(super) fn normalized(expr: &ast::Expr) -> String {
    expr.to_string().to_lowercase().replace('"', "")
}

fn is_aggregate_name(name: &str) -> bool {
    matches!(name, "count" | "min" | "max")
}

pub(super) fn item_has_aggregate(item: &SelectItem) -> bool {
    match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            expr_has_aggregate(e)
        }
        _ => false,
    }
}

pub(super) fn expr_has_aggregate(expr: &ast::Expr) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
