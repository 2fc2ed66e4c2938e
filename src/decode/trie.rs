//! The trie of field paths a projection keeps, and values read keeping only what it selects.

use simd_json::BorrowedValue;
use simd_json::value::borrowed::Object;

use super::lexer::{RawKey, Scanner, SyntaxError};
use crate::record::FieldPath;

#[derive(Debug, Clone, Default)]
pub(super) struct Trie {
    pub(super) whole: bool,
    pub(super) children: Vec<(String, Trie)>,
    /// The children by `name_slot` of their names (256 slots once there are children):
    /// an event's key is looked up with one comparison at most, unless two children share
    /// a slot. Each slot holds `NO_CHILD`, `SHARED` or the index of its one child.
    slots: Vec<u8>,
}

const NO_CHILD: u8 = u8::MAX;
const SHARED: u8 = u8::MAX - 1;

impl Trie {
    /// A trie that keeps everything.
    pub(super) fn whole() -> Trie {
        Trie {
            whole: true,
            ..Trie::default()
        }
    }

    /// Keeps `path`, and whatever lies below it.
    pub(super) fn add_path(&mut self, path: &FieldPath) {
        let mut node = self;
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
                None => node.add_child(segment),
            };
            node = &mut node.children[at].1;
        }
        node.whole = true;
        node.children.clear();
        node.slots.clear();
    }

    /// The index of the child called `key`.
    pub(super) fn child(&self, key: &[u8]) -> Option<usize> {
        let matches = |i: usize| self.children[i].0.as_bytes().eq_ignore_ascii_case(key);
        match *self.slots.get(name_slot(key))? {
            NO_CHILD => None,
            SHARED => (0..self.children.len()).find(|&i| matches(i)),
            i => matches(usize::from(i)).then_some(usize::from(i)),
        }
    }

    pub(super) fn add_child(&mut self, name: &str) -> usize {
        let index = self.children.len();
        self.children.push((name.to_owned(), Trie::default()));
        if self.slots.is_empty() {
            self.slots = vec![NO_CHILD; 256];
        }
        let slot = &mut self.slots[name_slot(name.as_bytes())];
        *slot = match u8::try_from(index) {
            Ok(i) if *slot == NO_CHILD && i < SHARED => i,
            _ => SHARED,
        };
        index
    }
}

/// One of 256 slots, from a name's length and four of its bytes, the same for names that
/// differ only in ASCII case.
fn name_slot(name: &[u8]) -> usize {
    let fold = |at: usize| u32::from(name.get(at).map_or(0, |b| b | 0x20));
    let len = name.len();
    let mixed = (len as u32).wrapping_mul(0x9E37_79B9)
        ^ fold(0).wrapping_mul(0x85EB_CA6B)
        ^ fold(len / 2).wrapping_mul(0xC2B2_AE35)
        ^ fold(len.wrapping_sub(2)).wrapping_mul(0x27D4_EB2F)
        ^ fold(len.wrapping_sub(1)).wrapping_mul(0x1656_67B1);
    (mixed.wrapping_mul(0x9E37_79B9) >> 24) as usize
}

impl<'i> Scanner<'i> {
    /// The value here, keeping only what `trie` selects below an object.
    pub(super) fn projected(
        &mut self,
        trie: &Trie,
        depth: usize,
    ) -> Result<BorrowedValue<'i>, SyntaxError> {
        if trie.whole || self.peek() != Some(b'{') {
            // Arrays, strings (JSON kept as text), numbers: kept as they are.
            return self.value(depth);
        }
        let mut object = Object::with_capacity_and_hasher(trie.children.len(), Default::default());
        self.entries(depth, |scanner, key| match key.child_of(trie)? {
            Some(child) => {
                let value = scanner.projected(child, depth + 1)?;
                object.insert(key.text()?, value);
                Ok(())
            }
            None => scanner.skip_value(depth + 1),
        })?;
        Ok(BorrowedValue::Object(Box::new(object)))
    }
}

impl RawKey<'_> {
    fn child_of<'t>(&self, trie: &'t Trie) -> Result<Option<&'t Trie>, SyntaxError> {
        Ok(self.child_index(trie)?.map(|i| &trie.children[i].1))
    }

    pub(super) fn child_index(&self, trie: &Trie) -> Result<Option<usize>, SyntaxError> {
        Ok(if self.escaped {
            trie.child(self.text()?.as_bytes())
        } else {
            trie.child(self.raw.as_bytes())
        })
    }
}
