//! Helpers shared by the integration tests: run the binary and real peers, free ports, waiting
//! for a condition or an endpoint, HTTP requests (reqwest) and the API's `data` field.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_promterm")
}

pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// A `promterm serve` child process; killed on drop if still running.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// Every stderr line so far, and the rest as they come.
    pub log: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Server {
    /// Starts `promterm serve --listen 127.0.0.1:0 ARGS...` and waits for its listen address.
    pub fn start(args: &[&str]) -> Server {
        let mut all = vec!["--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        Server::start_exact(&all)
    }

    /// Starts `promterm serve ARGS...` (the caller picks the address).
    pub fn start_exact(args: &[&str]) -> Server {
        let mut child = Command::new(bin())
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start promterm");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let addr = line
                        .split("listening on ")
                        .nth(1)
                        .and_then(|a| a.split("://").nth(1))
                        .and_then(|a| a.split_whitespace().next())
                        .and_then(|a| a.parse().ok());
                    seen.push(line);
                    if let Some(addr) = addr {
                        return Server {
                            child,
                            addr,
                            log: rx,
                            seen,
                        };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "promterm did not report a listen address; stderr:\n{}",
                        seen.join("\n")
                    );
                }
            }
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal("TERM")
    }

    /// Sends `SIG<name>` and waits for the exit status.
    pub fn signal(&mut self, name: &str) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait for promterm") {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "promterm did not exit within 30s of SIG{name}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log lines that arrived so far.
    pub fn drain_log(&mut self) -> &[String] {
        while let Ok(l) = self.log.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(l);
        }
        &self.seen
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP client for the tests: no redirects followed (tests look at them), no proxy,
/// gzip answers decoded.
fn client() -> &'static reqwest::blocking::Client {
    static C: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    C.get_or_init(|| {
        reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("build the test HTTP client")
    })
}

/// One request to `addr`; returns (status, body).
pub fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a valid method");
    let url = format!("http://{addr}{}", escape(path));
    let resp = client()
        .request(method, &url)
        .send()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.text().unwrap_or_else(|e| panic!("{url}: {e}")))
}

/// POSTs `body` with extra headers; returns (status, body).
pub fn http_post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let url = format!("http://{addr}{}", escape(path));
    let mut req = client().post(&url).body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.text().unwrap_or_else(|e| panic!("{url}: {e}")))
}

/// Percent-encodes what a request line may not hold raw, keeping `?`, `&`, `=`.
pub fn escape(uri: &str) -> String {
    uri.chars()
        .map(|c| match c {
            '"' | '{' | '}' | '|' | ' ' | '<' | '>' | '^' | '`' => format!("%{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// Runs the binary to completion with `args`; returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(args)
        .output()
        .expect("run promterm");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A real peer (node exporter, Pushgateway, Alertmanager, Prometheus), killed on drop.
pub struct Peer(pub Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback address with a port that was free a moment ago.
pub fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Starts a peer with its output discarded.
pub fn spawn(cmd: &str, args: &[String]) -> Peer {
    Peer(
        Command::new(cmd)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {cmd} (is its Debian package installed?): {e}")),
    )
}

/// Waits up to 30 s for `GET path` to answer 200.
pub fn wait_ok(addr: SocketAddr, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() && try_get(addr, path) == Some(200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{addr}{path} never answered 200");
}

/// `GET path`, which must answer 200 with JSON; its `data` field.
pub fn data(addr: SocketAddr, path: &str) -> serde_json::Value {
    let (code, body) = http(addr, "GET", path);
    assert_eq!(code, 200, "{path}: {body}");
    let v: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    v["data"].clone()
}

/// Polls `f` every 200 ms until it holds, failing after `secs` seconds.
pub fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The status of `GET path`, or `None` when the request fails.
fn try_get(addr: SocketAddr, path: &str) -> Option<u16> {
    client()
        .get(format!("http://{addr}{}", escape(path)))
        .send()
        .ok()
        .map(|r| r.status().as_u16())
}

/// The native-histogram service in tests/nhsvc (client_golang), built once per test run with
/// Debian's Go and client_golang; `None` (with the reason printed) when they are absent.
pub fn nhsvc() -> Option<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let gopath = Path::new("/usr/share/gocode");
        if !gopath
            .join("src/github.com/prometheus/client_golang")
            .is_dir()
        {
            return Err("golang-github-prometheus-client-golang-dev is not installed".into());
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("nhsvc");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nhsvc/main.go");
        std::fs::copy(&src, dir.join("main.go")).map_err(|e| e.to_string())?;
        let out = Command::new("go")
            .args(["build", "-o", "nhsvc", "."])
            .current_dir(&dir)
            .env("GO111MODULE", "off")
            .env("GOPATH", gopath)
            .env("GOCACHE", dir.join("gocache"))
            .output()
            .map_err(|e| format!("go (golang-go) does not run: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "go build failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(dir.join("nhsvc"))
    });
    match built {
        Ok(p) => Some(p.clone()),
        Err(why) => {
            println!("skipped: the client_golang histogram service: {why}");
            None
        }
    }
}
