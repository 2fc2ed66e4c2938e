//! Printers: the same report as tables, JSON, JSON Lines, CSV or an HTML page, over any `Write`.
//!
//! A new format is one file here and one line in the `formats!` list below; an analysis may
//! print a format of its own (`OwnFormat`, suspicious-ips's blocklist).

mod csv;
pub mod html;
mod json;
mod report;
pub mod sanitize;
mod table;

use std::io::{self, Write};

pub use report::{Mode, OwnFormat, Report, Scope};

/// How a report is laid out, besides its format.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Whether the output is a terminal: tables are fitted to its width.
    pub terminal: bool,
    /// The most rows of one result an HTML page shows.
    pub html_rows: usize,
}

/// A report's printer over `W`: one of the formats, or an analysis's own.
pub struct Printer<W: Write> {
    out: W,
    format: Format,
    layout: Layout,
    own: Option<Box<dyn OwnFormat>>,
}

impl<W: Write> Printer<W> {
    pub fn new(format: Format, out: W, layout: Layout) -> Printer<W> {
        Printer {
            out,
            format,
            layout,
            own: None,
        }
    }

    /// A printer of a format an analysis prints itself.
    pub fn own(own: Box<dyn OwnFormat>, out: W) -> Printer<W> {
        Printer {
            out,
            format: Format::Table,
            layout: Layout {
                terminal: false,
                html_rows: 0,
            },
            own: Some(own),
        }
    }

    pub fn print(&mut self, report: &Report<'_>) -> io::Result<()> {
        match &self.own {
            Some(own) => own.print(report, &mut self.out),
            None => self.print_format(report),
        }?;
        self.out.flush()
    }
}

macro_rules! formats {
    ($($(#[$doc:meta])* $variant:ident => |$report:pat_param, $out:pat_param, $layout:pat_param| $print:expr),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
        #[serde(rename_all = "lowercase")]
        pub enum Format {
            $($(#[$doc])* $variant,)*
        }

        impl<W: Write> Printer<W> {
            fn print_format(&mut self, report: &Report<'_>) -> io::Result<()> {
                match self.format {
                    $(Format::$variant => {
                        let ($report, $out, $layout) = (report, &mut self.out, self.layout);
                        $print
                    })*
                }
            }
        }
    };
}

formats! {
    Table => |report, out, layout| table::print(report, out, layout.terminal),
    Json => |report, out, _| json::print(report, out),
    Jsonl => |report, out, _| json::print_lines(report, out),
    Csv => |report, out, _| csv::print(report, out),
    /// One self-contained page: the run, charts over time, top lists and the findings.
    Html => |report, out, layout| html::print(report, out, layout.html_rows),
    /// Flagged addresses as CIDRs, one per line (suspicious-ips only).
    Blocklist => |_, _, _| Err(io::Error::other("blocklist is the format of suspicious-ips")),
}
