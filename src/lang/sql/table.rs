//! Athena's CloudTrail table, as the Athena documentation declares it: its columns and their types.
//!
//! The queries are written against this table, so that they run unchanged in Athena. It
//! tells which names Athena knows, which columns are JSON held as a STRING (read with
//! `json_extract_scalar`), and it is the column list `trailscan athena ddl` prints.

/// A column's type in the table (Hive's names, as the DDL writes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Struct(&'static [(&'static str, Type)]),
    Array(&'static Type),
    /// `map<string,string>`.
    Map,
}

use Type::{Map, String as Text, Struct};

const SESSION_ISSUER: Type = Struct(&[
    ("type", Text),
    ("principalid", Text),
    ("arn", Text),
    ("accountid", Text),
    ("username", Text),
]);

const USER_IDENTITY: Type = Struct(&[
    ("type", Text),
    ("principalid", Text),
    ("arn", Text),
    ("accountid", Text),
    ("invokedby", Text),
    ("accesskeyid", Text),
    ("username", Text),
    (
        "onbehalfof",
        Struct(&[("userid", Text), ("identitystorearn", Text)]),
    ),
    (
        "sessioncontext",
        Struct(&[
            (
                "attributes",
                Struct(&[("mfaauthenticated", Text), ("creationdate", Text)]),
            ),
            ("sessionissuer", SESSION_ISSUER),
            ("ec2roledelivery", Text),
            (
                "webidfederationdata",
                Struct(&[("federatedprovider", Text), ("attributes", Map)]),
            ),
        ]),
    ),
]);

const RESOURCE: Type = Struct(&[("arn", Text), ("accountid", Text), ("type", Text)]);

/// The columns, in the documented order, with the names the documentation gives them
/// (Athena's names are lower case; queries may write them in any case).
pub const COLUMNS: &[(&str, Type)] = &[
    ("eventversion", Text),
    ("useridentity", USER_IDENTITY),
    ("eventtime", Text),
    ("eventsource", Text),
    ("eventname", Text),
    ("awsregion", Text),
    ("sourceipaddress", Text),
    ("useragent", Text),
    ("errorcode", Text),
    ("errormessage", Text),
    ("requestparameters", Text),
    ("responseelements", Text),
    ("additionaleventdata", Text),
    ("requestid", Text),
    ("eventid", Text),
    ("readonly", Text),
    ("resources", Type::Array(&RESOURCE)),
    ("eventtype", Text),
    ("apiversion", Text),
    ("recipientaccountid", Text),
    ("serviceeventdetails", Text),
    ("sharedeventid", Text),
    ("vpcendpointid", Text),
    ("vpcendpointaccountid", Text),
    ("eventcategory", Text),
    (
        "addendum",
        Struct(&[
            ("reason", Text),
            ("updatedfields", Text),
            ("originalrequestid", Text),
            ("originaleventid", Text),
        ]),
    ),
    ("sessioncredentialfromconsole", Text),
    ("edgedevicedetails", Text),
    (
        "tlsdetails",
        Struct(&[
            ("tlsversion", Text),
            ("ciphersuite", Text),
            ("clientprovidedhostheader", Text),
        ]),
    ),
];

/// The type of the top-level column `name` (any case).
pub fn column(name: &str) -> Option<Type> {
    field(COLUMNS, name)
}

fn field(fields: &[(&str, Type)], name: &str) -> Option<Type> {
    (fields.iter())
        .find(|(field, _)| field.eq_ignore_ascii_case(name))
        .map(|(_, t)| *t)
}

/// Where a column path leads in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A column or field of this type.
    Found(Type),
    /// The table has no column of the first segment's name.
    NoColumn,
    /// The segment at `at` names no field of the STRUCT before it.
    NoField { at: usize },
    /// The segment at `at` reads into the STRING before it (JSON text, in Athena).
    IntoString { at: usize },
    /// The segment at `at` reads into the ARRAY or MAP before it, which dots cannot do.
    IntoCollection { at: usize, what: &'static str },
}

/// Follows `segments` (a column, then fields) through the table's types.
pub fn resolve(segments: &[String]) -> Resolved {
    let Some((first, rest)) = segments.split_first() else {
        return Resolved::NoColumn;
    };
    let Some(mut current) = column(first) else {
        return Resolved::NoColumn;
    };
    for (offset, segment) in rest.iter().enumerate() {
        let at = offset + 1;
        current = match current {
            Struct(fields) => match field(fields, segment) {
                Some(next) => next,
                None => return Resolved::NoField { at },
            },
            Text => return Resolved::IntoString { at },
            Type::Array(_) => {
                return Resolved::IntoCollection {
                    at,
                    what: "an ARRAY",
                };
            }
            Map => return Resolved::IntoCollection { at, what: "a MAP" },
        };
    }
    Resolved::Found(current)
}

impl Type {
    /// The type as a Hive DDL writes it, indented by `indent` for nested fields.
    pub fn ddl(&self, indent: usize) -> std::string::String {
        match self {
            Text => "STRING".to_owned(),
            Map => "MAP<STRING, STRING>".to_owned(),
            Type::Array(item) => format!("ARRAY<{}>", item.ddl(indent)),
            Struct(fields) => {
                let pad = " ".repeat(indent + 4);
                let inner: Vec<std::string::String> = (fields.iter())
                    .map(|(name, t)| format!("{pad}{name}: {}", t.ddl(indent + 4)))
                    .collect();
                format!("STRUCT<\n{}>", inner.join(",\n"))
            }
        }
    }
}

/// The column list of `CREATE EXTERNAL TABLE … ( … )`, one column a line, indented by four.
pub fn ddl_columns() -> std::string::String {
    let lines: Vec<std::string::String> = (COLUMNS.iter())
        .map(|(name, t)| format!("    {name} {}", t.ddl(4)))
        .collect();
    lines.join(",\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Vec<std::string::String> {
        text.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn paths_resolve_case_insensitively_through_structs() {
        assert_eq!(resolve(&path("eventName")), Resolved::Found(Text));
        assert_eq!(
            resolve(&path("userIdentity.sessionContext.sessionIssuer.userName")),
            Resolved::Found(Text)
        );
        assert!(matches!(
            resolve(&path("userIdentity")),
            Resolved::Found(Struct(_))
        ));
        assert_eq!(
            resolve(&path("requestParameters.bucketName")),
            Resolved::IntoString { at: 1 }
        );
        assert_eq!(
            resolve(&path("userIdentity.sessionContext.nope")),
            Resolved::NoField { at: 2 }
        );
        assert_eq!(resolve(&path("managementEvent")), Resolved::NoColumn);
        assert!(matches!(
            resolve(&path("resources.arn")),
            Resolved::IntoCollection { at: 1, .. }
        ));
    }

    #[test]
    fn the_column_list_nests_structs() {
        let ddl = ddl_columns();
        assert!(ddl.starts_with(
            "    eventversion STRING,\n    useridentity STRUCT<\n        type: STRING,"
        ));
        assert!(
            ddl.contains("resources ARRAY<STRUCT<\n        arn: STRING,"),
            "{ddl}"
        );
        assert!(ddl.ends_with("clientprovidedhostheader: STRING>"), "{ddl}");
    }
}
