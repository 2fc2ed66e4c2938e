//! Projection: the fields a query set reads, and events built from simd-json's tape with only those.
//!
//! Building a full DOM for every event costs more than the rest of a scan together; most
//! queries read a dozen fields. The tape records how many nodes each value spans, so values
//! no query reads are skipped without being built.

use std::borrow::Cow;

use simd_json::value::borrowed::Object;
use simd_json::{BorrowedValue, Node};

use crate::record::FieldPath;

/// Which fields to keep: a trie of paths; a node marked `whole` keeps everything below it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    root: Trie,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Trie {
    whole: bool,
    children: Vec<(String, Trie)>,
}

impl Trie {
    fn child(&self, key: &str) -> Option<&Trie> {
        self.children
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, t)| t)
    }
}

impl Projection {
    /// Keeps every field: for shapes and queries that need the whole event.
    pub fn everything() -> Projection {
        Projection {
            root: Trie {
                whole: true,
                children: Vec::new(),
            },
        }
    }

    /// Keeps `paths` (and whatever lies below them).
    pub fn of<'p>(paths: impl IntoIterator<Item = &'p FieldPath>) -> Projection {
        let mut projection = Projection::default();
        for path in paths {
            projection.add(path);
        }
        projection
    }

    pub fn add(&mut self, path: &FieldPath) {
        let mut node = &mut self.root;
        for segment in path.segments() {
            if node.whole {
                return;
            }
            let at = match node
                .children
                .iter()
                .position(|(k, _)| k.eq_ignore_ascii_case(segment))
            {
                Some(at) => at,
                None => {
                    node.children.push((segment.clone(), Trie::default()));
                    node.children.len() - 1
                }
            };
            node = &mut node.children[at].1;
        }
        node.whole = true;
        node.children.clear();
    }

    /// The value that starts at `nodes[0]`, with only the projected fields.
    pub fn build<'i>(&self, nodes: &[Node<'i>]) -> BorrowedValue<'i> {
        project(&self.root, nodes)
    }
}

/// How many tape nodes the value at `nodes[0]` spans.
pub fn span(nodes: &[Node<'_>]) -> usize {
    match nodes.first() {
        Some(Node::Object { count, .. } | Node::Array { count, .. }) => count + 1,
        _ => 1,
    }
}

/// The entries of the object at `nodes[0]`: each key with the tape of its value.
pub fn entries<'t, 'i>(nodes: &'t [Node<'i>]) -> impl Iterator<Item = (&'i str, &'t [Node<'i>])> {
    let len = match nodes.first() {
        Some(Node::Object { len, .. }) => *len,
        _ => 0,
    };
    let mut at = 1;
    (0..len).map_while(move |_| {
        let Some(Node::String(key)) = nodes.get(at) else {
            return None;
        };
        let width = span(&nodes[at + 1..]);
        let value = &nodes[at + 1..at + 1 + width];
        at += 1 + width;
        Some((*key, value))
    })
}

/// The elements of the array at `nodes[0]`, each as its own tape.
pub fn items<'t, 'i>(nodes: &'t [Node<'i>]) -> impl Iterator<Item = &'t [Node<'i>]> {
    let len = match nodes.first() {
        Some(Node::Array { len, .. }) => *len,
        _ => 0,
    };
    let mut at = 1;
    (0..len).map(move |_| {
        let width = span(&nodes[at..]);
        let item = &nodes[at..at + width];
        at += width;
        item
    })
}

fn project<'i>(trie: &Trie, nodes: &[Node<'i>]) -> BorrowedValue<'i> {
    let Some(Node::Object { len, .. }) = nodes.first() else {
        // Arrays, strings (JSON kept as text), numbers: kept as they are.
        return whole(nodes);
    };
    if trie.whole {
        return whole(nodes);
    }
    let mut object =
        Object::with_capacity_and_hasher(trie.children.len().min(*len), Default::default());
    for (key, value) in entries(nodes) {
        if let Some(child) = trie.child(key) {
            object.insert(Cow::Borrowed(key), project(child, value));
        }
    }
    BorrowedValue::Object(Box::new(object))
}

/// The whole value at `nodes[0]`, as simd-json's own DOM would have built it.
pub fn whole<'i>(nodes: &[Node<'i>]) -> BorrowedValue<'i> {
    match nodes.first() {
        Some(Node::String(s)) => BorrowedValue::String(Cow::Borrowed(*s)),
        Some(Node::Static(s)) => BorrowedValue::Static(*s),
        Some(Node::Array { .. }) => {
            BorrowedValue::Array(Box::new(items(nodes).map(whole).collect()))
        }
        Some(Node::Object { len, .. }) => {
            let mut object = Object::with_capacity_and_hasher(*len, Default::default());
            for (key, value) in entries(nodes) {
                object.insert(Cow::Borrowed(key), whole(value));
            }
            BorrowedValue::Object(Box::new(object))
        }
        None => BorrowedValue::Static(simd_json::StaticNode::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::to_json;

    fn projected(paths: &[&str], json: &str) -> String {
        let projection = Projection::of(
            &paths
                .iter()
                .map(|p| FieldPath::parse(p))
                .collect::<Vec<_>>(),
        );
        let mut bytes = json.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut bytes).unwrap();
        to_json(&projection.build(&tape.0))
    }

    #[test]
    fn keeps_only_the_projected_fields_at_every_depth() {
        let event = r#"{"eventName":"A","userIdentity":{"type":"IAMUser","arn":"x","sessionContext":{"a":1}},
            "requestParameters":"{\"bucketName\":\"b\"}","resources":[{"ARN":"r"}],"big":{"deep":[1,2,3]}}"#;
        assert_eq!(
            projected(
                &[
                    "EVENTNAME",
                    "userIdentity.arn",
                    "requestParameters.bucketName",
                    "resources"
                ],
                event
            ),
            r#"{"eventName":"A","requestParameters":"{\"bucketName\":\"b\"}","resources":[{"ARN":"r"}],"userIdentity":{"arn":"x"}}"#
        );
        assert_eq!(
            projected(&["userIdentity"], event),
            r#"{"userIdentity":{"arn":"x","sessionContext":{"a":1},"type":"IAMUser"}}"#
        );
        assert_eq!(
            projected(&["userIdentity", "userIdentity.arn"], event),
            projected(&["userIdentity"], event)
        );
        assert_eq!(projected(&[], event), "{}");
    }

    #[test]
    fn everything_is_the_dom() {
        let json = r#"{"a":[1,{"b":null}],"c":"\u00e9\n","d":-1.5,"e":true}"#;
        let mut bytes = json.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut bytes).unwrap();
        let mut again = json.as_bytes().to_vec();
        let dom = simd_json::to_borrowed_value(&mut again).unwrap();
        assert_eq!(
            to_json(&Projection::everything().build(&tape.0)),
            to_json(&dom)
        );
    }
}
