//! Athena SQL statements (parsed by sqlparser) compiled into plans: SELECT shape, GROUP BY, ORDER BY, LIMIT.

use sqlparser::ast::{
    self, GroupByExpr, LimitClause, OrderByKind, SelectItem, SetExpr, Statement, TableFactor,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use super::error::{CompileError, error_at, unsupported};
use super::expr::{Compiler, Scope, expr_has_aggregate, item_has_aggregate, normalized};
use crate::query::Plan;
use crate::query::plan::Expr;
use crate::results::{Order, SortBy, SortKey};

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

/// How deep an expression may be: its operators and parentheses, counted together. Plans
/// are compiled and evaluated recursively; a query deeper than this (a generated chain of
/// 8,000 `OR`s, say) is refused rather than risking the stack.
pub const MAX_DEPTH: usize = 500;

pub fn compile(sql: &str) -> Result<Plan, CompileError> {
    compile_checked(sql).map(|(plan, _)| plan)
}

/// Compiles `sql`, and says what of it Athena would refuse (each where it stands).
pub fn compile_checked(sql: &str) -> Result<(Plan, Vec<CompileError>), CompileError> {
    check_depth(sql)?;
    let dialect = GenericDialect {};
    let parsed = Parser::new(&dialect)
        .with_recursion_limit(MAX_DEPTH + 10)
        .try_with_sql(sql)
        .and_then(|mut parser| parser.parse_statements());
    let statements = parsed.map_err(|e| {
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
    let mut compiler = Compiler::default();
    let plan = compiler.query(query)?;
    Ok((plan, compiler.athena))
}

/// Refuses SQL whose expressions could nest deeper than `MAX_DEPTH`: the operators and the
/// deepest parentheses, counted on the tokens before anything is built.
fn check_depth(sql: &str) -> Result<(), CompileError> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize_with_location() else {
        // The parser says what is wrong with the text, and where.
        return Ok(());
    };
    let (mut operators, mut open, mut deepest) = (0usize, 0usize, 0usize);
    for token in &tokens {
        match &token.token {
            Token::LParen => {
                open += 1;
                deepest = deepest.max(open);
            }
            Token::RParen => open = open.saturating_sub(1),
            Token::Word(word)
                if matches!(word.keyword, Keyword::AND | Keyword::OR | Keyword::NOT) =>
            {
                operators += 1
            }
            Token::Plus
            | Token::Minus
            | Token::Mul
            | Token::Div
            | Token::Mod
            | Token::Eq
            | Token::DoubleEq
            | Token::Neq
            | Token::Lt
            | Token::Gt
            | Token::LtEq
            | Token::GtEq
            | Token::StringConcat => operators += 1,
            _ => {}
        }
        if operators + deepest > MAX_DEPTH {
            return Err(CompileError {
                line: token.span.start.line,
                column: token.span.start.column,
                message: format!(
                    "the query is too deep: more than {MAX_DEPTH} operators and parentheses (write a long list of alternatives as IN (…))"
                ),
            });
        }
    }
    Ok(())
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

impl Compiler {
    fn query(&mut self, query: &ast::Query) -> Result<Plan, CompileError> {
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
        let (keys, sort_exprs) = self.order_by(query, &columns, &select_exprs, scope)?;
        let order = Order {
            keys,
            limit: limit(query)?,
            extra: sort_exprs.len(),
        };
        Ok(Plan {
            columns,
            projections,
            filter,
            group_by,
            aggregates: std::mem::take(&mut self.aggregates),
            having,
            sort_exprs,
            order,
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
                let table = (name.0.last())
                    .map(|last| last.to_string().trim_matches('"').to_lowercase())
                    .unwrap_or_default();
                if table != "cloudtrail_logs" {
                    return Err(error_at(
                        name,
                        format!("FROM {name}: the table is cloudtrail_logs (as in Athena)"),
                    ));
                }
                self.table_names.push(table);
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
    ) -> Result<(Vec<SortKey>, Vec<Expr>), CompileError> {
        if let Some(order_by) = &query.order_by {
            if let OrderByKind::All(_) = order_by.kind {
                return Err(unsupported(order_by, "ORDER BY ALL"));
            }
            if order_by.interpolate.is_some() {
                return Err(unsupported(order_by, "INTERPOLATE"));
            }
        }
        let mut keys = Vec::new();
        let mut sort_exprs = Vec::new();
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
            let by = match output_column_index(&item.expr, columns, select_exprs)? {
                Some(index) => SortBy::Column(index),
                None => {
                    sort_exprs.push(self.expr(&item.expr, scope)?);
                    SortBy::Extra(sort_exprs.len() - 1)
                }
            };
            keys.push(SortKey {
                by,
                descending,
                nulls_first,
            });
        }
        Ok((keys, sort_exprs))
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
