//! Built-in analyses: what SQL alone cannot say (baselines, first-seen, joins by address).
//!
//! Each analysis runs a few SQL queries of its own in the same single pass as any query,
//! then turns their grouped rows into findings, which go through the same printers, exit
//! codes, alerts and state as a query's rows. A new analysis is one file here, with its
//! command-line arguments, and one line in the `analyses!` list below.

mod activity;
mod insights;
mod kit;
mod secrets_access;
mod summary;
mod suspicious_ips;
mod timeline;
mod trace;

pub use activity::fired_name;
pub use kit::{Analysis, Blockable, Command, Inputs, Settings, WithSources};

macro_rules! analyses {
    ($($(#[$doc:meta])* $variant:ident($module:ident)),* $(,)?) => {
        /// The analyses, each a command of its own.
        #[derive(Debug, clap::Subcommand)]
        pub enum AnalysisCommand {
            $($(#[$doc])* $variant(WithSources<$module::Args>),)*
        }

        impl AnalysisCommand {
            pub fn sources(&self) -> &[String] {
                match self {
                    $(AnalysisCommand::$variant(command) => &command.sources,)*
                }
            }

            pub fn build(self, settings: &Settings) -> anyhow::Result<Box<dyn Analysis>> {
                match self {
                    $(AnalysisCommand::$variant(command) => command.args.build(settings),)*
                }
            }
        }

        /// What the findings of every analysis say of themselves (for `queries --attack`).
        pub fn described() -> Vec<crate::meta::Meta> {
            let mut all = Vec::new();
            $(all.extend($module::DESCRIBED.iter().map(|d| d.meta()));)*
            all
        }
    };
}

analyses! {
    /// Flag source addresses: failed sign-ins, denied calls, principals or user names tried
    SuspiciousIps(suspicious_ips),
    /// Unusual hourly API call and error rates, and first-seen write calls, against a baseline
    Insights(insights),
    /// Secrets Manager: new readers of a secret, bursts of reads, deletions and sharing
    SecretsAccess(secrets_access),
    /// Follow a credential: the sessions and roles it led to, in every account, and all they did
    #[command(after_help = trace::EXAMPLES)]
    Trace(trace),
    /// One row per principal (user, role, root, service), the riskiest first: who did what
    #[command(after_help = summary::EXAMPLES)]
    Summary(summary),
    /// Events in time order, bursts of read-only calls by one session condensed into one line
    #[command(after_help = timeline::EXAMPLES)]
    Timeline(timeline),
}
