//! Where bytes come from: sources named on the command line, listed and pruned to objects, then read.
//!
//! A source is one `Source`: a local file or folder, or an `s3://` bucket prefix. A new
//! kind of source is one file implementing the trait, and one line in `SCHEMES`.

pub mod layout;
mod local;
pub mod metadata;
mod object;
mod s3;
pub mod window;

use std::path::PathBuf;
use std::sync::Arc;

pub use layout::{KeyLayout, ObjectKind};
#[cfg(test)]
pub use object::Location;
pub use object::{
    Arrivals, Fetches, Filter, Found, Listing, Metadata, OpenError, ReadError, Remote, Source,
    SourceObject, WithMetadata,
};
pub use s3::{TrailFolder, trails};
pub use window::{TimeWindow, parse_duration, parse_time_bound};

use crate::results::Transfer;

type Open = fn(&str, &Remote) -> Result<Box<dyn Source>, OpenError>;

/// The kinds of source, by the scheme their name starts with; anything else is a local path.
const SCHEMES: &[(&str, Open)] = &[("s3://", s3::open)];

/// A source that could not be opened: listing it is an error.
struct Unopened(String, String);

impl Source for Unopened {
    fn list(&self, _filter: &Filter, found: &mut Found) {
        (found.errors).push(object::ListError::Remote(self.0.clone(), self.1.clone()));
    }

    fn read(&self, _object: &SourceObject) -> Result<Vec<u8>, ReadError> {
        Err(ReadError::Foreign)
    }
}

/// The sources of one run, each with its name as given.
pub struct Sources {
    sources: Vec<(String, Arc<dyn Source>)>,
}

/// How the objects of a scan arrive: read where they are decoded, or as they come.
pub enum Reading<T = Vec<u8>> {
    /// The indexes of the objects, each read by the worker that decodes it.
    InPlace(Vec<usize>),
    /// Every object, in the order it arrives from the sources that fetch ahead (objects
    /// of the others are read alongside, on a thread of their own).
    Arriving(Arrivals<T>),
}

impl Sources {
    /// Opens each source named: `s3://…` and the like by their scheme, the rest as paths.
    /// One that cannot be opened says why when it is listed; the others are still read.
    pub fn open(names: &[String], remote: &Remote) -> Sources {
        let sources = (names.iter())
            .map(|name| {
                let source: Arc<dyn Source> =
                    match SCHEMES.iter().find(|(s, _)| name.starts_with(s)) {
                        Some((scheme, open)) => match open(&name[scheme.len()..], remote) {
                            Ok(source) => Arc::from(source),
                            Err(e) => Arc::new(Unopened(name.clone(), e.to_string())),
                        },
                        None => Arc::new(local::Local::new(PathBuf::from(name))),
                    };
                (name.clone(), source)
            })
            .collect();
        Sources { sources }
    }

    /// Lists every source, prunes what the filter excludes, and sorts the rest by name.
    pub fn list(&self, filter: &Filter) -> Listing {
        let mut listing = Listing::default();
        let mut found = Found::default();
        for (index, (name, source)) in self.sources.iter().enumerate() {
            let (start, errors) = (found.objects.len(), found.errors.len());
            source.list(filter, &mut found);
            // A source that could not be listed says so already.
            if found.objects.len() == start && found.errors.len() == errors {
                listing.empty.push(name.clone());
            }
            found.objects[start..]
                .iter_mut()
                .for_each(|o| o.source = index);
        }
        let Found {
            mut objects,
            errors,
            mut warnings,
            accounts,
            regions,
        } = found;
        for (flag, wanted, held) in [
            ("--account", &filter.accounts, &accounts),
            ("--region", &filter.regions, &regions),
        ] {
            for value in wanted.iter().filter(|v| !held.contains(*v)) {
                let held: Vec<&str> = held.iter().map(String::as_str).collect();
                warnings.push(match held.is_empty() {
                    true => format!("{flag} {value} matches nothing: the sources name none"),
                    false => format!(
                        "{flag} {value} matches nothing: the sources hold {}",
                        held.join(", ")
                    ),
                });
            }
        }
        objects.sort_by(|a, b| a.name.cmp(&b.name));
        // The same object named twice (two sources over one folder, one bucket twice).
        objects.dedup_by(|a, b| a.name == b.name && a.location == b.location);
        for object in objects {
            match object.layout.as_ref().map(|l| l.kind) {
                Some(ObjectKind::Digest) if !filter.digests => listing.skipped_digest += 1,
                Some(ObjectKind::Insight) => listing.skipped_insight += 1,
                _ if object.layout.as_ref().is_some_and(|l| !filter.keeps(l)) => {
                    listing.pruned += 1
                }
                Some(ObjectKind::Digest) => listing.digests.push(object),
                _ => listing.objects.push(object),
            }
        }
        listing.errors = errors;
        listing.warnings = warnings;
        listing
    }

    pub fn read(&self, object: &SourceObject) -> Result<Vec<u8>, ReadError> {
        self.sources[object.source].1.read(object)
    }

    /// `read`, with the object's user metadata.
    pub fn read_with_metadata(&self, object: &SourceObject) -> Result<WithMetadata, ReadError> {
        self.sources[object.source].1.read_with_metadata(object)
    }

    /// How `objects` are to be read: in place when no source fetches ahead; otherwise all
    /// of them as they arrive, so that downloads and local reads overlap with decoding.
    pub fn fetch(&self, objects: &[SourceObject]) -> Reading {
        self.fetch_by(objects, |s, own| s.fetch_ahead(own), |s, o| s.read(o))
    }

    /// `fetch`, each object with its user metadata (digest files: their signature).
    pub fn fetch_with_metadata(&self, objects: &[SourceObject]) -> Reading<WithMetadata> {
        self.fetch_by(
            objects,
            |s, own| s.fetch_ahead_with_metadata(own),
            |s, o| s.read_with_metadata(o),
        )
    }

    /// The same sources, each seen through `wrap` (which may check what is read).
    pub fn wrapped(&self, wrap: impl Fn(Arc<dyn Source>) -> Arc<dyn Source>) -> Sources {
        let sources = (self.sources.iter())
            .map(|(name, source)| (name.clone(), wrap(Arc::clone(source))))
            .collect();
        Sources { sources }
    }

    fn fetch_by<T: Send + 'static>(
        &self,
        objects: &[SourceObject],
        ahead: impl Fn(&dyn Source, &[(usize, &SourceObject)]) -> Option<Arrivals<T>>,
        read: fn(&dyn Source, &SourceObject) -> Result<T, ReadError>,
    ) -> Reading<T> {
        let mut ahead_of = Vec::new();
        let mut in_place = Vec::new();
        for (index, (_, source)) in self.sources.iter().enumerate() {
            let own: Vec<(usize, &SourceObject)> = (objects.iter().enumerate())
                .filter(|(_, o)| o.source == index)
                .collect();
            match ahead(source.as_ref(), &own) {
                Some(fetches) => ahead_of.push(fetches),
                None => in_place.extend(own.into_iter().map(|(i, o)| (i, o.clone()))),
            }
        }
        if ahead_of.is_empty() {
            let mut indexes: Vec<usize> = in_place.into_iter().map(|(i, _)| i).collect();
            indexes.sort_unstable();
            return Reading::InPlace(indexes);
        }
        let (sink, arrived) = std::sync::mpsc::sync_channel(64);
        for fetches in ahead_of {
            let sink = sink.clone();
            std::thread::spawn(move || {
                for fetched in fetches {
                    if sink.send(fetched).is_err() {
                        break;
                    }
                }
            });
        }
        let sources: Vec<Arc<dyn Source>> =
            self.sources.iter().map(|(_, s)| Arc::clone(s)).collect();
        std::thread::spawn(move || {
            for (index, object) in in_place {
                let read = read(sources[object.source].as_ref(), &object);
                if sink.send((index, read)).is_err() {
                    break;
                }
            }
        });
        Reading::Arriving(Box::new(arrived.into_iter()))
    }

    /// Requests and bytes of the sources that make requests, added up.
    pub fn transfer(&self) -> Option<Transfer> {
        self.sources
            .iter()
            .filter_map(|(_, s)| s.transfer())
            .reduce(|mut total, t| {
                total.add(&t);
                total
            })
    }
}
