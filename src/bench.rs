//! What the benchmarks measure, and nothing else: inflate, parse and evaluate, behind one door.

use std::sync::Arc;

use crate::catalog::Catalog;
use crate::decode::{self, Projection};
use crate::query::QuerySet;

/// Inflates a gzip file (one member or several) into a new buffer.
pub fn gunzip(raw: &[u8]) -> Vec<u8> {
    decode::gunzip(raw).expect("the benchmark's input is valid gzip")
}

/// The bytes a decode of `raw` reads: inflated when gzip, as they are otherwise.
pub fn inflated_len(raw: Vec<u8>) -> usize {
    decode::inflated_len(raw).unwrap_or(0)
}

/// Decodes a `Records` document building every event whole; the number of events.
pub fn parse_everything(json: Vec<u8>) -> u64 {
    decode::decode(json, &Projection::everything(), u64::MAX, |record| {
        std::hint::black_box(record);
    })
    .map_or(0, |d| d.events)
}

/// A set of built-in queries and the projection it reads with (objects in the S3 key
/// layout, no time window).
pub struct Queries {
    set: QuerySet,
    projection: Projection,
}

impl Queries {
    /// The built-in queries called `names`, or all of them (the audit).
    pub fn builtin(names: Option<&[&str]>) -> Queries {
        let catalog = Catalog::load(None).expect("the built-in queries compile");
        let queries = (catalog.all().iter())
            .filter(|q| names.is_none_or(|names| names.contains(&q.name())))
            .map(Arc::clone)
            .collect();
        let set = QuerySet::new(queries);
        let projection = Projection::new(&set.needs(true, false));
        Queries { set, projection }
    }

    /// Decodes `json` keeping what the queries need; the number of events.
    pub fn parse(&self, json: Vec<u8>) -> u64 {
        decode::decode(json, &self.projection, u64::MAX, |record| {
            std::hint::black_box(record);
        })
        .map_or(0, |d| d.events)
    }

    /// Decodes `json` and evaluates every query on every event; the number of events.
    pub fn evaluate(&self, json: Vec<u8>) -> u32 {
        let mut accumulators = self.set.accumulators();
        let mut index = 0;
        let _ = decode::decode(json, &self.projection, u64::MAX, |record| {
            self.set.accumulate(&mut accumulators, record, (0, index));
            index += 1;
        });
        std::hint::black_box(accumulators);
        index
    }
}
