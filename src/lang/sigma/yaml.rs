//! A rule file's YAML documents as a small tree whose every node knows its line.

use saphyr::{MarkedYaml, ScalarStyle, YamlData, YamlLoader};

/// How deep lists and maps may nest: a rule needs four or five levels; walking a file
/// nested deeper than this (hostile, or broken) is refused rather than risking the stack.
const MAX_DEPTH: usize = 64;

/// One YAML node, with the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: u64,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null`, `~`, or nothing.
    Null,
    /// A scalar as written, without its quotes: Sigma compares values as text, so `1.10`
    /// stays `1.10`.
    Text(String),
    List(Vec<Node>),
    /// Keys in the file's order, each with its line.
    Map(Vec<(String, u64, Node)>),
}

/// Why a text is not YAML trailscan reads: the line and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: u64,
    pub message: String,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Text(text) => Some(text),
            _ => None,
        }
    }

    /// What the node is, for messages: "a list", "a map", "text", "null".
    pub fn what(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Text(_) => "text",
            Kind::List(_) => "a list",
            Kind::Map(_) => "a map",
        }
    }
}

/// The documents of `text` (a Sigma file may hold several, separated by `---`).
pub fn documents(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut loader: YamlLoader<'_, MarkedYaml<'_>> = YamlLoader::default();
    // Scalars stay as written: resolving them would turn `1.10` into 1.1.
    loader.early_parse(false);
    let mut parser = saphyr_parser::Parser::new_from_str(text);
    let scan_error = |e: &saphyr::ScanError| YamlError {
        line: e.marker().line() as u64,
        message: format!("YAML: {}", e.info()),
    };
    parser.load(&mut loader, true).map_err(|e| scan_error(&e))?;
    if let Some(e) = loader.error() {
        return Err(scan_error(e));
    }
    loader
        .into_documents()
        .iter()
        .map(|document| convert(document, 0))
        .collect()
}

fn convert(node: &MarkedYaml<'_>, depth: usize) -> Result<Node, YamlError> {
    let line = node.span.start.line() as u64;
    let error = |message: &str| YamlError {
        line,
        message: message.to_owned(),
    };
    if depth > MAX_DEPTH {
        return Err(error("the YAML nests too deep for a rule"));
    }
    let kind = match &node.data {
        YamlData::Representation(text, style, _) => {
            let plain = *style == ScalarStyle::Plain;
            if plain && matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL") {
                Kind::Null
            } else {
                Kind::Text(text.to_string())
            }
        }
        YamlData::Value(scalar) => match scalar {
            saphyr::Scalar::Null => Kind::Null,
            saphyr::Scalar::Boolean(b) => Kind::Text(b.to_string()),
            saphyr::Scalar::Integer(i) => Kind::Text(i.to_string()),
            saphyr::Scalar::FloatingPoint(f) => Kind::Text(f.to_string()),
            saphyr::Scalar::String(s) => Kind::Text(s.to_string()),
        },
        YamlData::Sequence(items) => Kind::List(
            items
                .iter()
                .map(|item| convert(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        YamlData::Mapping(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                let key_node = convert(key, depth + 1)?;
                let key_text = match key_node.kind {
                    Kind::Text(text) => text,
                    Kind::Null => String::new(),
                    _ => return Err(error("a key must be text, not a list or a map")),
                };
                out.push((key_text, key_node.line, convert(value, depth + 1)?));
            }
            Kind::Map(out)
        }
        YamlData::Tagged(_, inner) => return convert(inner, depth + 1),
        YamlData::Alias(_) => return Err(error("a YAML alias that does not resolve")),
        YamlData::BadValue => return Err(error("a YAML value that does not read")),
    };
    Ok(Node { line, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_keep_their_text_and_nodes_their_lines() {
        let docs = documents("a: 1.10\nb:\n  - 'x'\n  - ~\n---\nc: {d: e}\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].get("a").unwrap().text(), Some("1.10"));
        let Kind::List(items) = &docs[0].get("b").unwrap().kind else {
            panic!("a list")
        };
        assert_eq!((items[0].line, items[0].text()), (3, Some("x")));
        assert_eq!(items[1].kind, Kind::Null);
        assert_eq!(docs[1].get("c").unwrap().get("d").unwrap().line, 6);
    }

    #[test]
    fn bad_yaml_names_its_line() {
        let error = documents("a: 1\nb: [x\nc: 2\n").unwrap_err();
        assert!(error.line >= 2, "{error:?}");
        let error = documents("a: 1\na: 2\n").unwrap_err();
        assert!(error.message.contains("YAML"), "{error:?}");
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(documents(&deep).is_err());
        let nested = (0..80)
            .map(|i| format!("{}k:", "  ".repeat(i)))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(documents(&nested).unwrap_err().message.contains("deep"));
        let laughs = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n\
                      g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
        assert!(documents(laughs).is_err());
    }
}
