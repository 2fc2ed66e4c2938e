//! A rule's `detection`: selections of fields, values and modifiers, joined by the condition into one `Cond`.

use super::condition::{self, Condition};
use super::yaml::{Kind, Node};

/// What a detection says of one event, before it becomes a plan (`compile`) or Athena SQL
/// (`to_sql`): the one reading of the rule that both are made from.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Match(Field, Test),
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
}

/// Where a value is looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A dotted CloudTrail path, as the rule writes it (`userIdentity.arn`).
    Path(String),
    /// Anywhere in the event: a keyword (field-less) selection.
    Event,
}

/// A test of the text at a field. Unless `cased`, text is compared ignoring case, as
/// Sigma specifies; the values here are lowercased already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// Equal to one of these.
    Equals { values: Vec<String>, cased: bool },
    /// A SQL LIKE pattern, `\` escaping (Sigma's wildcards, `contains`, `startswith`, …).
    Like { pattern: String, cased: bool },
    /// A regular expression found anywhere in the text (`re`), flags inline.
    Regex(String),
    /// The field is absent or null (`null`, `exists: false`).
    Null,
    /// The field is there and not null (`exists: true`).
    Present,
    /// Equal to the value of another field (`fieldref`).
    SameAs { path: String, cased: bool },
}

/// Top-level fields of a CloudTrail event (record contents, version 1.x) beyond the columns
/// of Athena's table (`STAR_COLUMNS`): a field a rule names must start with one of either, or
/// it could never match.
const FIELDS_BEYOND_ATHENA: &[&str] = &[
    "managementEvent",
    "vpcEndpointAccountId",
    "addendum",
    "sessionCredentialFromConsole",
    "edgeDeviceDetails",
    "insightDetails",
];

/// Whether `path` is a dotted path into a CloudTrail event.
pub fn check_path(path: &str) -> Result<(), String> {
    let top = path.split('.').next().unwrap_or_default();
    if path.split('.').any(str::is_empty) {
        return Err(format!("'{path}' is not a dotted field path"));
    }
    if !(crate::lang::sql::STAR_COLUMNS.iter())
        .chain(FIELDS_BEYOND_ATHENA)
        .any(|f| f.eq_ignore_ascii_case(top))
    {
        return Err(format!(
            "'{top}' is not a field of CloudTrail events, so '{path}' could never match (eventName, eventSource, userIdentity.arn, requestParameters.…)"
        ));
    }
    Ok(())
}

/// A problem, at a line of the rule file.
pub type Problem = (u64, String);

/// Modifiers that cannot apply to CloudTrail, and why: refused rather than ignored.
const NOT_FOR_CLOUDTRAIL: &[(&str, &str)] = &[
    (
        "windash",
        "rewrites Windows command-line dashes, and no CloudTrail field holds a Windows command line",
    ),
    (
        "wide",
        "matches UTF-16 text, and CloudTrail's fields are UTF-8 JSON",
    ),
    (
        "utf16",
        "matches UTF-16 text, and CloudTrail's fields are UTF-8 JSON",
    ),
    (
        "utf16le",
        "matches UTF-16 text, and CloudTrail's fields are UTF-8 JSON",
    ),
    (
        "utf16be",
        "matches UTF-16 text, and CloudTrail's fields are UTF-8 JSON",
    ),
    (
        "base64",
        "matches base64-encoded values, and CloudTrail does not encode its fields",
    ),
    (
        "base64offset",
        "matches base64-encoded values, and CloudTrail does not encode its fields",
    ),
    (
        "expand",
        "stands for placeholder values (%name%) that a Sigma pipeline fills in, and trailscan is given none",
    ),
];

/// The detection's condition over its selections, as one `Cond`.
pub fn detection(node: &Node) -> Result<Cond, Vec<Problem>> {
    let Kind::Map(entries) = &node.kind else {
        return Err(vec![(
            node.line,
            format!(
                "detection must be a map of selections and a condition, not {}",
                node.what()
            ),
        )]);
    };
    let mut problems = Vec::new();
    let mut selections: Vec<(&str, Cond)> = Vec::new();
    let mut condition_node = None;
    for (key, line, value) in entries {
        match key.as_str() {
            "condition" => condition_node = Some(value),
            "timeframe" => problems.push((
                *line,
                "timeframe belongs to Sigma's old aggregations: write a correlation rule with a timespan".to_owned(),
            )),
            name => match selection(value) {
                Ok(cond) => selections.push((name, cond)),
                Err(mut more) => {
                    // Keep the name known, so the condition's check does not add a second
                    // problem about the same selection.
                    selections.push((name, Cond::Any(Vec::new())));
                    problems.append(&mut more)
                }
            },
        }
    }
    let Some(condition_node) = condition_node else {
        problems.push((node.line, "detection needs a condition".to_owned()));
        return Err(problems);
    };
    // A list of conditions is Sigma's old way of writing `or`.
    let texts: Vec<(&str, u64)> = match &condition_node.kind {
        Kind::Text(text) => vec![(text, condition_node.line)],
        Kind::List(items) if !items.is_empty() => {
            let mut texts = Vec::new();
            for item in items {
                match item.text() {
                    Some(text) => texts.push((text, item.line)),
                    None => problems.push((item.line, "a condition must be text".to_owned())),
                }
            }
            texts
        }
        _ => {
            problems.push((
                condition_node.line,
                "condition must be text, such as `selection and not filter`".to_owned(),
            ));
            return Err(problems);
        }
    };
    let mut alternatives = Vec::new();
    for (text, line) in texts {
        match condition::parse(text) {
            Ok(parsed) => match resolve(&parsed, &selections) {
                Ok(cond) => alternatives.push(cond),
                Err(message) => problems.push((line, message)),
            },
            Err(message) => problems.push((line, message)),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(match alternatives.len() {
        1 => alternatives.pop().expect("one"),
        _ => Cond::Any(alternatives),
    })
}

fn resolve(condition: &Condition, selections: &[(&str, Cond)]) -> Result<Cond, String> {
    Ok(match condition {
        Condition::Name(name) => match selections.iter().find(|(n, _)| n == name) {
            Some((_, cond)) => cond.clone(),
            None => {
                let known: Vec<&str> = selections.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "the condition names '{name}', which is not a selection of the detection ({})",
                    known.join(", ")
                ));
            }
        },
        Condition::And(a, b) => Cond::All(vec![resolve(a, selections)?, resolve(b, selections)?]),
        Condition::Or(a, b) => Cond::Any(vec![resolve(a, selections)?, resolve(b, selections)?]),
        Condition::Not(inner) => Cond::Not(Box::new(resolve(inner, selections)?)),
        Condition::Of { all, pattern } => {
            // `them` leaves out the selections whose names start with `_`, as Sigma says.
            let chosen: Vec<Cond> = (selections.iter())
                .filter(|(name, _)| condition::fits(pattern, name))
                .filter(|(name, _)| pattern != "*" || !name.starts_with('_'))
                .map(|(_, cond)| cond.clone())
                .collect();
            if chosen.is_empty() {
                return Err(format!(
                    "'{} of {pattern}' matches no selection of the detection",
                    if *all { "all" } else { "1" }
                ));
            }
            if *all {
                Cond::All(chosen)
            } else {
                Cond::Any(chosen)
            }
        }
    })
}

/// One selection: a map (every field matches), a list of maps (one of them matches) or a
/// list of keywords (one is found anywhere in the event).
fn selection(node: &Node) -> Result<Cond, Vec<Problem>> {
    match &node.kind {
        Kind::Map(entries) if entries.is_empty() => Err(vec![(
            node.line,
            "a selection with no fields would match every event".to_owned(),
        )]),
        Kind::Map(entries) => {
            let mut all = Vec::new();
            let mut problems = Vec::new();
            for (key, line, value) in entries {
                match field_match(key, *line, value) {
                    Ok(cond) => all.push(cond),
                    Err(problem) => problems.push(problem),
                }
            }
            if problems.is_empty() {
                Ok(Cond::All(all))
            } else {
                Err(problems)
            }
        }
        Kind::List(items) if items.is_empty() => Err(vec![(
            node.line,
            "a selection with an empty list would match no event".to_owned(),
        )]),
        Kind::List(items) if items.iter().all(|i| matches!(i.kind, Kind::Map(_))) => {
            let mut any = Vec::new();
            let mut problems = Vec::new();
            for item in items {
                match selection(item) {
                    Ok(cond) => any.push(cond),
                    Err(mut more) => problems.append(&mut more),
                }
            }
            if problems.is_empty() {
                Ok(Cond::Any(any))
            } else {
                Err(problems)
            }
        }
        Kind::List(_) | Kind::Text(_) => {
            field_match("", node.line, node).map_err(|problem| vec![problem])
        }
        Kind::Null => Err(vec![(
            node.line,
            "a selection must be a map of fields, a list of maps or a list of keywords, not null"
                .to_owned(),
        )]),
    }
}

/// `field|modifier|…: value or list of values`.
fn field_match(key: &str, line: u64, value: &Node) -> Result<Cond, Problem> {
    let mut parts = key.split('|');
    let name = parts.next().unwrap_or_default().trim();
    let modifiers: Vec<&str> = parts.collect();
    let problem = |message: String| (line, message);
    if name.contains(['*', '?']) {
        return Err(problem(format!(
            "field name '{name}' holds a wildcard: Sigma field names are exact"
        )));
    }
    let field = if name.is_empty() {
        Field::Event
    } else {
        Field::Path(name.to_owned())
    };

    let mut kind = None;
    let (mut all, mut cased) = (false, false);
    let mut regex_flags = String::new();
    for modifier in &modifiers {
        let modifier = modifier.trim();
        match modifier {
            "contains" | "startswith" | "endswith" | "re" | "cidr" | "exists" | "fieldref" => {
                if let Some(previous) = kind.replace(modifier) {
                    return Err(problem(format!(
                        "modifiers '{previous}' and '{modifier}' cannot go together"
                    )));
                }
            }
            "all" => all = true,
            "cased" => cased = true,
            "i" | "m" | "s" if kind == Some("re") => regex_flags.push_str(modifier),
            "i" | "m" | "s" => {
                return Err(problem(format!("modifier '{modifier}' only follows 're'")));
            }
            other => {
                let why = (NOT_FOR_CLOUDTRAIL.iter())
                    .find(|(m, _)| *m == other)
                    .map(|(_, why)| format!("modifier '{other}' {why}"))
                    .unwrap_or_else(|| {
                        format!(
                            "modifier '{other}' is not supported (contains, startswith, endswith, all, re, cidr, exists, fieldref, cased)"
                        )
                    });
                return Err(problem(why));
            }
        }
    }
    if !name.is_empty() {
        check_path(name).map_err(problem)?;
    }
    // A keyword is found anywhere in the event: it is contained in the event's text.
    if field == Field::Event && kind.is_none() {
        kind = Some("contains");
    }
    if field == Field::Event && matches!(kind, Some("exists" | "fieldref")) {
        return Err(problem(format!(
            "'{}' needs a field name",
            kind.unwrap_or_default()
        )));
    }

    let values: Vec<&Node> = match &value.kind {
        Kind::List(items) if items.is_empty() => {
            return Err(problem(format!("'{key}' has an empty list of values")));
        }
        Kind::List(items) => items.iter().collect(),
        Kind::Map(_) => {
            return Err(problem(format!(
                "the value of '{key}' is a map: a value is text, a number, null or a list of them"
            )));
        }
        _ => vec![value],
    };
    let one_or_any = |mut conds: Vec<Cond>| {
        if conds.len() == 1 {
            conds.pop().expect("one")
        } else {
            Cond::Any(conds)
        }
    };
    let mut per_value = Vec::new();
    // Plain values become one test of equality with any of them: one lookup, not many.
    let mut plain: Option<Vec<String>> = Some(Vec::new());
    for value in &values {
        let text = match &value.kind {
            Kind::Text(text) => Some(text.as_str()),
            Kind::Null => None,
            _ => {
                return Err((
                    value.line,
                    format!(
                        "a value of '{key}' is {}: values are text, numbers or null",
                        value.what()
                    ),
                ));
            }
        };
        let tests = test(kind, text, cased, &regex_flags).map_err(|m| (value.line, m))?;
        if field == Field::Event && tests.contains(&Test::Null) {
            return Err(problem("a keyword cannot be null".to_owned()));
        }
        plain = match (plain, tests.as_slice()) {
            (Some(mut list), [Test::Equals { values, cased: c }]) if *c == cased => {
                list.extend(values.iter().cloned());
                Some(list)
            }
            _ => None,
        };
        per_value.push(one_or_any(
            (tests.into_iter())
                .map(|t| Cond::Match(field.clone(), t))
                .collect(),
        ));
    }
    if all {
        return Ok(Cond::All(per_value));
    }
    if let Some(values) = plain
        && per_value.len() > 1
    {
        return Ok(Cond::Match(field, Test::Equals { values, cased }));
    }
    Ok(one_or_any(per_value))
}

/// The test of one value under the modifiers.
fn test(
    kind: Option<&str>,
    text: Option<&str>,
    cased: bool,
    flags: &str,
) -> Result<Vec<Test>, String> {
    let fold = |text: &str| {
        if cased {
            text.to_owned()
        } else {
            text.to_lowercase()
        }
    };
    let Some(text) = text else {
        return match kind {
            None => Ok(vec![Test::Null]),
            Some(kind) => Err(format!("'{kind}' needs a value, not null")),
        };
    };
    Ok(vec![match kind {
        None => match wildcard_like(text) {
            Some(pattern) => Test::Like {
                pattern: fold(&pattern),
                cased,
            },
            None => Test::Equals {
                values: vec![fold(&unescape(text))],
                cased,
            },
        },
        Some(kind @ ("contains" | "startswith" | "endswith")) => {
            let inner = like_body(text);
            let pattern = match kind {
                "contains" => format!("%{inner}%"),
                "startswith" => format!("{inner}%"),
                _ => format!("%{inner}"),
            };
            Test::Like {
                pattern: fold(&pattern),
                cased,
            }
        }
        Some("re") => {
            let pattern = if flags.is_empty() {
                text.to_owned()
            } else {
                format!("(?{flags}){text}")
            };
            regex_lite::Regex::new(&pattern).map_err(|e| {
                format!("'{text}' is not a regular expression trailscan reads: {e}")
            })?;
            Test::Regex(pattern)
        }
        Some("cidr") => return cidr(text),
        Some("exists") => match text.to_ascii_lowercase().as_str() {
            "true" | "yes" => Test::Present,
            "false" | "no" => Test::Null,
            _ => return Err(format!("'exists' takes true or false, not '{text}'")),
        },
        Some("fieldref") => {
            check_path(text).map_err(|e| format!("fieldref: {e}"))?;
            Test::SameAs {
                path: text.to_owned(),
                cased,
            }
        }
        Some(other) => return Err(format!("modifier '{other}' is not supported")),
    }])
}

/// Sigma's escapes in a value without wildcards: `\*`, `\?` and `\\` stand for the
/// character; a backslash before anything else is itself.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next @ ('*' | '?' | '\\')) = chars.peek()
        {
            out.push(next);
            chars.next();
        } else {
            out.push(c);
        }
    }
    out
}

/// The value as the body of a LIKE pattern (escape `\`): Sigma's `*` is `%` and `?` is
/// `_`; LIKE's own `%`, `_` and `\` are escaped.
fn like_body(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&next @ ('*' | '?' | '\\')) => {
                    chars.next();
                    push_literal(&mut out, next);
                }
                _ => push_literal(&mut out, '\\'),
            },
            '*' => out.push('%'),
            '?' => out.push('_'),
            other => push_literal(&mut out, other),
        }
    }
    out
}

fn push_literal(out: &mut String, c: char) {
    if matches!(c, '%' | '_' | '\\') {
        out.push('\\');
    }
    out.push(c);
}

/// A LIKE pattern for a value with an unescaped wildcard; `None` for a plain value.
fn wildcard_like(text: &str) -> Option<String> {
    let mut chars = text.chars();
    let mut wild = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' => wild = true,
            _ => {}
        }
    }
    wild.then(|| like_body(text))
}

/// `cidr`: an IPv4 network as the LIKE patterns that its addresses' dotted text fits, as
/// Sigma's converters expand it for targets without network functions (so the same test
/// runs in Athena).
fn cidr(text: &str) -> Result<Vec<Test>, String> {
    let refuse = || format!("'{text}' is not an IPv4 network such as 10.0.0.0/8");
    let (address, prefix) = text.split_once('/').unwrap_or((text, "32"));
    let address: std::net::Ipv4Addr = match address.parse() {
        Ok(address) => address,
        Err(_) if address.contains(':') => {
            return Err(format!(
                "'{text}': IPv6 networks are not supported in cidr (CloudTrail writes IPv6 addresses in more than one form); use startswith on the address text"
            ));
        }
        Err(_) => return Err(refuse()),
    };
    let prefix: u32 = prefix
        .parse()
        .ok()
        .filter(|p| *p <= 32)
        .ok_or_else(refuse)?;
    let octets = address.octets();
    let whole = (prefix / 8) as usize;
    let fixed: Vec<String> = octets[..whole].iter().map(u8::to_string).collect();
    if whole == 4 {
        return Ok(vec![Test::Equals {
            values: vec![fixed.join(".")],
            cased: true,
        }]);
    }
    // The octet the prefix ends in: the values it may take.
    let span = 1u32 << (8 - prefix % 8);
    let first = u32::from(octets[whole]) & !(span - 1);
    let with = |n: u32| {
        let mut parts = fixed.clone();
        parts.push(n.to_string());
        parts.join(".")
    };
    let like = |pattern: String| Test::Like {
        pattern,
        cased: true,
    };
    Ok(if prefix == 0 {
        vec![like("%.%.%.%".to_owned())]
    } else if prefix.is_multiple_of(8) {
        vec![like(format!("{}.%", fixed.join(".")))]
    } else if whole == 3 {
        vec![Test::Equals {
            values: (first..first + span).map(with).collect(),
            cased: true,
        }]
    } else {
        (first..first + span)
            .map(|n| like(format!("{}.%", with(n))))
            .collect()
    })
}
