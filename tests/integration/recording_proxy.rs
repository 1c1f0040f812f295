//! A recording HTTP proxy for the tests: sits between a client (the TUI) and a Prometheus API
//! server, forwards every request unchanged (GET with a query string, or POST with a form
//! body) and remembers its path, its parameters (query string and form merged), and the
//! answer's status and body. Plain std threads, one per connection, keep-alive honoured;
//! forwarding uses reqwest's blocking client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request that went through, with its answer.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub params: Vec<(String, String)>,
    pub status: u16,
    pub body: String,
}

impl Recorded {
    /// The first value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The proxy: its address, and what it has seen so far.
pub struct Proxy {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream` (`http://host:port`).
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the recording proxy");
        let addr = listener.local_addr().expect("proxy address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = seen.clone();
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("the proxy's HTTP client");
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (client, seen) = (client.clone(), shared.clone());
                std::thread::spawn(move || serve(conn, upstream, &client, &seen));
            }
        });
        Proxy { addr, seen }
    }

    /// A copy of what went through so far.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }

    /// Forgets what went through so far.
    pub fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }
}

/// Serves one client connection until it closes.
fn serve(
    conn: TcpStream,
    upstream: SocketAddr,
    client: &reqwest::blocking::Client,
    seen: &Mutex<Vec<Recorded>>,
) {
    let mut out = match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    };
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
            return;
        };
        let (method, target) = (method.to_string(), target.to_string());
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let (k, v) = (k.trim().to_string(), v.trim().to_string());
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.parse().unwrap_or(0);
                }
                headers.push((k, v));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let mut params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let form = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("content-type") && v.starts_with("application/x-www-form")
        });
        if form {
            params.extend(url::form_urlencoded::parse(&body).into_owned());
        }
        let mut req = client.request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method"),
            format!("http://{upstream}{target}"),
        );
        for (k, v) in &headers {
            let skip = ["host", "content-length", "connection", "accept-encoding"];
            if !skip.iter().any(|s| k.eq_ignore_ascii_case(s)) {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        let (status, ctype, answer) = match req.body(body).send() {
            Ok(r) => {
                let status = r.status().as_u16();
                let ctype = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("application/json")
                    .to_string();
                (status, ctype, r.text().unwrap_or_default())
            }
            Err(e) => (502, "text/plain".to_string(), format!("proxy: {e}")),
        };
        seen.lock().unwrap().push(Recorded {
            path: path.to_string(),
            params,
            status,
            body: answer.clone(),
        });
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
            answer.len()
        );
        if out.write_all(head.as_bytes()).is_err() || out.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
