//! Where bytes come from: sources named on the command line, listed and pruned to objects, then read.
//!
//! A source is one `Source`: a local file or folder, or an `s3://` bucket prefix. A new
//! kind of source is one file implementing the trait, and one line in `SCHEMES`.

pub mod layout;
mod local;
mod object;
mod s3;
pub mod window;

use std::path::PathBuf;

#[cfg(test)]
pub use layout::KeyLayout;
pub use layout::ObjectKind;
#[cfg(test)]
pub use object::Location;
pub use object::{Fetches, Filter, Listing, OpenError, ReadError, Remote, Source, SourceObject};
pub use window::{TimeWindow, parse_duration, parse_time_bound};

use crate::results::Transfer;

type Open = fn(&str, &Remote) -> Result<Box<dyn Source>, OpenError>;

/// The kinds of source, by the scheme their name starts with; anything else is a local path.
const SCHEMES: &[(&str, Open)] = &[("s3://", s3::open)];

/// The sources of one run.
pub struct Sources {
    sources: Vec<Box<dyn Source>>,
}

impl Sources {
    /// Opens each source named: `s3://…` and the like by their scheme, the rest as paths.
    pub fn open(names: &[String], remote: &Remote) -> Result<Sources, OpenError> {
        let sources = names
            .iter()
            .map(
                |name| match SCHEMES.iter().find(|(s, _)| name.starts_with(s)) {
                    Some((scheme, open)) => open(&name[scheme.len()..], remote),
                    None => Ok(Box::new(local::Local::new(PathBuf::from(name))) as Box<dyn Source>),
                },
            )
            .collect::<Result<_, _>>()?;
        Ok(Sources { sources })
    }

    /// Lists every source, prunes what the filter excludes, and sorts the rest by name.
    pub fn list(&self, filter: &Filter) -> Listing {
        let mut listing = Listing::default();
        let mut found = Vec::new();
        for (index, source) in self.sources.iter().enumerate() {
            let start = found.len();
            source.list(filter, &mut found, &mut listing.errors);
            found[start..].iter_mut().for_each(|o| o.source = index);
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found.dedup_by(|a, b| a.name == b.name);
        for object in found {
            match object.layout.as_ref().map(|l| l.kind) {
                Some(ObjectKind::Digest) => listing.skipped_digest += 1,
                Some(ObjectKind::Insight) => listing.skipped_insight += 1,
                _ if object.layout.as_ref().is_some_and(|l| !filter.keeps(l)) => {
                    listing.pruned += 1
                }
                _ => listing.objects.push(object),
            }
        }
        listing
    }

    pub fn read(&self, object: &SourceObject) -> Result<Vec<u8>, ReadError> {
        self.sources[object.source].read(object)
    }

    /// Per source that fetches ahead, its objects (indexes into `objects`) as they arrive;
    /// and the indexes of the objects to read where they are decoded.
    pub fn fetch(&self, objects: &[SourceObject]) -> (Vec<Fetches>, Vec<usize>) {
        let mut ahead = Vec::new();
        let mut in_place = Vec::new();
        for (index, source) in self.sources.iter().enumerate() {
            let own: Vec<(usize, &SourceObject)> = (objects.iter().enumerate())
                .filter(|(_, o)| o.source == index)
                .collect();
            match source.fetch_ahead(&own) {
                Some(fetches) => ahead.push(fetches),
                None => in_place.extend(own.into_iter().map(|(i, _)| i)),
            }
        }
        in_place.sort_unstable();
        (ahead, in_place)
    }

    /// Requests and bytes of the sources that make requests, added up.
    pub fn transfer(&self) -> Option<Transfer> {
        self.sources
            .iter()
            .filter_map(|s| s.transfer())
            .reduce(|mut total, t| {
                total.add(&t);
                total
            })
    }
}
