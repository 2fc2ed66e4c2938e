//! moto's S3 server on 127.0.0.1 for the S3 tests, and a small client to fill buckets.
//!
//! `.ci/run` starts the server and sets `TRAILSCAN_TEST_S3_ENDPOINT`. Without it, the
//! harness installs moto once into `target/moto-venv` (from PyPI, with the machine's
//! `python3`) and starts it on a free port. No test skips: when moto cannot be had, the
//! tests that need it fail and say what to install.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

use super::repo;

/// Environment for every process that talks to moto: dummy credentials, a region, and
/// no instance-metadata lookups or profile files, so nothing reaches beyond 127.0.0.1.
pub const AWS_ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/nonexistent/trailscan-test/config"),
    (
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/trailscan-test/credentials",
    ),
];

/// The pinned moto release the harness installs.
const MOTO: &str = "moto[server]==5.2.5";

/// The server's endpoint; fails the calling test, saying what to install, when there is none.
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<Result<String, String>> = OnceLock::new();
    match ENDPOINT.get_or_init(start) {
        Ok(endpoint) => endpoint,
        Err(why) => panic!(
            "moto's server is needed for this test and could not be started: {why}\n\
             It is installed with: python3 -m venv target/moto-venv && \
             target/moto-venv/bin/pip install '{MOTO}'"
        ),
    }
}

/// `target/moto-venv/bin/moto_server`, installing it first when it is not there.
fn provisioned_server() -> Result<PathBuf, String> {
    let venv = repo().join("target/moto-venv");
    let server = venv.join("bin/moto_server");
    if server.exists() {
        return Ok(server);
    }
    let run = |program: &Path, args: &[&str]| -> Result<(), String> {
        let output = Command::new(program)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} {} failed: {}",
                program.display(),
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    };
    let venv_arg = venv.to_string_lossy().into_owned();
    run(Path::new("python3"), &["-m", "venv", &venv_arg])?;
    run(&venv.join("bin/pip"), &["install", "--quiet", MOTO])?;
    if server.exists() {
        Ok(server)
    } else {
        Err(format!("{MOTO} installed no {}", server.display()))
    }
}

fn start() -> Result<String, String> {
    if let Ok(endpoint) = std::env::var("TRAILSCAN_TEST_S3_ENDPOINT") {
        return wait_until_ready(&endpoint).map(|()| endpoint);
    }
    let program = provisioned_server()?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?
        .port();
    // The shell waits on our stdin: when this test process exits, the pipe closes and
    // the server is stopped, so no moto_server outlives the tests.
    let script = format!(
        "'{}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & server=$!; cat >/dev/null; kill $server",
        program.display()
    );
    let child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start moto_server: {e}"))?;
    // Keep the pipe open for the life of the process.
    std::mem::forget(child);
    let endpoint = format!("http://127.0.0.1:{port}");
    wait_until_ready(&endpoint).map(|()| endpoint)
}

fn wait_until_ready(endpoint: &str) -> Result<(), String> {
    let address = endpoint.trim_start_matches("http://");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(address) {
            use std::io::Write;
            let request = format!("GET /moto-api/ HTTP/1.0\r\nHost: {address}\r\n\r\n");
            if stream.write_all(request.as_bytes()).is_ok() {
                let mut head = [0u8; 12];
                if stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") {
                    return Ok(());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "moto_server did not answer at {endpoint} within 20 s"
    ))
}

/// Runs trailscan against the server, with `--endpoint-url` and the test environment.
pub fn trailscan_s3(endpoint: &str, args: &[&str]) -> Output {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("trailscan"));
    command
        .current_dir(repo())
        .args(args)
        .args(["--endpoint-url", endpoint]);
    for (key, value) in AWS_ENV {
        command.env(key, value);
    }
    command
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL");
    command.output().expect("trailscan runs")
}

/// A blocking S3 client for setting up buckets.
pub struct Bucket {
    runtime: tokio::runtime::Runtime,
    client: Client,
    pub name: String,
}

impl Bucket {
    /// Creates (or empties) a bucket named `name-<pid>`, unique to this test run.
    pub fn create(endpoint: &str, name: &str) -> Bucket {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .build();
        let client = Client::from_conf(config);
        let name = format!("{name}-{}", std::process::id());
        runtime
            .block_on(client.create_bucket().bucket(&name).send())
            .expect("bucket is created");
        Bucket {
            runtime,
            client,
            name,
        }
    }

    pub fn put(&self, key: &str, bytes: Vec<u8>) {
        self.runtime
            .block_on(
                self.client
                    .put_object()
                    .bucket(&self.name)
                    .key(key)
                    .body(ByteStream::from(bytes))
                    .send(),
            )
            .unwrap_or_else(|e| panic!("upload of {key}: {e:?}"));
    }

    /// Uploads an object with user metadata (`x-amz-meta-NAME: VALUE`).
    pub fn put_with_metadata(
        &self,
        key: &str,
        bytes: Vec<u8>,
        metadata: &std::collections::BTreeMap<String, String>,
    ) {
        let metadata: std::collections::HashMap<String, String> = metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.runtime
            .block_on(
                self.client
                    .put_object()
                    .bucket(&self.name)
                    .key(key)
                    .set_metadata(Some(metadata))
                    .body(ByteStream::from(bytes))
                    .send(),
            )
            .unwrap_or_else(|e| panic!("upload of {key}: {e:?}"));
    }

    /// Uploads every file below `dir` under `prefix`, keeping the relative paths as keys.
    pub fn upload_tree(&self, dir: &Path, prefix: &str) -> usize {
        let mut files = Vec::new();
        collect(dir, &mut files);
        for file in &files {
            let relative = file
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            self.put(&format!("{prefix}{relative}"), std::fs::read(file).unwrap());
        }
        files.len()
    }

    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.name)
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Creates an SNS topic named `name-<pid>` and returns its ARN.
pub fn create_topic(endpoint: &str, name: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = aws_sdk_sns::Config::builder()
        .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
        .region(aws_sdk_sns::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sns::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    let client = aws_sdk_sns::Client::from_conf(config);
    let name = format!("{name}-{}", std::process::id());
    let created = runtime
        .block_on(client.create_topic().name(&name).send())
        .expect("topic is created");
    created.topic_arn().expect("an ARN").to_owned()
}

/// A notification as moto recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub subject: String,
    pub body: String,
    pub query: String,
    pub severity: String,
}

/// Everything moto holds, from its state API. The dump walks every service's objects, and
/// fails now and then while another test changes them: it is asked again then.
fn moto_state(endpoint: &str) -> serde_json::Value {
    use std::io::Write;
    let address = endpoint.trim_start_matches("http://");
    let mut last = String::new();
    for attempt in 0..5 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let mut stream = TcpStream::connect(address).expect("moto answers");
        write!(
            stream,
            "GET /moto-api/data.json HTTP/1.0\r\nHost: {address}\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = &response[response.find("\r\n\r\n").expect("an HTTP response") + 4..];
        match serde_json::from_str(body) {
            Ok(data) => return data,
            Err(_) => last = response,
        }
    }
    panic!("moto's state API did not answer JSON in 5 attempts; the last answer:\n{last}");
}

/// Every message published to `topic` so far, read from moto's state API.
pub fn sent(endpoint: &str, topic: &str) -> Vec<Sent> {
    let data = moto_state(endpoint);
    let attribute = |n: &serde_json::Value, key: &str| {
        n[3][key]["Value"].as_str().unwrap_or_default().to_owned()
    };
    // Creating a topic again adds an empty duplicate entry: merge them by ARN.
    data["sns"]["Topic"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["arn"] == topic)
        .flat_map(|t| {
            t["sent_notifications"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|n| Sent {
            body: n[1].as_str().unwrap_or_default().to_owned(),
            subject: n[2].as_str().unwrap_or_default().to_owned(),
            query: attribute(&n, "query"),
            severity: attribute(&n, "severity"),
        })
        .collect()
}
