//! Headless Chromium for the HTML report's tests: found, or installed once, and what it made
//! of a page (its DOM, its console, the requests it attempted, a screenshot).
//!
//! `.ci/run` installs Debian's `chromium`. Elsewhere the harness looks for it on the PATH
//! (or takes `TRAILSCAN_TEST_CHROMIUM`), and when it is missing installs Debian's package
//! once with apt-get, as root. No test skips: when no browser can be had, the tests that need
//! one fail and say what to install.
//!
//! Every request Chromium makes goes to a proxy on 127.0.0.1 that the harness runs and that
//! answers none: nothing leaves the machine, and each request is recorded. Chromium's own
//! background requests (to Google's hosts, whatever the flags) are told apart from the page's.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The names Chromium is installed under.
const NAMES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// How to install it, in the failure message.
const INSTALL: &str = "apt-get update && apt-get install -y chromium (as root), or set TRAILSCAN_TEST_CHROMIUM to a Chromium or Chrome binary";

/// The hosts Chromium calls by itself (time, accounts, variations), whatever the page.
const CHROMIUM_OWN: [&str; 5] = [
    "google.com",
    "googleapis.com",
    "gstatic.com",
    "gvt1.com",
    "gvt2.com",
];

/// The longest one page may take to render.
const RENDER_TIMEOUT: Duration = Duration::from_secs(120);

/// The browser; fails the calling test, saying what to install, when there is none.
pub fn chromium() -> &'static Path {
    static CHROMIUM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match CHROMIUM.get_or_init(provision) {
        Ok(path) => path,
        Err(why) => panic!(
            "a headless Chromium is needed for this test and none could be had: {why}\nInstall it with: {INSTALL}"
        ),
    }
}

fn on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| NAMES.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn provision() -> Result<PathBuf, String> {
    if let Some(given) = std::env::var_os("TRAILSCAN_TEST_CHROMIUM") {
        let given = PathBuf::from(given);
        return match given.is_file() {
            true => Ok(given),
            false => Err(format!(
                "TRAILSCAN_TEST_CHROMIUM={} is not a file",
                given.display()
            )),
        };
    }
    if let Some(found) = on_path() {
        return Ok(found);
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    if uid != "0" {
        return Err("chromium is not on the PATH, and installing it needs root".into());
    }
    let apt = |args: &[&str]| -> Result<(), String> {
        let output = Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=600"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        match output.status.success() {
            true => Ok(()),
            false => Err(format!(
                "apt-get {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            )),
        }
    };
    // A fresh machine's package lists may be missing or stale: update, then try again.
    if apt(&["install", "-y", "chromium"]).is_err() {
        apt(&["update"])?;
        apt(&["install", "-y", "chromium"])?;
    }
    on_path().ok_or_else(|| "apt-get installed chromium, yet it is not on the PATH".into())
}

/// What Chromium made of a page.
#[derive(Debug)]
pub struct Rendered {
    /// The DOM after parsing (`--dump-dom`); empty for a screenshot.
    pub dom: String,
    /// Console messages: errors, CSP violations, anything a script logged.
    pub console: Vec<String>,
    /// Requests the page attempted (Chromium's own background requests left out).
    pub requests: Vec<String>,
}

/// The page's DOM as Chromium builds it.
pub fn dump_dom(page: &Path) -> Rendered {
    run(page, &["--dump-dom".to_owned()])
}

/// A screenshot of the page, `width` × `height` CSS pixels, written to `png`.
pub fn screenshot(page: &Path, png: &Path, width: u32, height: u32) -> Rendered {
    run(
        page,
        &[
            format!("--screenshot={}", png.display()),
            format!("--window-size={width},{height}"),
            "--hide-scrollbars".to_owned(),
        ],
    )
}

fn run(page: &Path, what: &[String]) -> Rendered {
    let browser = chromium();
    let page = std::fs::canonicalize(page).expect("the page exists");
    let profile = tempfile::tempdir().expect("a temporary profile folder");
    let proxy = Proxy::start();
    let mut command = Command::new(browser);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--proxy-server=http://127.0.0.1:{}", proxy.port))
        // Loopback too goes through the proxy, so that nothing is reached unseen.
        .arg("--proxy-bypass-list=<-loopback>")
        .args(what)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("chromium starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let read_all = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let (stdout, stderr) = (read_all(Box::new(stdout)), read_all(Box::new(stderr)));
    let deadline = Instant::now() + RENDER_TIMEOUT;
    let status = loop {
        match child.try_wait().expect("chromium can be waited on") {
            Some(status) => break status,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "chromium did not finish rendering {} within {RENDER_TIMEOUT:?}",
                    page.display()
                );
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let (dom, log) = (
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    );
    let requests = proxy.stop();
    assert!(status.success(), "chromium failed ({status}):\n{log}");
    let console = (log.lines())
        .filter(|line| line.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    let requests = (requests.into_iter())
        .filter(|line| !is_chromium_own(line))
        .collect();
    Rendered {
        dom,
        console,
        requests,
    }
}

/// Whether a proxy request line (`CONNECT host:443 …`, `GET http://host/… …`) is to one
/// of the hosts Chromium calls by itself.
fn is_chromium_own(line: &str) -> bool {
    let target = line.split_whitespace().nth(1).unwrap_or_default();
    let target = target.split("://").last().unwrap_or_default();
    let host = target.split(['/', ':']).next().unwrap_or_default();
    CHROMIUM_OWN
        .iter()
        .any(|own| host == *own || host.ends_with(&format!(".{own}")))
}

/// A proxy on 127.0.0.1 that answers no request and records the first line of each.
struct Proxy {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    stopping: Arc<AtomicBool>,
    accepting: JoinHandle<Vec<JoinHandle<()>>>,
}

impl Proxy {
    fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1");
        let port = listener.local_addr().expect("a bound port").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stopping = Arc::new(AtomicBool::new(false));
        let (recorded, stop) = (Arc::clone(&seen), Arc::clone(&stopping));
        let accepting = std::thread::spawn(move || {
            let mut connections = Vec::new();
            for stream in listener.incoming() {
                if stop.load(AtomicOrdering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let recorded = Arc::clone(&recorded);
                // One thread per connection: Chromium opens sockets ahead of need that may send
                // nothing, and one of those must not hold up the requests behind it.
                connections.push(std::thread::spawn(move || answer(stream, &recorded)));
            }
            connections
        });
        Proxy {
            port,
            seen,
            stopping,
            accepting,
        }
    }

    /// Stops the proxy; every request line it saw.
    fn stop(self) -> Vec<String> {
        self.stopping.store(true, AtomicOrdering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        for connection in self.accepting.join().unwrap_or_default() {
            let _ = connection.join();
        }
        let seen = self.seen.lock().expect("the proxy's record");
        seen.clone()
    }
}

/// Refuses one connection's request, recording its first line; a connection that sends
/// nothing (a socket opened ahead of need) is no request.
fn answer(mut stream: TcpStream, recorded: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut line = String::new();
    let _ = BufReader::new(&stream).read_line(&mut line);
    let line = line.trim_end().to_owned();
    if line.is_empty() {
        return;
    }
    let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    let _ = stream.shutdown(Shutdown::Both);
    recorded.lock().expect("the proxy's record").push(line);
}

#[test]
fn requests_of_chromium_itself_are_told_apart() {
    assert!(is_chromium_own(
        "GET http://clients2.google.com/time/1/current?x HTTP/1.1"
    ));
    assert!(is_chromium_own("CONNECT accounts.google.com:443 HTTP/1.1"));
    assert!(is_chromium_own("CONNECT www.google.com:443 HTTP/1.1"));
    assert!(!is_chromium_own(
        "GET http://example.invalid/a.png HTTP/1.1"
    ));
    assert!(!is_chromium_own(
        "CONNECT google.com.example.invalid:443 HTTP/1.1"
    ));
    assert!(!is_chromium_own("CONNECT notgoogle.com:443 HTTP/1.1"));
}
