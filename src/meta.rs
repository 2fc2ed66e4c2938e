//! What a query or analysis says about its findings: name, title, severity, ATT&CK, references, runbook.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown severity '{s}' (info, low, medium, high, critical)"))
    }
}

/// What a detection says about its findings: shown in tables, JSON, alerts and `show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub name: String,
    pub title: String,
    pub severity: Severity,
    pub description: String,
    pub references: String,
    pub runbook: String,
    /// ATT&CK tactics, by their short names (`defense-evasion`), in the matrix's order.
    pub tactics: Vec<String>,
    /// ATT&CK technique ids (`T1562.008`).
    pub techniques: Vec<String>,
    /// Further facts a rule states, labelled in its own terms (a Sigma rule's id, status,
    /// author, tags and false positives): shown by `show` and in alerts.
    pub details: Vec<(String, String)>,
}

impl Meta {
    /// Metadata with a name and title only, at `info`: for internal and ad-hoc queries.
    pub fn plain(name: &str, title: &str) -> Meta {
        Meta {
            name: name.to_owned(),
            title: title.to_owned(),
            severity: Severity::Info,
            description: String::new(),
            references: String::new(),
            runbook: String::new(),
            tactics: Vec::new(),
            techniques: Vec::new(),
            details: Vec::new(),
        }
    }
}

/// Where a query came from: shown in listings and in every error about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    BuiltIn(String),
    File(PathBuf),
    CommandLine,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::BuiltIn(file) => write!(f, "queries/{file} (built-in)"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::CommandLine => f.write_str("<command line>"),
        }
    }
}

/// MITRE ATT&CK (Enterprise): the tactics, and the names of the techniques the built-in
/// detections map to, so that `queries --attack` and alerts can name them.
pub mod attack {
    /// Tactics in the matrix's order: short name, id, name.
    pub const TACTICS: &[(&str, &str, &str)] = &[
        ("reconnaissance", "TA0043", "Reconnaissance"),
        ("resource-development", "TA0042", "Resource Development"),
        ("initial-access", "TA0001", "Initial Access"),
        ("execution", "TA0002", "Execution"),
        ("persistence", "TA0003", "Persistence"),
        ("privilege-escalation", "TA0004", "Privilege Escalation"),
        ("defense-evasion", "TA0005", "Defense Evasion"),
        ("credential-access", "TA0006", "Credential Access"),
        ("discovery", "TA0007", "Discovery"),
        ("lateral-movement", "TA0008", "Lateral Movement"),
        ("collection", "TA0009", "Collection"),
        ("command-and-control", "TA0011", "Command and Control"),
        ("exfiltration", "TA0010", "Exfiltration"),
        ("impact", "TA0040", "Impact"),
    ];

    /// Technique names and the tactics ATT&CK files them under, for the ids the built-in
    /// detections use; a user's query may name others, which are shown by id.
    #[allow(clippy::type_complexity)]
    const TECHNIQUES: &[(&str, &str, &[&str])] = &[
        (
            "T1021.008",
            "Remote Services: Direct Cloud VM Connections",
            &["lateral-movement"],
        ),
        (
            "T1059.009",
            "Command and Scripting Interpreter: Cloud API",
            &["execution"],
        ),
        (
            "T1069.003",
            "Permission Groups Discovery: Cloud Groups",
            &["discovery"],
        ),
        (
            "T1078",
            "Valid Accounts",
            &[
                "initial-access",
                "persistence",
                "privilege-escalation",
                "defense-evasion",
            ],
        ),
        (
            "T1078.004",
            "Valid Accounts: Cloud Accounts",
            &[
                "initial-access",
                "persistence",
                "privilege-escalation",
                "defense-evasion",
            ],
        ),
        (
            "T1087.004",
            "Account Discovery: Cloud Account",
            &["discovery"],
        ),
        (
            "T1098",
            "Account Manipulation",
            &["persistence", "privilege-escalation"],
        ),
        (
            "T1098.001",
            "Account Manipulation: Additional Cloud Credentials",
            &["persistence", "privilege-escalation"],
        ),
        (
            "T1098.003",
            "Account Manipulation: Additional Cloud Roles",
            &["persistence", "privilege-escalation"],
        ),
        (
            "T1098.004",
            "Account Manipulation: SSH Authorized Keys",
            &["persistence", "privilege-escalation"],
        ),
        ("T1110", "Brute Force", &["credential-access"]),
        (
            "T1110.001",
            "Brute Force: Password Guessing",
            &["credential-access"],
        ),
        (
            "T1110.003",
            "Brute Force: Password Spraying",
            &["credential-access"],
        ),
        (
            "T1136.003",
            "Create Account: Cloud Account",
            &["persistence"],
        ),
        (
            "T1484",
            "Domain or Tenant Policy Modification",
            &["privilege-escalation", "defense-evasion"],
        ),
        (
            "T1484.002",
            "Domain or Tenant Policy Modification: Trust Modification",
            &["privilege-escalation", "defense-evasion"],
        ),
        ("T1485", "Data Destruction", &["impact"]),
        ("T1486", "Data Encrypted for Impact", &["impact"]),
        ("T1490", "Inhibit System Recovery", &["impact"]),
        (
            "T1496.001",
            "Resource Hijacking: Compute Hijacking",
            &["impact"],
        ),
        (
            "T1496.004",
            "Resource Hijacking: Cloud Service Hijacking",
            &["impact"],
        ),
        ("T1526", "Cloud Service Discovery", &["discovery"]),
        ("T1530", "Data from Cloud Storage", &["collection"]),
        ("T1537", "Transfer Data to Cloud Account", &["exfiltration"]),
        ("T1552", "Unsecured Credentials", &["credential-access"]),
        (
            "T1552.005",
            "Unsecured Credentials: Cloud Instance Metadata API",
            &["credential-access"],
        ),
        (
            "T1555.006",
            "Credentials from Password Stores: Cloud Secrets Management Stores",
            &["credential-access"],
        ),
        (
            "T1556",
            "Modify Authentication Process",
            &["persistence", "defense-evasion", "credential-access"],
        ),
        (
            "T1556.006",
            "Modify Authentication Process: Multi-Factor Authentication",
            &["persistence", "defense-evasion", "credential-access"],
        ),
        ("T1562", "Impair Defenses", &["defense-evasion"]),
        (
            "T1562.001",
            "Impair Defenses: Disable or Modify Tools",
            &["defense-evasion"],
        ),
        (
            "T1562.007",
            "Impair Defenses: Disable or Modify Cloud Firewall",
            &["defense-evasion"],
        ),
        (
            "T1562.008",
            "Impair Defenses: Disable or Modify Cloud Logs",
            &["defense-evasion"],
        ),
        (
            "T1578",
            "Modify Cloud Compute Infrastructure",
            &["defense-evasion"],
        ),
        (
            "T1578.002",
            "Modify Cloud Compute Infrastructure: Create Cloud Instance",
            &["defense-evasion"],
        ),
        ("T1580", "Cloud Infrastructure Discovery", &["discovery"]),
        ("T1599", "Network Boundary Bridging", &["defense-evasion"]),
        ("T1619", "Cloud Storage Object Discovery", &["discovery"]),
        ("T1648", "Serverless Execution", &["execution"]),
        ("T1651", "Cloud Administration Command", &["execution"]),
    ];

    /// The tactic with this short name: its id and name.
    pub fn tactic(short: &str) -> Option<(&'static str, &'static str)> {
        TACTICS
            .iter()
            .find(|(s, _, _)| s.eq_ignore_ascii_case(short))
            .map(|(_, id, name)| (*id, *name))
    }

    /// The technique's name, when trailscan knows it.
    pub fn technique_name(id: &str) -> Option<&'static str> {
        TECHNIQUES
            .iter()
            .find(|(t, _, _)| *t == id)
            .map(|(_, name, _)| *name)
    }

    /// The tactics a detection's technique is shown under: those of the detection's that
    /// ATT&CK files the technique under, or, when none is, ATT&CK's own (for a technique
    /// trailscan does not know, the detection's).
    pub fn tactics_of<'a>(technique: &str, declared: &'a [String]) -> Vec<&'a str>
    where
        'static: 'a,
    {
        let Some((_, _, filed)) = TECHNIQUES.iter().find(|(t, _, _)| *t == technique) else {
            return declared.iter().map(String::as_str).collect();
        };
        let both: Vec<&str> = (declared.iter())
            .map(String::as_str)
            .filter(|d| filed.contains(d))
            .collect();
        if both.is_empty() {
            filed.to_vec()
        } else {
            both
        }
    }

    /// Whether `id` is written as a technique id: `T` and four digits, then `.` and
    /// three digits for a sub-technique.
    pub fn is_technique_id(id: &str) -> bool {
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        match id.strip_prefix('T').map(|rest| rest.split_once('.')) {
            Some(Some((main, sub))) => digits(main, 4) && digits(sub, 3),
            Some(None) => digits(&id[1..], 4),
            None => false,
        }
    }

    /// `T1562.008 Impair Defenses: Disable or Modify Cloud Logs`, or the id alone.
    pub fn describe_technique(id: &str) -> String {
        match technique_name(id) {
            Some(name) => format!("{id} {name}"),
            None => id.to_owned(),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn technique_ids_and_tactics() {
            for good in ["T1078", "T1562.008"] {
                assert!(is_technique_id(good), "{good}");
            }
            for bad in [
                "",
                "T",
                "t1078",
                "T107",
                "T1562.08",
                "T1562.0081",
                "TA0005",
                "T1562.",
            ] {
                assert!(!is_technique_id(bad), "{bad}");
            }
            assert!(TECHNIQUES.iter().all(|(id, _, _)| is_technique_id(id)));
            assert!(
                (TECHNIQUES.iter())
                    .flat_map(|(_, _, tactics)| tactics.iter())
                    .all(|t| tactic(t).is_some())
            );
            let declared = vec!["persistence".to_owned(), "impact".to_owned()];
            assert_eq!(tactics_of("T1485", &declared), ["impact"]);
            assert_eq!(tactics_of("T1562.008", &declared), ["defense-evasion"]);
            assert_eq!(tactics_of("T9999", &declared), ["persistence", "impact"]);
            assert!(TECHNIQUES.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
            assert_eq!(
                tactic("Defense-Evasion"),
                Some(("TA0005", "Defense Evasion"))
            );
            assert_eq!(tactic("evasion"), None);
        }
    }
}
