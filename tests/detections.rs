//! Detections: each Stratus Red Team technique reported by the audit or an analysis, each new detection beside its look-alikes, and the fixes of issue 16.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::util::{code, stderr, stdout, trailscan, write};

const ACCOUNT: &str = "111122223333";
const OTHER: &str = "999988887777";
const ATTACKER_IP: &str = "198.51.100.66";

/// One CloudTrail event, built field by field; what is not said is what a plain API call has.
#[derive(Clone)]
struct Event(Value);

static IDS: AtomicUsize = AtomicUsize::new(0);

impl Event {
    /// `eventName` of `source` (`ec2`, `iam`, …) at `time` (`HH:MM:SS` on 2026-11-20), by
    /// the IAM user `mallory` from the attacker's address.
    fn new(time: &str, source: &str, name: &str) -> Event {
        let id = IDS.fetch_add(1, Ordering::Relaxed);
        Event(json!({
            "eventVersion": "1.09",
            "eventID": format!("ev-{id}"),
            "eventTime": format!("2026-11-20T{time}Z"),
            "eventSource": format!("{source}.amazonaws.com"),
            "eventName": name,
            "eventType": "AwsApiCall",
            "awsRegion": "us-east-1",
            "recipientAccountId": ACCOUNT,
            "sourceIPAddress": ATTACKER_IP,
            "userAgent": "aws-cli/2.15.0",
            "userIdentity": user("mallory"),
            "readOnly": !["Create", "Delete", "Put", "Update", "Modify", "Attach", "Authorize", "Send",
                          "Start", "Stop", "Run", "Add", "Enable", "Deregister", "Copy"]
                .iter().any(|verb| name.starts_with(verb)),
            "managementEvent": true,
            "requestParameters": null,
            "responseElements": null,
        }))
    }

    fn set(mut self, key: &str, value: Value) -> Event {
        self.0[key] = value;
        self
    }

    fn by(self, identity: Value) -> Event {
        self.set("userIdentity", identity)
    }

    fn ip(self, address: &str) -> Event {
        self.set("sourceIPAddress", json!(address))
    }

    fn params(self, params: Value) -> Event {
        self.set("requestParameters", params)
    }

    fn response(self, response: Value) -> Event {
        self.set("responseElements", response)
    }

    fn denied(self) -> Event {
        self.set("errorCode", json!("AccessDenied"))
            .set("errorMessage", json!("User is not authorized"))
    }

    /// An S3 data event on `bucket`.
    fn data(self) -> Event {
        self.set("eventCategory", json!("Data"))
            .set("managementEvent", json!(false))
    }
}

fn user(name: &str) -> Value {
    json!({"type": "IAMUser", "userName": name, "accountId": ACCOUNT,
           "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
           "accessKeyId": "AKIAEXAMPLEKEY000001", "principalId": "AIDAEXAMPLE"})
}

fn role(role: &str, session: &str) -> Value {
    json!({"type": "AssumedRole", "accountId": ACCOUNT,
           "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"),
           "accessKeyId": "ASIAEXAMPLEKEY000001",
           "sessionContext": {"sessionIssuer": {"type": "Role", "userName": role,
               "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}")}}})
}

fn root() -> Value {
    json!({"type": "Root", "accountId": ACCOUNT, "arn": format!("arn:aws:iam::{ACCOUNT}:root")})
}

/// A role session that an AWS service made for the caller, as maintenance windows do.
fn invoked_by(identity: Value, service: &str) -> Value {
    let mut identity = identity;
    identity["invokedBy"] = json!(service);
    identity
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Writes `events` as one delivery file in the S3 key layout under `root`.
fn deliver(root: &Path, events: &[Event]) {
    let records: Vec<&Value> = events.iter().map(|e| &e.0).collect();
    let body = json!({ "Records": records }).to_string();
    let key = format!(
        "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/11/20/{ACCOUNT}_CloudTrail_us-east-1_20261120T2355Z_d.json.gz"
    );
    write(root, &key, &gzip(body.as_bytes()));
}

/// The rows a run printed, by query, from its JSON Lines.
struct Found {
    rows: BTreeMap<String, Vec<Value>>,
    severity: BTreeMap<String, String>,
    counts: BTreeMap<String, u64>,
}

impl Found {
    fn of(&self, query: &str) -> &[Value] {
        self.rows.get(query).map_or(&[], Vec::as_slice)
    }

    fn count(&self, query: &str) -> usize {
        self.of(query).len()
    }

    /// The queries with rows at severity low or higher, unauthorized-calls aside (it only
    /// says that an attacker was refused).
    fn reported(&self) -> Vec<&str> {
        self.rows
            .keys()
            .filter(|q| *q != "unauthorized-calls" && self.severity[*q] != "info")
            .map(String::as_str)
            .collect()
    }
}

/// Runs `trailscan ARGS… <events> --format jsonl` (`ARGS` empty: the audit).
fn run(args: &[&str], events: &[Event]) -> Found {
    let dir = tempfile::tempdir().unwrap();
    deliver(dir.path(), events);
    let path = dir.path().to_str().unwrap();
    let mut all: Vec<&str> = if args.is_empty() {
        vec!["audit"]
    } else {
        args.to_vec()
    };
    all.extend([path, "--format", "jsonl"]);
    let output = trailscan(&all);
    assert!(code(&output) < 2, "{all:?} failed: {}", stderr(&output));
    let mut found = Found {
        rows: BTreeMap::new(),
        severity: BTreeMap::new(),
        counts: BTreeMap::new(),
    };
    for line in stdout(&output).lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        if value["type"] == "row" {
            let query = value["query"].as_str().unwrap().to_owned();
            found.severity.insert(
                query.clone(),
                value["severity"].as_str().unwrap().to_owned(),
            );
            found
                .rows
                .entry(query)
                .or_default()
                .push(value["row"].clone());
        } else {
            for (query, n) in value["rows_per_query"].as_object().unwrap() {
                found.counts.insert(query.clone(), n.as_u64().unwrap());
            }
        }
    }
    found
}

fn audit(events: &[Event]) -> Found {
    run(&[], events)
}

// ----- The 44 techniques -----------------------------------------------------------------

/// The events of a technique as an attacker could make them (not one captured log: the
/// calls that carry the technique, with the details that vary), and what reports it.
struct Technique {
    id: &'static str,
    events: Vec<Event>,
    /// An analysis to run instead of the audit.
    analysis: Option<&'static str>,
    /// Detections that must each report it.
    reported_by: &'static [&'static str],
}

fn t(id: &'static str, reported_by: &'static [&'static str], events: Vec<Event>) -> Technique {
    Technique {
        id,
        events,
        analysis: None,
        reported_by,
    }
}

fn at(minute: usize, second: usize) -> String {
    format!("10:{minute:02}:{second:02}")
}

fn techniques() -> Vec<Technique> {
    let instance = role("web-instance-role", "i-0abc1234def567890");
    let many = |n: usize, make: &dyn Fn(usize) -> Event| (0..n).map(make).collect::<Vec<_>>();
    vec![
        // Credential access
        t("aws.credential-access.ec2-get-password-data", &["ec2-password-data-retrieval"], many(12, &|i| {
            Event::new(&at(1, i), "ec2", "GetPasswordData").by(role("ops", "s1"))
                .params(json!({"instanceId": format!("i-{i:017x}")}))
                .set("errorCode", json!("Client.UnauthorizedOperation"))
        })),
        Technique {
            id: "aws.credential-access.ec2-steal-instance-credentials",
            events: vec![
                Event::new("10:00:00", "ssm", "SendCommand").params(json!({"documentName": "AWS-RunShellScript",
                    "instanceIds": ["i-0abc1234def567890"], "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS"})),
                Event::new("10:00:30", "ec2", "DescribeInstances").by(instance.clone()).ip("203.0.113.7"),
                Event::new("10:02:00", "sts", "GetCallerIdentity").by(instance.clone()),
                Event::new("10:02:10", "ec2", "DescribeInstances").by(instance.clone()),
                Event::new("10:30:00", "ec2", "DescribeInstances").by(instance.clone()).ip("203.0.113.7"),
            ],
            analysis: Some("suspicious-ips"),
            reported_by: &["suspicious-ips"],
        },
        t("aws.credential-access.secretsmanager-batch-retrieve-secrets", &["secrets-batch-retrieval"], many(3, &|i| {
            Event::new(&at(2, i), "secretsmanager", "BatchGetSecretValue")
                .params(json!({"filters": [{"key": "tag-key", "values": ["!never"]}]}))
        })),
        t("aws.credential-access.secretsmanager-retrieve-secrets", &["secrets-bulk-retrieval"], many(15, &|i| {
            Event::new(&at(3, i), "secretsmanager", "GetSecretValue")
                .params(json!({"secretId": format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app-{i}")}))
        })),
        t("aws.credential-access.ssm-retrieve-securestring-parameters", &["ssm-parameters-bulk-decryption"], many(6, &|i| {
            let names: Vec<String> = (0..10).map(|n| format!("/app/secret-{}", i * 10 + n)).collect();
            Event::new(&at(4, i), "ssm", "GetParameters").params(json!({"names": names, "withDecryption": true}))
        })),
        // Defense evasion
        t("aws.defense-evasion.cloudtrail-delete", &["cloudtrail-changes"], vec![
            Event::new("10:05:00", "cloudtrail", "DeleteTrail").params(json!({"name": "org-trail"})),
        ]),
        t("aws.defense-evasion.cloudtrail-event-selectors", &["trail-event-selectors-weakened"], vec![
            Event::new("10:05:00", "cloudtrail", "PutEventSelectors").params(json!({"trailName": "org-trail",
                "eventSelectors": [{"includeManagementEvents": false, "readWriteType": "All", "dataResources": []}]})),
        ]),
        t("aws.defense-evasion.cloudtrail-lifecycle-rule", &["s3-bucket-policy-changes"], vec![
            Event::new("10:05:00", "s3", "PutBucketLifecycle").params(json!({"bucketName": "trail-logs",
                "LifecycleConfiguration": {"Rule": {"Status": "Enabled", "Expiration": {"Days": 1}}}})),
        ]),
        t("aws.defense-evasion.cloudtrail-stop", &["cloudtrail-changes"], vec![
            Event::new("10:05:00", "cloudtrail", "StopLogging").params(json!({"name": "org-trail"})),
        ]),
        t("aws.defense-evasion.dns-delete-logs", &["dns-query-logging-deleted"], vec![
            Event::new("10:05:00", "route53resolver", "DeleteResolverQueryLogConfig")
                .params(json!({"resolverQueryLogConfigId": "rqlc-4473f20ca554c07"})),
        ]),
        t("aws.defense-evasion.organizations-leave", &["organizations-changes"], vec![
            Event::new("10:05:00", "organizations", "LeaveOrganization").by(role("admin", "s")).denied(),
        ]),
        t("aws.defense-evasion.vpc-remove-flow-logs", &["vpc-flow-logs-deleted"], vec![
            Event::new("10:05:00", "ec2", "DeleteFlowLogs")
                .params(json!({"DeleteFlowLogsRequest": {"FlowLogId": {"content": "fl-0e17", "tag": 1}}})),
        ]),
        // Discovery
        t("aws.discovery.ec2-download-user-data", &["ec2-user-data-read-burst"], many(5, &|i| {
            Event::new(&at(6, i), "ec2", "DescribeInstanceAttribute").by(role("ops", "s2"))
                .params(json!({"attribute": "userData", "instanceId": format!("i-{i:08x}")}))
                .set("errorCode", json!("Client.UnauthorizedOperation"))
        })),
        t("aws.discovery.ec2-enumerate-from-instance", &["instance-role-discovery"], [
            ("sts", "GetCallerIdentity"), ("s3", "ListBuckets"), ("iam", "GetAccountSummary"),
            ("iam", "ListRoles"), ("iam", "ListUsers"), ("iam", "GetAccountAuthorizationDetails"),
            ("ec2", "DescribeSnapshots"), ("cloudtrail", "DescribeTrails"), ("guardduty", "ListDetectors"),
        ].iter().enumerate().map(|(i, (source, name))| {
            Event::new(&at(7, i), source, name).by(instance.clone()).ip("203.0.113.7")
        }).collect()),
        t("aws.discovery.ses-enumerate", &["ses-enumeration"], ["GetAccountSendingEnabled", "GetSendQuota",
            "ListIdentities", "GetIdentityVerificationAttributes"].iter().enumerate()
            .map(|(i, name)| Event::new(&at(8, i), "ses", name)).collect()),
        // Execution
        t("aws.execution.ec2-launch-unusual-instances", &["ec2-unusual-instance-launch"], vec![
            Event::new("10:09:00", "ec2", "RunInstances").by(role("ci", "s3"))
                .params(json!({"instanceType": "p2.xlarge", "instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1, "maxCount": 10}]}}))
                .set("errorCode", json!("Client.UnauthorizedOperation")),
        ]),
        t("aws.execution.ec2-user-data", &["ec2-user-data-modified"], vec![
            Event::new("10:10:00", "ec2", "StopInstances").params(json!({"instancesSet": {"items": [{"instanceId": "i-0abc"}]}})),
            Event::new("10:10:30", "ec2", "ModifyInstanceAttribute")
                .params(json!({"instanceId": "i-0abc", "userData": "<sensitiveDataRemoved>"})),
            Event::new("10:11:00", "ec2", "StartInstances").params(json!({"instancesSet": {"items": [{"instanceId": "i-0abc"}]}})),
        ]),
        t("aws.execution.sagemaker-update-lifecycle-config", &["sagemaker-lifecycle-config-changed"], vec![
            Event::new("10:12:00", "sagemaker", "StopNotebookInstance").params(json!({"notebookInstanceName": "nb"})),
            Event::new("10:12:10", "sagemaker", "CreateNotebookInstanceLifecycleConfig")
                .params(json!({"notebookInstanceLifecycleConfigName": "evil", "onStart": [{"content": "HIDDEN"}]})),
            Event::new("10:12:20", "sagemaker", "UpdateNotebookInstance")
                .params(json!({"notebookInstanceName": "nb", "lifecycleConfigName": "evil"})),
        ]),
        t("aws.execution.ssm-send-command", &["ssm-send-command"], vec![
            Event::new("10:13:00", "ssm", "SendCommand").params(json!({"documentName": "AWS-RunShellScript",
                "instanceIds": ["i-1", "i-2", "i-3"], "interactive": false, "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS"})),
        ]),
        t("aws.execution.ssm-start-session", &["ssm-sessions-to-many-instances"], many(3, &|i| {
            Event::new(&at(14, i), "ssm", "StartSession").params(json!({"target": format!("i-{i:017x}")}))
        })),
        // Exfiltration
        t("aws.exfiltration.ec2-security-group-open-port-22-ingress", &["security-group-open-to-world"], vec![
            Event::new("10:15:00", "ec2", "AuthorizeSecurityGroupIngress").params(json!({"cidrIp": "208.236.235.254/0",
                "fromPort": 22, "toPort": 22, "groupId": "sg-1", "ipPermissions": {}, "ipProtocol": "tcp"})),
        ]),
        t("aws.exfiltration.ec2-share-ami", &["snapshot-or-ami-shared"], vec![
            Event::new("10:16:00", "ec2", "ModifyImageAttribute").params(json!({"attributeType": "launchPermission",
                "imageId": "ami-1", "launchPermission": {"add": {"items": [{"userId": OTHER}]}}})),
        ]),
        t("aws.exfiltration.ec2-share-ebs-snapshot", &["snapshot-or-ami-shared"], vec![
            Event::new("10:16:00", "ec2", "ModifySnapshotAttribute").params(json!({"attributeType": "CREATE_VOLUME_PERMISSION",
                "snapshotId": "snap-1", "createVolumePermission": {"add": {"items": [{"userId": OTHER}]}}})),
        ]),
        t("aws.exfiltration.rds-share-snapshot", &["snapshot-or-ami-shared"], vec![
            Event::new("10:16:00", "rds", "ModifyDBSnapshotAttribute").params(json!({"attributeName": "restore",
                "dBSnapshotIdentifier": "prod", "valuesToAdd": [OTHER]})),
        ]),
        t("aws.exfiltration.s3-backdoor-bucket-policy", &["s3-bucket-policy-changes"], vec![
            Event::new("10:17:00", "s3", "PutBucketPolicy").params(json!({"bucketName": "data",
                "bucketPolicy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{OTHER}:root")},
                    "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::data/*"]}]}})),
        ]),
        // Impact
        t("aws.impact.bedrock-invoke-model", &["bedrock-model-access-changes", "bedrock-probing"], vec![
            Event::new("10:18:00", "bedrock", "GetFoundationModelAvailability").params(json!({"modelId": "anthropic.claude-3"})),
            Event::new("10:18:05", "bedrock", "ListFoundationModelAgreementOffers").params(json!({"modelId": "anthropic.claude-3"})),
            Event::new("10:18:10", "bedrock", "PutUseCaseForModelAccess"),
            Event::new("10:18:20", "bedrock", "CreateFoundationModelAgreement").params(json!({"modelId": "anthropic.claude-3"})),
            Event::new("10:18:30", "bedrock", "InvokeModel").params(json!({"modelId": "anthropic.claude-3"})).set("readOnly", json!(true)),
        ]),
        t("aws.impact.ec2-deregister-ami", &["ec2-ami-deregistered"], vec![
            Event::new("10:19:00", "ec2", "DeregisterImage").params(json!({"imageId": "ami-1", "deleteAssociatedSnapshots": false})),
        ]),
        t("aws.impact.s3-ransomware-batch-deletion", &["s3-versions-listed-then-batch-deleted"], vec![
            Event::new("10:20:00", "s3", "ListObjectVersions").params(json!({"bucketName": "data", "versions": ""})).data(),
            Event::new("10:20:05", "s3", "DeleteObjects").params(json!({"bucketName": "data", "delete": ""})).data(),
            Event::new("10:20:10", "s3", "PutObject").params(json!({"bucketName": "data", "key": "RANSOM.txt"})).data(),
        ]),
        t("aws.impact.s3-ransomware-client-side-encryption", &["s3-objects-encrypted-with-customer-key"], many(8, &|i| {
            Event::new(&at(21, i), "s3", "CopyObject").params(json!({"bucketName": "data", "key": format!("file-{i}.csv"),
                "x-amz-server-side-encryption-customer-algorithm": "AES256", "x-amz-copy-source": format!("data/file-{i}.csv")})).data()
        })),
        t("aws.impact.s3-ransomware-individual-deletion", &["s3-mass-object-deletion"], many(30, &|i| {
            Event::new(&at(22, i), "s3", "DeleteObject")
                .params(json!({"bucketName": "data", "key": format!("file-{i}.csv"), "versionId": "v1"})).data()
        })),
        // Initial access
        t("aws.initial-access.console-login-without-mfa", &["console-login-no-mfa"], vec![
            Event::new("10:23:00", "signin", "ConsoleLogin").by(user("alice")).set("eventType", json!("AwsConsoleSignIn"))
                .response(json!({"ConsoleLogin": "Success"}))
                .set("additionalEventData", json!({"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"})),
        ]),
        // Lateral movement
        t("aws.lateral-movement.ec2-instance-connect", &["ec2-instance-connect-to-many-instances"], many(3, &|i| {
            Event::new(&at(24, i), "ec2-instance-connect", "SendSSHPublicKey").params(json!({
                "instanceId": format!("i-{i:017x}"), "instanceOSUser": "ec2-user", "sSHPublicKey": "ssh-ed25519 AAAA"}))
        })),
        t("aws.lateral-movement.ec2-serial-console-send-ssh-public-key", &["ec2-serial-console-access"], vec![
            Event::new("10:25:00", "ec2", "EnableSerialConsoleAccess"),
            Event::new("10:25:10", "ec2-instance-connect", "SendSerialConsoleSSHPublicKey")
                .params(json!({"instanceId": "i-1", "serialPort": 0, "sSHPublicKey": "ssh-ed25519 AAAA"})),
        ]),
        // Persistence
        t("aws.persistence.iam-backdoor-role", &["policy-changes"], vec![
            Event::new("10:26:00", "iam", "UpdateAssumeRolePolicy").params(json!({"roleName": "app",
                "policyDocument": format!("{{\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":{{\"AWS\":\"arn:aws:iam::{OTHER}:root\"}},\"Action\":\"sts:AssumeRole\"}}]}}")})),
        ]),
        t("aws.persistence.iam-backdoor-user", &["access-key-created-for-other-user"], vec![
            Event::new("10:27:00", "iam", "CreateAccessKey").params(json!({"userName": "service-bot"}))
                .response(json!({"accessKey": {"accessKeyId": "AKIANEWKEY", "userName": "service-bot", "status": "Active"}})),
        ]),
        t("aws.persistence.iam-create-admin-user", &["iam-admin-policy-attached", "iam-policy-changes"], vec![
            Event::new("10:28:00", "iam", "CreateUser").params(json!({"userName": "backup-admin"})),
            Event::new("10:28:05", "iam", "AttachUserPolicy").params(json!({"userName": "backup-admin",
                "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})),
            Event::new("10:28:10", "iam", "CreateAccessKey").params(json!({"userName": "backup-admin"})),
        ]),
        t("aws.persistence.iam-create-backdoor-role", &["iam-admin-policy-attached", "policy-changes"], vec![
            Event::new("10:29:00", "iam", "CreateRole").params(json!({"roleName": "support",
                "assumeRolePolicyDocument": format!("{{\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":{{\"AWS\":\"arn:aws:iam::{OTHER}:root\"}},\"Action\":\"sts:AssumeRole\"}}]}}")})),
            Event::new("10:29:05", "iam", "AttachRolePolicy").params(json!({"roleName": "support",
                "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})),
        ]),
        t("aws.persistence.iam-create-user-login-profile", &["login-profile-changes"], vec![
            Event::new("10:30:00", "iam", "CreateLoginProfile").params(json!({"userName": "service-bot", "passwordResetRequired": false})),
        ]),
        t("aws.persistence.lambda-backdoor-function", &["lambda-function-shared-externally"], vec![
            Event::new("10:31:00", "lambda", "AddPermission20150331v2").params(json!({"functionName": "billing",
                "action": "lambda:InvokeFunction", "principal": "*", "statementId": "backdoor"})),
        ]),
        t("aws.persistence.lambda-layer-extension", &["lambda-layer-added"], vec![
            Event::new("10:32:00", "lambda", "UpdateFunctionConfiguration20150331v2").params(json!({"functionName": "billing",
                "layers": [format!("arn:aws:lambda:us-east-1:{OTHER}:layer:spy:1")]})),
        ]),
        t("aws.persistence.lambda-overwrite-code", &["lambda-code-updated"], vec![
            Event::new("10:33:00", "lambda", "UpdateFunctionCode20150331v2").params(json!({"functionName": "billing", "publish": true}))
                .response(json!({"codeSha256": "Pt1c8vVaBygm", "functionName": "billing"})),
        ]),
        t("aws.persistence.rolesanywhere-create-trust-anchor", &["rolesanywhere-trust-anchor-changes"], vec![
            Event::new("10:34:00", "rolesanywhere", "CreateTrustAnchor").params(json!({"name": "anchor", "enabled": true,
                "source": {"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": "-----BEGIN CERTIFICATE-----"}}})),
            Event::new("10:34:10", "rolesanywhere", "CreateProfile").params(json!({"name": "p", "roleArns": [format!("arn:aws:iam::{ACCOUNT}:role/r")]})),
        ]),
        t("aws.persistence.sts-federation-token", &["sts-federation-token"], vec![
            Event::new("10:35:00", "sts", "GetFederationToken").params(json!({"name": "persist", "policy": "{\"Statement\":[]}"})),
        ]),
        // Privilege escalation
        t("aws.privilege-escalation.iam-update-user-login-profile", &["login-profile-changes"], vec![
            Event::new("10:36:00", "iam", "UpdateLoginProfile").params(json!({"userName": "admin-alice"})),
        ]),
    ]
}

#[test]
fn every_stratus_technique_is_reported_by_the_audit_or_an_analysis() {
    let docs = crate::util::shared_data().join("stratus_red_team_techniques");
    let mut documented: Vec<String> = std::fs::read_dir(&docs)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_prefix("aws.")
                .and_then(|n| n.strip_suffix(".md"))
                .map(|n| format!("aws.{n}"))
        })
        .collect();
    documented.sort();
    let techniques = techniques();
    let mut tested: Vec<String> = techniques.iter().map(|t| t.id.to_owned()).collect();
    tested.sort();
    assert_eq!(
        tested, documented,
        "one entry per technique in the Stratus folder"
    );
    assert_eq!(tested.len(), 44);

    for technique in &techniques {
        let found = match technique.analysis {
            Some(analysis) => run(&[analysis], &technique.events),
            None => audit(&technique.events),
        };
        let reported = found.reported();
        for expected in technique.reported_by {
            assert!(
                reported.contains(expected),
                "{}: {expected} should report it; reported: {reported:?}",
                technique.id
            );
            assert_ne!(found.severity[*expected], "info", "{}", technique.id);
        }
    }
}

// ----- Look-alikes: what each new detection must not report ------------------------------

/// Runs the one `query` over `fire` and `quiet` events: every fire event's group or row is
/// reported (`expected` rows), and the quiet ones add nothing.
fn fires_only_on(query: &str, expected: usize, fire: Vec<Event>, quiet: Vec<Event>) {
    let alone = run(&[query], &quiet);
    assert_eq!(
        alone.count(query),
        0,
        "{query} fired on a look-alike: {:?}",
        alone.of(query)
    );
    let both: Vec<Event> = fire.into_iter().chain(quiet).collect();
    let found = run(&[query], &both);
    assert_eq!(
        found.count(query),
        expected,
        "{query}: {:?}",
        found.of(query)
    );
}

#[test]
fn credential_access_lookalikes_stay_quiet() {
    let admin = role("windows-admin", "s");
    fires_only_on(
        "ec2-password-data-retrieval",
        1,
        (0..3)
            .map(|i| {
                Event::new(&at(0, i), "ec2", "GetPasswordData")
                    .params(json!({"instanceId": format!("i-{i}")}))
            })
            .collect(),
        // One admin fetching the same instance's password several times.
        (0..6)
            .map(|i| {
                Event::new(&at(1, i), "ec2", "GetPasswordData")
                    .by(admin.clone())
                    .params(json!({"instanceId": "i-windows"}))
            })
            .collect(),
    );
    let app = role("app", "task");
    fires_only_on(
        "secrets-bulk-retrieval",
        1,
        (0..10)
            .map(|i| {
                Event::new(&at(0, i), "secretsmanager", "GetSecretValue")
                    .params(json!({"secretId": format!("s-{i}")}))
            })
            .collect(),
        // An application reading its three secrets on every start, all day; and an ECS
        // agent reading for a task through the service.
        (0..40)
            .map(|i| {
                Event::new(&at(i, 0), "secretsmanager", "GetSecretValue")
                    .by(app.clone())
                    .params(json!({"secretId": format!("db-{}", i % 3)}))
            })
            .chain((0..12).map(|i| {
                Event::new(&at(i, 1), "secretsmanager", "GetSecretValue")
                    .by(invoked_by(role("exec", "t"), "ecs-tasks.amazonaws.com"))
                    .params(json!({"secretId": format!("task-{i}")}))
            }))
            .collect(),
    );
    fires_only_on(
        "ssm-parameters-bulk-decryption",
        1,
        (0..5)
            .map(|i| {
                Event::new(&at(0, i), "ssm", "GetParameter")
                    .params(json!({"name": format!("/prod/p{i}"), "withDecryption": true}))
            })
            .collect(),
        // The same parameters read again and again, and plain (not decrypted) reads.
        (0..30)
            .map(|i| {
                Event::new(&at(i, 2), "ssm", "GetParameters")
                    .by(app.clone())
                    .params(json!({"names": ["/app/a", "/app/b"], "withDecryption": true}))
            })
            .chain((0..8).map(|i| {
                Event::new(&at(i, 3), "ssm", "GetParameter")
                    .by(app.clone())
                    .params(json!({"name": format!("/app/plain{i}"), "withDecryption": false}))
            }))
            .collect(),
    );
    fires_only_on(
        "secrets-batch-retrieval",
        1,
        vec![
            Event::new("10:00:00", "secretsmanager", "BatchGetSecretValue")
                .params(json!({"secretIdList": ["a", "b"]})),
        ],
        vec![
            Event::new("10:00:00", "secretsmanager", "ListSecrets"),
            Event::new("10:00:01", "secretsmanager", "GetSecretValue")
                .params(json!({"secretId": "a"})),
        ],
    );
}

#[test]
fn instance_credentials_are_flagged_away_from_their_instance_only() {
    let instance = role("web", "i-0abc1234def567890");
    let worker = role("worker", "i-0fed9876cba543210");
    // The instance at its own address; after a stop and start, at a new one; through a VPC
    // endpoint, at a private one; people at an office address that no instance uses.
    let quiet = vec![
        Event::new("09:00:00", "ec2", "DescribeInstances")
            .by(instance.clone())
            .ip("203.0.113.7"),
        Event::new("09:30:00", "s3", "ListBuckets")
            .by(instance.clone())
            .ip("203.0.113.7"),
        Event::new("11:00:00", "ec2", "DescribeInstances")
            .by(instance.clone())
            .ip("203.0.113.8"),
        Event::new("11:10:00", "ec2", "DescribeInstances")
            .by(instance.clone())
            .ip("203.0.113.8"),
        Event::new("09:15:00", "sqs", "ReceiveMessage")
            .by(worker.clone())
            .ip("10.0.3.7"),
        Event::new("09:15:00", "sqs", "ReceiveMessage")
            .by(worker.clone())
            .ip("203.0.113.9"),
        Event::new("09:20:00", "iam", "ListUsers")
            .by(user("alice"))
            .ip("198.51.100.1"),
    ];
    let found = run(&["suspicious-ips"], &quiet);
    assert_eq!(
        found.count("suspicious-ips"),
        0,
        "{:?}",
        found.of("suspicious-ips")
    );

    // The same credentials from a laptop while the instance still uses them, and from the
    // address where a person works.
    let mut fire = quiet.clone();
    fire.push(
        Event::new("09:10:00", "sts", "GetCallerIdentity")
            .by(instance.clone())
            .ip("192.0.2.200"),
    );
    fire.push(
        Event::new("09:25:00", "iam", "ListRoles")
            .by(worker.clone())
            .ip("198.51.100.1"),
    );
    let found = run(&["suspicious-ips"], &fire);
    let reasons: BTreeMap<String, String> = found
        .of("suspicious-ips")
        .iter()
        .map(|row| {
            (
                row["sourceIPAddress"].as_str().unwrap().to_owned(),
                row["reasons"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons["192.0.2.200"]
            .contains("instance credentials from a second address (web/i-0abc1234def567890)"),
        "{reasons:?}"
    );
    assert!(
        reasons["198.51.100.1"]
            .contains("instance credentials where people act (worker/i-0fed9876cba543210)"),
        "{reasons:?}"
    );
}

#[test]
fn discovery_lookalikes_stay_quiet() {
    let instance = role("web", "i-0abc1234def567890");
    let recon = [
        ("sts", "GetCallerIdentity"),
        ("iam", "ListUsers"),
        ("iam", "ListRoles"),
        ("s3", "ListBuckets"),
    ];
    fires_only_on(
        "instance-role-discovery",
        1,
        recon
            .iter()
            .enumerate()
            .map(|(i, (s, n))| Event::new(&at(0, i), s, n).by(instance.clone()))
            .collect(),
        // An application's instance: the same few calls, many times; and a person's
        // session named like an instance is not an instance.
        (0..50)
            .map(|i| {
                let (source, name) =
                    [("sts", "GetCallerIdentity"), ("ec2", "DescribeInstances")][i % 2];
                Event::new(&at(i, 4), source, name).by(role("app", "i-0123456789abcdef0"))
            })
            .chain(
                recon.iter().enumerate().map(|(i, (s, n))| {
                    Event::new(&at(1, i), s, n).by(role("admins", "i-am-alice"))
                }),
            )
            .collect(),
    );
    let scanner_calls = [
        ("iam", "ListUsers"),
        ("iam", "ListRoles"),
        ("iam", "ListPolicies"),
        ("iam", "GetAccountSummary"),
        ("organizations", "DescribeOrganization"),
        ("cloudtrail", "DescribeTrails"),
        ("guardduty", "ListDetectors"),
        ("s3", "ListBuckets"),
        ("ec2", "DescribeSnapshots"),
        ("ec2", "DescribeRegions"),
        ("kms", "ListKeys"),
    ];
    fires_only_on(
        "discovery-burst",
        1,
        scanner_calls
            .iter()
            .enumerate()
            .map(|(i, (s, n))| Event::new(&at(2, i), s, n))
            .collect(),
        // A DescribeInstances poller, many calls of one kind; the same enumeration made by
        // a person browsing the console; and one made by an AWS service.
        (0..200)
            .map(|i| {
                Event::new(&at(i % 60, i / 60), "ec2", "DescribeInstances").by(role("poller", "p"))
            })
            .chain(scanner_calls.iter().enumerate().map(|(i, (s, n))| {
                Event::new(&at(3, i), s, n)
                    .by(user("bob"))
                    .set("sessionCredentialFromConsole", json!("true"))
            }))
            .chain(scanner_calls.iter().enumerate().map(|(i, (s, n))| {
                Event::new(&at(4, i), s, n).by(invoked_by(
                    role("AWSServiceRoleForConfig", "c"),
                    "config.amazonaws.com",
                ))
            }))
            .collect(),
    );
    fires_only_on(
        "ec2-user-data-read-burst",
        1,
        (0..3)
            .map(|i| {
                Event::new(&at(5, i), "ec2", "DescribeInstanceAttribute")
                    .params(json!({"attribute": "userData", "instanceId": format!("i-{i}")}))
            })
            .collect(),
        // Two user-data reads, and other attributes of many instances.
        (0..2)
            .map(|i| {
                Event::new(&at(6, i), "ec2", "DescribeInstanceAttribute")
                    .by(user("ops"))
                    .params(json!({"attribute": "userData", "instanceId": format!("i-{i}")}))
            })
            .chain((0..10).map(|i| {
                Event::new(&at(7, i), "ec2", "DescribeInstanceAttribute")
                    .by(user("ops"))
                    .params(json!({"attribute": "instanceType", "instanceId": format!("i-{i}")}))
            }))
            .collect(),
    );
    fires_only_on(
        "ses-enumeration",
        1,
        ["GetSendQuota", "ListIdentities", "GetAccountSendingEnabled"]
            .iter()
            .enumerate()
            .map(|(i, n)| Event::new(&at(8, i), "ses", n))
            .collect(),
        // A quota monitor, every minute.
        (0..60)
            .map(|i| Event::new(&at(i, 5), "ses", "GetSendQuota").by(role("monitor", "m")))
            .collect(),
    );
}

#[test]
fn execution_and_lateral_movement_lookalikes_stay_quiet() {
    let run_instances = |who: Value, kind: &str, max: u32| {
        Event::new("10:00:00", "ec2", "RunInstances")
            .by(who)
            .params(json!({"instanceType": kind, "instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1, "maxCount": max}]}}))
    };
    fires_only_on(
        "ec2-unusual-instance-launch",
        4,
        vec![
            run_instances(user("mallory"), "g5.12xlarge", 1),
            run_instances(user("mallory"), "c5.metal", 1),
            run_instances(user("mallory"), "m5.24xlarge", 1),
            run_instances(user("mallory"), "t3.micro", 20),
        ],
        vec![
            run_instances(role("asg", "a"), "t3.large", 2),
            run_instances(role("asg", "a"), "m5.4xlarge", 9),
        ],
    );
    fires_only_on(
        "ec2-user-data-modified",
        1,
        vec![
            Event::new("10:00:00", "ec2", "ModifyInstanceAttribute").params(
                json!({"instanceId": "i-1", "userData": {"value": "<sensitiveDataRemoved>"}}),
            ),
        ],
        vec![
            Event::new("10:01:00", "ec2", "ModifyInstanceAttribute")
                .params(json!({"instanceId": "i-1", "instanceType": {"value": "m5.large"}})),
            Event::new("10:02:00", "ec2", "ModifyInstanceAttribute")
                .params(json!({"instanceId": "i-1", "disableApiTermination": {"value": true}})),
        ],
    );
    fires_only_on(
        "ssm-send-command",
        2,
        vec![
            Event::new("10:00:00", "ssm", "SendCommand")
                .params(json!({"documentName": "AWS-RunShellScript", "instanceIds": ["i-1"]})),
            Event::new("10:00:10", "ssm", "SendCommand")
                .by(role("ops", "o"))
                .params(json!({"documentName": "AWS-RunPowerShellScript", "targets": [{"key": "tag:env", "values": ["prod"]}]})),
        ],
        // Patching by a maintenance window, as the SSM service, and a shell script run
        // by a State Manager association.
        vec![
            Event::new("10:01:00", "ssm", "SendCommand")
                .by(invoked_by(role("maintenance-window", "mw"), "ssm.amazonaws.com"))
                .ip("ssm.amazonaws.com")
                .params(json!({"documentName": "AWS-RunPatchBaseline", "instanceIds": ["i-1", "i-2"]})),
            Event::new("10:02:00", "ssm", "SendCommand")
                .by(invoked_by(role("association", "as"), "ssm.amazonaws.com"))
                .ip("ssm.amazonaws.com")
                .params(json!({"documentName": "AWS-RunShellScript", "instanceIds": ["i-3"]})),
            Event::new("10:03:00", "ssm", "SendCommand")
                .params(json!({"documentName": "AWS-RunPatchBaseline", "instanceIds": ["i-4"]})),
        ],
    );
    fires_only_on(
        "ssm-sessions-to-many-instances",
        1,
        (0..3)
            .map(|i| {
                Event::new(&at(0, i), "ssm", "StartSession")
                    .params(json!({"target": format!("i-{i}")}))
            })
            .collect(),
        // Two instances, many sessions each.
        (0..10)
            .map(|i| {
                Event::new(&at(1, i), "ssm", "StartSession")
                    .by(user("ops"))
                    .params(json!({"target": format!("i-{}", i % 2)}))
            })
            .collect(),
    );
    fires_only_on(
        "ec2-instance-connect-to-many-instances",
        1,
        (0..3)
            .map(|i| {
                Event::new(&at(0, i), "ec2-instance-connect", "SendSSHPublicKey")
                    .params(json!({"instanceId": format!("i-{i}"), "instanceOSUser": "ec2-user"}))
            })
            .collect(),
        (0..6)
            .map(|i| {
                Event::new(&at(1, i), "ec2-instance-connect", "SendSSHPublicKey")
                    .by(user("ops"))
                    .params(json!({"instanceId": "i-bastion", "instanceOSUser": "ec2-user"}))
            })
            .collect(),
    );
    fires_only_on(
        "sagemaker-lifecycle-config-changed",
        1,
        vec![
            Event::new("10:00:00", "sagemaker", "UpdateNotebookInstance")
                .params(json!({"notebookInstanceName": "nb", "lifecycleConfigName": "x"})),
        ],
        vec![
            Event::new("10:01:00", "sagemaker", "UpdateNotebookInstance")
                .params(json!({"notebookInstanceName": "nb", "instanceType": "ml.t3.large"})),
            Event::new(
                "10:02:00",
                "sagemaker",
                "CreateNotebookInstanceLifecycleConfig",
            )
            .by(invoked_by(
                role("deploy", "cfn"),
                "cloudformation.amazonaws.com",
            ))
            .params(json!({"notebookInstanceLifecycleConfigName": "standard"})),
        ],
    );
}

#[test]
fn exfiltration_lookalikes_stay_quiet() {
    let image = |items: Value| {
        Event::new("10:00:00", "ec2", "ModifyImageAttribute")
            .params(json!({"imageId": "ami-1", "attributeType": "launchPermission", "launchPermission": items}))
    };
    fires_only_on(
        "snapshot-or-ami-shared",
        3,
        vec![
            image(json!({"add": {"items": [{"userId": ACCOUNT}, {"userId": OTHER}]}})),
            Event::new("10:01:00", "rds", "ModifyDBClusterSnapshotAttribute")
                .params(json!({"attributeName": "restore", "dBClusterSnapshotIdentifier": "c", "valuesToAdd": [ACCOUNT, OTHER]})),
            Event::new("10:02:00", "ec2", "ModifySnapshotAttribute").params(
                json!({"snapshotId": "snap-1", "createVolumePermission": {"add": {"items": [{"userId": OTHER}]}}}),
            ),
        ],
        // Shared with the account itself, permissions removed, a failed share, and the
        // public case, which is snapshot-or-ami-made-public's.
        vec![
            image(json!({"add": {"items": [{"userId": ACCOUNT}]}})),
            image(json!({"remove": {"items": [{"userId": OTHER}]}})),
            image(json!({"add": {"items": [{"userId": OTHER}]}})).denied(),
            image(json!({"add": {"items": [{"group": "all"}]}})),
            Event::new("10:03:00", "rds", "ModifyDBSnapshotAttribute")
                .params(json!({"attributeName": "restore", "dBSnapshotIdentifier": "d", "valuesToAdd": [ACCOUNT]})),
            Event::new("10:04:00", "rds", "ModifyDBSnapshotAttribute")
                .params(json!({"attributeName": "restore", "dBSnapshotIdentifier": "d", "valuesToRemove": [OTHER]})),
        ],
    );
    let ingress = |params: Value| {
        Event::new("10:00:00", "ec2", "AuthorizeSecurityGroupIngress").params(params)
    };
    let ranges = |cidr: &str| {
        json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
            "ipRanges": {"items": [{"cidrIp": cidr}]}}]}})
    };
    fires_only_on(
        "security-group-open-to-broad-range",
        3,
        vec![
            ingress(ranges("0.0.0.0/1")),
            ingress(ranges("100.0.0.0/8")),
            ingress(
                json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipv6Ranges": {"items": [{"cidrIpv6": "2000::/3"}]}}]}}),
            ),
        ],
        vec![
            ingress(ranges("10.0.0.0/8")),
            ingress(ranges("10.0.0.0/16")),
            ingress(ranges("192.0.2.0/24")),
            ingress(ranges("0.0.0.0/0")),
            ingress(
                json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipv6Ranges": {"items": [{"cidrIpv6": "2001:db8::/48"}]}}]}}),
            ),
            ingress(ranges("0.0.0.0/1")).denied(),
        ],
    );
    fires_only_on(
        "lambda-function-shared-externally",
        3,
        vec![
            Event::new("10:00:00", "lambda", "AddPermission20150331v2")
                .params(json!({"functionName": "f", "principal": OTHER, "action": "lambda:InvokeFunction"})),
            Event::new("10:00:10", "lambda", "AddPermission20150331v2")
                .params(json!({"functionName": "f", "principal": format!("arn:aws:iam::{OTHER}:role/x")})),
            Event::new("10:00:20", "lambda", "CreateFunctionUrlConfig20211031")
                .params(json!({"functionName": "f", "authType": "NONE"})),
        ],
        // Triggers from AWS services, the function's own account, an authenticated URL.
        vec![
            Event::new("10:01:00", "lambda", "AddPermission20150331v2")
                .params(json!({"functionName": "f", "principal": "s3.amazonaws.com", "sourceArn": "arn:aws:s3:::b"})),
            Event::new("10:01:10", "lambda", "AddPermission20150331v2")
                .params(json!({"functionName": "f", "principal": ACCOUNT})),
            Event::new("10:01:20", "lambda", "AddPermission20150331v2")
                .params(json!({"functionName": "f", "principal": format!("arn:aws:iam::{ACCOUNT}:role/caller")})),
            Event::new("10:01:30", "lambda", "CreateFunctionUrlConfig20211031")
                .params(json!({"functionName": "f", "authType": "AWS_IAM"})),
        ],
    );
}

#[test]
fn persistence_lookalikes_stay_quiet() {
    let cfn = invoked_by(role("deploy", "cfn"), "cloudformation.amazonaws.com");
    fires_only_on(
        "lambda-layer-added",
        1,
        vec![
            Event::new(
                "10:00:00",
                "lambda",
                "UpdateFunctionConfiguration20150331v2",
            )
            .params(
                json!({"functionName": "f", "layers": ["arn:aws:lambda:us-east-1:1:layer:x:1"]}),
            ),
        ],
        vec![
            Event::new(
                "10:01:00",
                "lambda",
                "UpdateFunctionConfiguration20150331v2",
            )
            .params(json!({"functionName": "f", "environment": {}, "timeout": 30})),
            Event::new(
                "10:02:00",
                "lambda",
                "UpdateFunctionConfiguration20150331v2",
            )
            .params(json!({"functionName": "f", "layers": []})),
            Event::new(
                "10:03:00",
                "lambda",
                "UpdateFunctionConfiguration20150331v2",
            )
            .by(cfn.clone())
            .params(
                json!({"functionName": "f", "layers": ["arn:aws:lambda:us-east-1:1:layer:x:2"]}),
            ),
        ],
    );
    fires_only_on(
        "lambda-code-updated",
        1,
        vec![
            Event::new("10:00:00", "lambda", "UpdateFunctionCode20150331v2")
                .params(json!({"functionName": "f"})),
        ],
        vec![
            Event::new("10:01:00", "lambda", "UpdateFunctionCode20150331v2")
                .by(cfn.clone())
                .params(json!({"functionName": "f"})),
            Event::new("10:02:00", "lambda", "GetFunction").params(json!({"functionName": "f"})),
        ],
    );
    fires_only_on(
        "iam-admin-policy-attached",
        2,
        vec![
            Event::new("10:00:00", "iam", "AttachGroupPolicy")
                .params(json!({"groupName": "g", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})),
            Event::new("10:00:10", "iam", "AttachRolePolicy")
                .params(json!({"roleName": "r", "policyArn": "arn:aws-us-gov:iam::aws:policy/IAMFullAccess"})),
        ],
        vec![
            Event::new("10:01:00", "iam", "AttachRolePolicy")
                .params(json!({"roleName": "r", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})),
            Event::new("10:01:10", "iam", "AttachRolePolicy")
                .params(json!({"roleName": "r", "policyArn": format!("arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess-copy")})),
            Event::new("10:01:20", "iam", "DetachRolePolicy")
                .params(json!({"roleName": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})),
        ],
    );
    fires_only_on(
        "sts-federation-token",
        1,
        vec![Event::new("10:00:00", "sts", "GetFederationToken").params(json!({"name": "x"}))],
        vec![
            Event::new("10:01:00", "sts", "GetSessionToken")
                .params(json!({"serialNumber": "arn:aws:iam::1:mfa/a"})),
            Event::new("10:01:10", "sts", "AssumeRole")
                .params(json!({"roleArn": "arn:aws:iam::1:role/r"})),
        ],
    );
    fires_only_on(
        "rolesanywhere-trust-anchor-changes",
        1,
        vec![
            Event::new("10:00:00", "rolesanywhere", "UpdateTrustAnchor")
                .params(json!({"name": "a"})),
        ],
        vec![Event::new("10:01:00", "rolesanywhere", "ListTrustAnchors")],
    );
}

#[test]
fn defense_evasion_and_impact_lookalikes_stay_quiet() {
    fires_only_on(
        "dns-query-logging-deleted",
        2,
        vec![
            Event::new(
                "10:00:00",
                "route53resolver",
                "DisassociateResolverQueryLogConfig",
            )
            .params(json!({"resolverQueryLogConfigId": "rqlc-1", "resourceId": "vpc-1"})),
            Event::new("10:00:10", "route53", "DeleteQueryLoggingConfig")
                .params(json!({"id": "q-1"})),
        ],
        vec![
            Event::new(
                "10:01:00",
                "route53resolver",
                "CreateResolverQueryLogConfig",
            )
            .params(json!({"name": "n"})),
            Event::new("10:01:10", "route53resolver", "ListResolverQueryLogConfigs"),
        ],
    );
    fires_only_on(
        "bedrock-model-access-changes",
        1,
        vec![Event::new(
            "10:00:00",
            "bedrock",
            "DeleteModelInvocationLoggingConfiguration",
        )],
        vec![Event::new(
            "10:01:00",
            "bedrock",
            "GetModelInvocationLoggingConfiguration",
        )],
    );
    let app = role("chatbot", "task");
    fires_only_on(
        "bedrock-probing",
        1,
        [
            "ListFoundationModels",
            "GetFoundationModelAvailability",
            "InvokeModel",
        ]
        .iter()
        .enumerate()
        .map(|(i, n)| Event::new(&at(0, i), "bedrock", n))
        .collect(),
        // An application invoking its model all day, and a developer in the console.
        (0..40)
            .map(|i| {
                let name = if i % 2 == 0 {
                    "InvokeModel"
                } else {
                    "Converse"
                };
                Event::new(&at(i, 6), "bedrock", name).by(app.clone())
            })
            .chain(
                ["ListFoundationModels", "GetFoundationModel", "InvokeModel"]
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        Event::new(&at(2, i), "bedrock", n)
                            .by(user("dev"))
                            .set("sessionCredentialFromConsole", json!("true"))
                    }),
            )
            .collect(),
    );
    fires_only_on(
        "s3-mass-object-deletion",
        1,
        (0..20)
            .map(|i| {
                Event::new(&at(0, i), "s3", "DeleteObject")
                    .params(json!({"bucketName": "data", "key": format!("k{i}")}))
                    .data()
            })
            .collect(),
        // Nineteen deletes, a version deleted again and again, and deletes spread over
        // buckets.
        (0..19)
            .map(|i| {
                Event::new(&at(1, i), "s3", "DeleteObject")
                    .by(user("etl"))
                    .params(json!({"bucketName": "tmp", "key": format!("k{i}")}))
                    .data()
            })
            .chain((0..30).map(|i| {
                Event::new(&at(2, i), "s3", "DeleteObject")
                    .by(user("etl"))
                    .params(
                        json!({"bucketName": "cache", "key": "same", "versionId": format!("v{i}")}),
                    )
                    .data()
            }))
            .chain((0..30).map(|i| {
                Event::new(&at(3, i), "s3", "DeleteObject")
                    .by(user("etl"))
                    .params(json!({"bucketName": format!("b{i}"), "key": "k"}))
                    .data()
            }))
            .collect(),
    );
    fires_only_on(
        "s3-versions-listed-then-batch-deleted",
        1,
        vec![
            Event::new("10:00:00", "s3", "ListObjectVersions")
                .params(json!({"bucketName": "data"}))
                .data(),
            Event::new("10:00:10", "s3", "DeleteObjects")
                .params(json!({"bucketName": "data"}))
                .data(),
        ],
        // `aws s3 rm --recursive`: a plain listing, then bulk deletes; and versions listed
        // in one bucket, deleted in another.
        vec![
            Event::new("10:01:00", "s3", "ListObjects")
                .by(user("ops"))
                .params(json!({"bucketName": "tmp"}))
                .data(),
            Event::new("10:01:10", "s3", "DeleteObjects")
                .by(user("ops"))
                .params(json!({"bucketName": "tmp"}))
                .data(),
            Event::new("10:02:00", "s3", "ListObjectVersions")
                .by(user("ops"))
                .params(json!({"bucketName": "a"}))
                .data(),
            Event::new("10:02:10", "s3", "DeleteObjects")
                .by(user("ops"))
                .params(json!({"bucketName": "b"}))
                .data(),
        ],
    );
    fires_only_on(
        "s3-objects-encrypted-with-customer-key",
        1,
        (0..5)
            .map(|i| {
                Event::new(&at(0, i), "s3", "PutObject")
                    .params(json!({"bucketName": "data", "key": format!("k{i}"),
                        "x-amz-server-side-encryption-customer-algorithm": "AES256"}))
                    .data()
            })
            .collect(),
        // Ordinary uploads, with S3- and KMS-managed keys.
        (0..20)
            .map(|i| {
                Event::new(&at(1, i), "s3", "PutObject")
                    .by(user("app"))
                    .params(json!({"bucketName": "data", "key": format!("k{i}"), "x-amz-server-side-encryption": "aws:kms"}))
                    .data()
            })
            .collect(),
    );
    fires_only_on(
        "ec2-ami-deregistered",
        1,
        vec![Event::new("10:00:00", "ec2", "DeregisterImage").params(json!({"imageId": "ami-1"}))],
        vec![
            Event::new("10:01:00", "ec2", "DescribeImages"),
            Event::new("10:01:10", "ec2", "CreateImage"),
        ],
    );
    fires_only_on(
        "ec2-serial-console-access",
        1,
        vec![Event::new("10:00:00", "ec2", "EnableSerialConsoleAccess")],
        vec![
            Event::new("10:01:00", "ec2", "DisableSerialConsoleAccess"),
            Event::new("10:01:10", "ec2", "GetSerialConsoleAccessStatus"),
        ],
    );
}

// ----- The fixes of issue 16, item 3 -----------------------------------------------------

#[test]
fn regression_rds_snapshots_made_public_are_reported() {
    let public = |name: &str, kind: &str| {
        Event::new("10:00:00", "rds", name)
            .params(json!({"attributeName": "restore", kind: "prod", "valuesToAdd": ["all"]}))
    };
    let found = run(
        &["snapshot-or-ami-made-public"],
        &[
            public("ModifyDBSnapshotAttribute", "dBSnapshotIdentifier"),
            public("ModifyDBClusterSnapshotAttribute", "dBClusterSnapshotIdentifier"),
            Event::new("10:01:00", "rds", "ModifyDBSnapshotAttribute")
                .params(json!({"attributeName": "restore", "dBSnapshotIdentifier": "prod", "valuesToRemove": ["all"]})),
        ],
    );
    let resources: Vec<&str> = (found.of("snapshot-or-ami-made-public").iter())
        .map(|r| r["resource"].as_str().unwrap())
        .collect();
    assert_eq!(resources, ["prod", "prod"]);
}

#[test]
fn regression_made_public_reads_every_item_of_the_list() {
    let found = run(
        &["snapshot-or-ami-made-public"],
        &[
            Event::new("10:00:00", "ec2", "ModifySnapshotAttribute").params(json!({"snapshotId": "snap-1",
                "createVolumePermission": {"add": {"items": [{"userId": OTHER}, {"group": "all"}]}}})),
            Event::new("10:00:10", "ec2", "ModifyImageAttribute").params(json!({"imageId": "ami-1",
                "launchPermission": {"add": {"items": [{"userId": ACCOUNT}, {"userId": OTHER}, {"group": "all"}]}}})),
            Event::new("10:00:20", "rds", "ModifyDBSnapshotAttribute")
                .params(json!({"attributeName": "restore", "dBSnapshotIdentifier": "d", "valuesToAdd": [OTHER, "all"]})),
        ],
    );
    assert_eq!(found.count("snapshot-or-ami-made-public"), 3);
}

#[test]
fn regression_made_public_ignores_failed_calls() {
    let found = run(
        &["snapshot-or-ami-made-public"],
        &[
            Event::new("10:00:00", "ec2", "ModifyImageAttribute")
                .params(json!({"imageId": "ami-1", "launchPermission": {"add": {"items": [{"group": "all"}]}}}))
                .set("errorCode", json!("Client.UnauthorizedOperation")),
            Event::new("10:00:10", "ec2", "ModifySnapshotAttribute")
                .params(json!({"snapshotId": "snap-1", "createVolumePermission": {"add": {"items": [{"group": "all"}]}}}))
                .set("errorCode", json!("Client.InvalidSnapshot.InUse")),
        ],
    );
    assert_eq!(found.count("snapshot-or-ami-made-public"), 0);
}

#[test]
fn regression_open_to_world_parses_the_cidr_wherever_it_is() {
    let ingress = |params: Value| {
        Event::new("10:00:00", "ec2", "AuthorizeSecurityGroupIngress").params(params)
    };
    let fire = vec![
        // Any address with /0, at the top of the request (the CLI's --cidr).
        ingress(json!({"groupId": "sg-1", "cidrIp": "208.236.235.254/0", "fromPort": 22, "toPort": 22, "ipProtocol": "tcp"})),
        // The second rule of the second permission.
        ingress(json!({"groupId": "sg-1", "ipPermissions": {"items": [
            {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}},
            {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "10.1.0.0/16"}, {"cidrIp": "0.0.0.0/0"}]}}]}})),
        // requestParameters as a JSON string, as Athena keeps it, with spaces and the
        // CIDR before the other fields.
        ingress(json!("{ \"ipPermissions\" : { \"items\" : [ { \"ipv6Ranges\" : { \"items\" : [ { \"cidrIpv6\" : \"::/0\" } ] }, \"ipProtocol\" : \"-1\" } ] }, \"groupId\" : \"sg-1\" }")),
        // Only the response lists the rule.
        ingress(json!({"groupId": "sg-1", "ipPermissions": {"items": [{"prefixListIds": {"items": [{"prefixListId": "pl-1"}]}}]}}))
            .response(json!({"_return": true, "securityGroupRuleSet": {"items": [{"cidrIpv4": "0.0.0.0/0", "isEgress": false}]}})),
        Event::new("10:00:00", "ec2", "ModifySecurityGroupRules").params(json!({"ModifySecurityGroupRulesRequest": {
            "GroupId": "sg-1", "SecurityGroupRule": {"SecurityGroupRuleId": "sgr-1",
                "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "CidrIpv4": "0.0.0.0/0"}}}})),
    ];
    let quiet = vec![
        ingress(json!({"groupId": "sg-1", "cidrIp": "10.0.0.0/8", "description": "office /0"})),
        ingress(json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}})).denied(),
        Event::new("10:00:00", "ec2", "RevokeSecurityGroupIngress").params(json!({"groupId": "sg-1", "cidrIp": "0.0.0.0/0"})),
    ];
    fires_only_on("security-group-open-to-world", fire.len(), fire, quiet);
}

#[test]
fn regression_suspicious_ips_counts_unparsable_addresses() {
    let events: Vec<Event> = (0..12)
        .map(|i| {
            Event::new(&at(0, i), "ec2", "DescribeInstanceAttribute")
                .by(role("r", "s"))
                .ip("255.18.064.253")
                .set("errorCode", json!("Client.UnauthorizedOperation"))
        })
        .chain([
            Event::new("10:01:00", "s3", "ListBuckets").ip("redacted"),
            Event::new("10:01:10", "s3", "ListBuckets").ip("ec2.amazonaws.com"),
            Event::new("10:01:20", "s3", "ListBuckets").ip("AWS Internal"),
        ])
        .collect();
    let found = run(&["suspicious-ips"], &events);
    let unreadable: Vec<&str> = (found.of("suspicious-ips-unreadable").iter())
        .map(|r| r["sourceIPAddress"].as_str().unwrap())
        .collect();
    assert_eq!(unreadable, ["255.18.064.253", "redacted"]);
    assert_eq!(found.severity["suspicious-ips-unreadable"], "info");
    // The thresholds still apply to an address that cannot be parsed.
    let flagged = found.of("suspicious-ips");
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(flagged[0]["sourceIPAddress"], "255.18.064.253");
    assert_eq!(flagged[0]["reasons"], "denied calls");
}

#[test]
fn regression_console_login_without_mfa_data_counts_as_no_mfa() {
    let login = |who: Value, extra: Option<Value>| {
        let event = Event::new("10:00:00", "signin", "ConsoleLogin")
            .by(who)
            .set("eventType", json!("AwsConsoleSignIn"))
            .response(json!({"ConsoleLogin": "Success"}));
        match extra {
            Some(extra) => event.set("additionalEventData", extra),
            None => event,
        }
    };
    fires_only_on(
        "console-login-no-mfa",
        3,
        vec![
            login(user("a"), None),
            login(
                user("b"),
                Some(json!({"LoginTo": "https://console.aws.amazon.com/"})),
            ),
            login(user("c"), Some(json!({"MFAUsed": "No"}))),
        ],
        vec![
            login(user("d"), Some(json!({"MFAUsed": "Yes"}))),
            login(role("AWSReservedSSO_admin", "e"), None),
            login(user("f"), None).response(json!({"ConsoleLogin": "Failure"})),
        ],
    );
}

#[test]
fn regression_root_access_key_through_a_service_is_reported() {
    let key = |identity: Value| {
        Event::new("10:00:00", "iam", "CreateAccessKey")
            .by(identity)
            .response(json!({"accessKey": {"accessKeyId": "AKIAROOTKEY", "status": "Active"}}))
    };
    let found = audit(&[
        key(invoked_by(root(), "signin.amazonaws.com")),
        key(user("bob")),
    ]);
    assert_eq!(
        found.count("root-usage"),
        0,
        "CIS 4.3 leaves service-invoked calls out"
    );
    let rows = found.of("root-access-key-created");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["invoked_by"], "signin.amazonaws.com");
    assert_eq!(found.severity["root-access-key-created"], "critical");
}

// ----- Item 4: false alarms --------------------------------------------------------------

#[test]
fn regression_many_principals_alone_do_not_flag_an_address() {
    // 39 offices, NAT gateways or VPNs, each with 60 people who work (a sign-in, calls that
    // succeed) and now and then are denied; then 3 attackers.
    let mut events = Vec::new();
    for office in 0..39 {
        let address = format!("198.51.{}.{}", 100 + office / 200, office % 200 + 1);
        for person in 0..60 {
            let who = user(&format!("u{office}-{person}"));
            let time = at(person % 60, office % 60);
            events.push(
                Event::new(&time, "signin", "ConsoleLogin")
                    .by(who.clone())
                    .ip(&address)
                    .response(json!({"ConsoleLogin": "Success"})),
            );
            events.push(
                Event::new(&time, "ec2", "DescribeInstances")
                    .by(who.clone())
                    .ip(&address),
            );
            if person % 20 == 0 {
                events.push(
                    Event::new(&time, "s3", "ListBuckets")
                        .by(who.clone())
                        .ip(&address)
                        .denied(),
                );
                events.push(
                    Event::new(&time, "signin", "ConsoleLogin")
                        .by(who)
                        .ip(&address)
                        .set("errorMessage", json!("Failed authentication"))
                        .response(json!({"ConsoleLogin": "Failure"})),
                );
            }
        }
    }
    // A password sprayer, a thief trying stolen keys, a thief exploring one key.
    for i in 0..8 {
        events.push(
            Event::new(&at(1, i), "signin", "ConsoleLogin")
                .by(user(&format!("victim{i}")))
                .ip("203.0.113.1")
                .set("errorMessage", json!("Failed authentication"))
                .response(json!({"ConsoleLogin": "Failure"})),
        );
    }
    for i in 0..12 {
        events.push(
            Event::new(&at(2, i), "s3", "ListBuckets")
                .by(user(&format!("leaked{}", i % 4)))
                .ip("203.0.113.2")
                .denied(),
        );
        events.push(
            Event::new(&at(3, i), "iam", "ListUsers")
                .by(user("stolen"))
                .ip("203.0.113.3")
                .denied(),
        );
        events.push(
            Event::new(&at(4, i), "ec2", "DescribeInstances")
                .by(user("stolen"))
                .ip("203.0.113.3"),
        );
    }
    let found = run(&["suspicious-ips"], &events);
    let mut flagged: Vec<&str> = (found.of("suspicious-ips").iter())
        .map(|r| r["sourceIPAddress"].as_str().unwrap())
        .collect();
    flagged.sort_unstable();
    assert_eq!(flagged, ["203.0.113.1", "203.0.113.2", "203.0.113.3"]);

    // A threshold of one principal would name the offices' principals, as a supporting
    // reason only.
    let dir = tempfile::tempdir().unwrap();
    deliver(dir.path(), &events);
    let output = trailscan(&[
        "suspicious-ips",
        dir.path().to_str().unwrap(),
        "--principals",
        "1",
        "--format",
        "blocklist",
    ]);
    assert_eq!(
        stdout(&output),
        "203.0.113.1/32\n203.0.113.2/32\n203.0.113.3/32\n"
    );
}

#[test]
fn regression_informational_queries_leave_the_default_audit() {
    let events = [
        Event::new("10:00:00", "iam", "GetRole").params(json!({"roleName": "r"})),
        Event::new("10:00:10", "sts", "AssumeRole")
            .params(json!({"roleArn": "arn:aws:iam::1:role/r"})),
    ];
    let found = audit(&events);
    assert!(
        !found.counts.contains_key("athena-policy-and-role-events"),
        "{:?}",
        found.counts
    );
    // Named, it runs; selected in the configuration file, it runs in the audit.
    let found = run(&["athena-policy-and-role-events"], &events);
    assert_eq!(found.count("athena-policy-and-role-events"), 2);
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "trailscan.toml",
        b"queries = [\"athena-policy-and-role-events\", \"root-usage\"]\n",
    );
    let found = run(&["--config", config.to_str().unwrap(), "audit"], &events);
    assert_eq!(found.count("athena-policy-and-role-events"), 2);
}

// ----- ATT&CK as data --------------------------------------------------------------------

#[test]
fn attack_mapping_reaches_the_matrix_json_and_alerts() {
    let output = trailscan(&["queries", "--attack"]);
    assert_eq!(code(&output), 0);
    let matrix = stdout(&output);
    assert!(matrix.starts_with("ATT&CK coverage: "), "{matrix}");
    let defense = matrix
        .split("\nDefense Evasion (TA0005)\n")
        .nth(1)
        .expect("the tactic");
    let defense = defense.split("\n\n").next().unwrap();
    assert!(
        defense.contains("  T1562.008 Impair Defenses: Disable or Modify Cloud Logs\n      ")
            && defense.contains("cloudtrail-changes")
            && defense.contains("dns-query-logging-deleted"),
        "{defense}"
    );
    assert!(
        matrix.contains("\nExfiltration (TA0010)\n  T1537 Transfer Data to Cloud Account\n"),
        "{matrix}"
    );
    assert!(
        matrix.contains("suspicious-ips"),
        "analyses are in the matrix: {matrix}"
    );

    let events = [Event::new("10:00:00", "cloudtrail", "StopLogging").params(json!({"name": "t"}))];
    let dir = tempfile::tempdir().unwrap();
    deliver(dir.path(), &events);
    let path = dir.path().to_str().unwrap();
    let output = trailscan(&["cloudtrail-changes", path, "--format", "jsonl"]);
    let row: Value = serde_json::from_str(stdout(&output).lines().next().unwrap()).unwrap();
    assert_eq!(row["tactics"], json!(["defense-evasion"]));
    assert_eq!(row["techniques"], json!(["T1562.008"]));
    let output = trailscan(&["cloudtrail-changes", path, "--format", "json"]);
    let document: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(document["rows"][0]["techniques"], json!(["T1562.008"]));
    let output = trailscan(&[
        "cloudtrail-changes",
        path,
        "--sns-topic",
        "arn:aws:sns:us-east-1:111122223333:alerts",
        "--dry-run",
    ]);
    assert!(
        stderr(&output).contains("ATT&CK: Defense Evasion (TA0005); T1562.008 Impair Defenses: Disable or Modify Cloud Logs"),
        "{}",
        stderr(&output)
    );
    // Ad-hoc SQL has no mapping, and no such fields.
    let output = trailscan(&[
        "query",
        "SELECT eventName FROM cloudtrail_logs",
        path,
        "--format",
        "jsonl",
    ]);
    assert!(!stdout(&output).contains("tactics"), "{}", stdout(&output));

    // A user's query may name its own; a bad one is a lint error with its line.
    let queries = tempfile::tempdir().unwrap();
    write(
        queries.path(),
        "mine.sql",
        b"-- name: mine\n-- title: Mine\n-- severity: low\n-- tactics: defence-evasion\n-- techniques: T1562.8, T1562.008\nSELECT eventName FROM cloudtrail_logs\n",
    );
    let output = trailscan(&["queries", "lint", queries.path().to_str().unwrap()]);
    let text = stdout(&output);
    assert!(
        text.contains("mine.sql:4: 'defence-evasion' is not an ATT&CK tactic"),
        "{text}"
    );
    assert!(
        text.contains("mine.sql:5: 'T1562.8' is not an ATT&CK technique id"),
        "{text}"
    );
}
