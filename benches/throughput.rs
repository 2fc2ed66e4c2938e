//! Micro-benchmarks with `Throughput::Bytes` (of uncompressed JSON): inflate, parse, evaluate.
//!
//! The input is the fixtures' events repeated into one ~8 MB `Records` document, the size of
//! a busy account's 5-minute delivery. `cargo bench --bench throughput` runs them; the
//! end-to-end comparison with zcat, DuckDB and jq is `benches/e2e.sh`.

use std::hint::black_box;
use std::io::{Read, Write};
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trailscan::bench::{self, Queries};

/// Every event of fixtures/trail, repeated until the document is about `target` bytes.
fn records_document(target: usize) -> Vec<u8> {
    let mut events = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/trail")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().contains("/CloudTrail/") {
                let mut text = String::new();
                flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
                    .read_to_string(&mut text)
                    .unwrap();
                let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
                events.extend(
                    doc["Records"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e.to_string()),
                );
            }
        }
    }
    events.sort();
    let mut body = String::from("{\"Records\":[");
    let mut i = 0;
    while body.len() < target {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&events[i % events.len()]);
        i += 1;
    }
    body.push_str("]}");
    body.into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn benches(c: &mut Criterion) {
    let json = records_document(8 << 20);
    let gz = gzip(&json);
    let audit = Queries::builtin(None);
    let failed_logins = Queries::builtin(Some(&["failed-logins"]));

    let mut group = c.benchmark_group("trailscan");
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.sample_size(20);

    group.bench_function("inflate/libdeflate", |b| {
        b.iter(|| bench::gunzip(black_box(&gz)))
    });
    group.bench_function("inflate/flate2-zlib-rs", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(json.len());
            flate2::read::MultiGzDecoder::new(black_box(&gz[..]))
                .read_to_end(&mut out)
                .unwrap();
            out
        })
    });
    group.bench_function("parse/simd-json-dom", |b| {
        b.iter(|| {
            let mut bytes = json.clone();
            let value = simd_json::to_borrowed_value(&mut bytes).unwrap();
            black_box(&value);
        })
    });
    group.bench_function("parse/everything", |b| {
        b.iter(|| bench::parse_everything(json.clone()))
    });
    // As for objects in the S3 key layout (which names account and region), no window.
    for (name, queries) in [("failed-logins", &failed_logins), ("audit", &audit)] {
        group.bench_function(format!("parse/projected-{name}"), |b| {
            b.iter(|| queries.parse(json.clone()))
        });
        group.bench_function(format!("parse+evaluate/{name}"), |b| {
            b.iter(|| queries.evaluate(json.clone()))
        });
    }
    group.finish();
}

criterion_group!(throughput, benches);
criterion_main!(throughput);
