//! A Sigma `condition`: `and`, `or`, `not`, parentheses, `1 of sel*`, `all of them`, over selection names.

/// A parsed condition, naming selections (resolved against the detection by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Name(String),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
    /// `1 of PATTERN` (`all: false`) or `all of PATTERN`; `them` is the pattern `*`.
    Of {
        all: bool,
        pattern: String,
    },
}

/// How deep a condition may nest (parentheses and `not`): far beyond any rule, far below
/// what the stack takes.
const MAX_DEPTH: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Open,
    Close,
}

/// Parses `text`. Sigma's first aggregations (`| count() > 5`, `| near`) are refused with
/// what to write instead.
pub fn parse(text: &str) -> Result<Condition, String> {
    if text.contains('|') {
        return Err(format!(
            "`{}` is Sigma's old aggregation (`| count()`, `| near`): write it as a correlation rule (event_count, value_count or temporal)",
            text.trim()
        ));
    }
    let mut parser = Parser {
        tokens: tokenize(text)?,
        at: 0,
        depth: 0,
    };
    let condition = parser.or()?;
    match parser.tokens.get(parser.at) {
        None => Ok(condition),
        Some(token) => Err(format!(
            "unexpected {} in the condition",
            describe(Some(token))
        )),
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        let token = match c {
            '(' => Some(Token::Open),
            ')' => Some(Token::Close),
            c if c.is_whitespace() => None,
            c if c.is_alphanumeric() || matches!(c, '_' | '*' | '-' | '.') => {
                word.push(c);
                continue;
            }
            other => return Err(format!("'{other}' has no meaning in a condition")),
        };
        if !word.is_empty() {
            tokens.push(Token::Word(std::mem::take(&mut word)));
        }
        tokens.extend(token);
    }
    if !word.is_empty() {
        tokens.push(Token::Word(word));
    }
    Ok(tokens)
}

fn describe(token: Option<&Token>) -> String {
    match token {
        None => "end".to_owned(),
        Some(Token::Word(w)) => format!("'{w}'"),
        Some(Token::Open) => "'('".to_owned(),
        Some(Token::Close) => "')'".to_owned(),
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn keyword(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut left = self.not()?;
        while self.keyword("and") {
            self.at += 1;
            left = Condition::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "the condition nests deeper than {MAX_DEPTH} levels"
            ));
        }
        let result = if self.keyword("not") {
            self.at += 1;
            self.not().map(|c| Condition::Not(Box::new(c)))
        } else {
            self.primary()
        };
        self.depth -= 1;
        result
    }

    fn primary(&mut self) -> Result<Condition, String> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        match token {
            Some(Token::Open) => {
                let inner = self.or()?;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err(format!(
                        "expected ')' in the condition, found {}",
                        describe(self.tokens.get(self.at))
                    ));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Word(word)) if self.keyword("of") => {
                self.at += 1;
                let all = if word.eq_ignore_ascii_case("all") {
                    true
                } else if word == "1" || word.eq_ignore_ascii_case("any") {
                    false
                } else {
                    return Err(format!(
                        "'{word} of' is not a Sigma quantifier: write '1 of' or 'all of'"
                    ));
                };
                match self.tokens.get(self.at).cloned() {
                    Some(Token::Word(pattern)) if !is_operator(&pattern) => {
                        self.at += 1;
                        let pattern = if pattern.eq_ignore_ascii_case("them") {
                            "*".to_owned()
                        } else {
                            pattern
                        };
                        Ok(Condition::Of { all, pattern })
                    }
                    other => Err(format!(
                        "'{word} of' needs a selection name, a pattern such as selection_*, or 'them'; found {}",
                        describe(other.as_ref())
                    )),
                }
            }
            Some(Token::Word(word)) if !is_operator(&word) => Ok(Condition::Name(word)),
            other => Err(format!(
                "expected a selection name, 'not', '(' or '1 of'/'all of' in the condition, found {}",
                describe(other.as_ref())
            )),
        }
    }
}

fn is_operator(word: &str) -> bool {
    ["and", "or", "not", "of"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(word))
}

/// Whether `name` fits `pattern`, where `*` stands for any run of characters.
pub fn fits(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| fits(tail, &rest[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> Box<Condition> {
        Box::new(Condition::Name(n.to_owned()))
    }

    #[test]
    fn precedence_parentheses_and_quantifiers() {
        use Condition::*;
        let cases: Vec<(&str, Condition)> = vec![
            ("selection", Name("selection".into())),
            (
                "a or b and not c",
                Or(
                    name("a"),
                    Box::new(And(name("b"), Box::new(Not(name("c"))))),
                ),
            ),
            (
                "(a or b) and c",
                And(Box::new(Or(name("a"), name("b"))), name("c")),
            ),
            (
                "selection and not 1 of filter_main_*",
                And(
                    name("selection"),
                    Box::new(Not(Box::new(Of {
                        all: false,
                        pattern: "filter_main_*".into(),
                    }))),
                ),
            ),
            (
                "all of them",
                Of {
                    all: true,
                    pattern: "*".into(),
                },
            ),
            ("NOT a", Not(name("a"))),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn mistakes_are_named() {
        for (text, says) in [
            ("selection | count() > 5", "correlation rule"),
            ("selection1 | near selection2", "correlation rule"),
            ("a and", "found end"),
            ("(a or b", "expected ')'"),
            ("2 of sel*", "'1 of' or 'all of'"),
            ("a b", "unexpected 'b'"),
            ("a = b", "'=' has no meaning"),
            ("1 of and", "needs a selection name"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
        let deep = "not ".repeat(500) + "a";
        assert!(parse(&deep).unwrap_err().contains("deeper"));
        let deep = "(".repeat(500) + "a" + &")".repeat(500);
        assert!(parse(&deep).unwrap_err().contains("deeper"));
    }

    #[test]
    fn patterns() {
        for (pattern, name, fits_it) in [
            ("*", "selection", true),
            ("selection_*", "selection_status", true),
            ("selection_*", "selection", false),
            ("filter*", "filter1", true),
            ("sel", "sel", true),
            ("*_x", "a_x", true),
            ("a*b*c", "abxc", true),
            ("a*b*c", "acb", false),
        ] {
            assert_eq!(fits(pattern, name), fits_it, "{pattern} {name}");
        }
    }
}
