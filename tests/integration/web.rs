//! Access control with `--web.config.file`: TLS with a certificate from a test CA, basic-auth
//! users with bcrypt hashes, and client certificates; checked with `promterm query`, curl, and
//! Debian's Prometheus scraping promterm over HTTPS with basic auth.

use std::path::Path;
use std::process::Command;

use crate::common::{free_addr, spawn, wait_for, wait_ok};
use crate::common::{run, Server};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (ca.pem), a server certificate for 127.0.0.1 (server.pem/.key) and a client
/// certificate (client.pem/.key), all signed by the CA.
pub fn pki(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend_from_slice(&ec);
    ca.extend_from_slice(&[
        "-days",
        "2",
        "-subj",
        "/CN=promterm test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(dir, &ca);
    for (name, usage, san) in [
        ("server", "serverAuth", "IP:127.0.0.1,DNS:localhost"),
        ("client", "clientAuth", "DNS:client"),
    ] {
        std::fs::write(
            dir.join(format!("{name}.ext")),
            format!("basicConstraints=CA:FALSE\nextendedKeyUsage={usage}\nsubjectAltName={san}\n"),
        )
        .unwrap();
        let (key, csr, pem, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        let mut req = vec!["req"];
        req.extend_from_slice(&ec);
        req.extend_from_slice(&["-subj", "/CN=test", "-keyout", &key, "-out", &csr]);
        openssl(dir, &req);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &pem,
                "-extfile",
                &ext,
            ],
        );
    }
}

fn curl(args: &[&str]) -> (bool, String) {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .args(args)
        .output()
        .expect("run curl");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// TLS and basic auth: the query client with the right password gets answers, without it or
/// with a wrong one a 401; plain HTTP gets nothing; a real Prometheus scrapes promterm over
/// HTTPS with basic auth (and fails with the wrong password).
#[test]
fn tls_and_basic_auth_with_query_client_curl_and_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki(d);
    let hash = bcrypt::hash("s3cret", 6).unwrap();
    std::fs::write(
        d.join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  alice: '{hash}'\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        ),
    )
    .unwrap();
    let web = d.join("web.yml");
    let (code, out, err) = run(&["check", "web-config", web.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let data = d.join("data");
    let srv = Server::start(&[
        "--headless",
        "--data",
        data.to_str().unwrap(),
        "--web.config.file",
        web.to_str().unwrap(),
    ]);
    let url = format!("https://127.0.0.1:{}", srv.addr.port());
    let ca = d.join("ca.pem");
    let ca = ca.to_str().unwrap();
    let q = |auth: Option<&str>| {
        let mut a = vec!["query", "--url", &url, "--ca-file", ca, "-o", "json"];
        if let Some(x) = auth {
            a.extend_from_slice(&["--basic-auth", x]);
        }
        a.push("vector(42)");
        run(&a)
    };
    let (code, out, err) = q(Some("alice:s3cret"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"42\""), "{out}");
    for auth in [None, Some("alice:wrong"), Some("bob:s3cret")] {
        let (code, out, err) = q(auth);
        assert_ne!(code, 0, "{auth:?}: {out}");
        assert!(err.contains("401"), "{auth:?}: {err}");
    }
    // curl: the header from the web config, 401 with a Basic challenge, nothing over plain HTTP.
    let out = Command::new("curl")
        .args(["-sS", "-i", "--cacert", ca, "-u", "alice:s3cret"])
        .arg(format!("{url}/-/ready"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    // HTTP/2 by ALPN (curl offers it), or HTTP/1.1.
    assert!(
        text.starts_with("http/2 200") || text.starts_with("http/1.1 200"),
        "{text}"
    );
    assert!(text.contains("x-frame-options: deny"), "{text}");
    let out = Command::new("curl")
        .args(["-sS", "-i", "--cacert", ca])
        .arg(format!("{url}/api/v1/query?query=up"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    // HTTP/2 by ALPN (curl offers it), or HTTP/1.1.
    assert!(
        text.starts_with("http/2 401") || text.starts_with("http/1.1 401"),
        "{text}"
    );
    assert!(text.contains("www-authenticate: basic"), "{text}");
    let (_, code) = curl(&[&format!("http://127.0.0.1:{}/-/ready", srv.addr.port())]);
    assert!(!code.starts_with("200"), "plain HTTP answered: {code}");

    // A real Prometheus scrapes promterm over HTTPS with basic auth.
    let prom_addr = free_addr();
    let job = |name: &str, pw: &str| {
        format!(
            "- job_name: {name}\n  scrape_interval: 1s\n  scheme: https\n  tls_config:\n    ca_file: {ca}\n  basic_auth:\n    username: alice\n    password: {pw}\n  static_configs:\n  - targets: ['127.0.0.1:{}']\n",
            srv.addr.port()
        )
    };
    let cfg = d.join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "scrape_configs:\n{}{}",
            job("good", "s3cret"),
            job("bad", "wrong")
        ),
    )
    .unwrap();
    let _prom = spawn(
        "prometheus",
        &[
            format!("--config.file={}", cfg.display()),
            format!("--storage.tsdb.path={}", d.join("prom").display()),
            format!("--web.listen-address={prom_addr}"),
        ],
    );
    wait_ok(prom_addr, "/-/ready");
    wait_for("Prometheus to scrape promterm over HTTPS", 30, || {
        let health = |job: &str| crate::scrape::target_health(prom_addr, job);
        matches!(health("good"), Some((h, _)) if h == "up")
            && matches!(health("bad"), Some((h, e)) if h == "down" && e.contains("401"))
    });
}

/// Client certificates: with RequireAndVerifyClientCert only clients holding a certificate
/// from the CA get in.
#[test]
fn client_certificates_are_required_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki(d);
    std::fs::write(
        d.join("web.yml"),
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  min_version: TLS13\n",
    )
    .unwrap();
    let data = d.join("data");
    let srv = Server::start(&[
        "--headless",
        "--data",
        data.to_str().unwrap(),
        "--web.config.file",
        d.join("web.yml").to_str().unwrap(),
    ]);
    let url = format!("https://127.0.0.1:{}/-/ready", srv.addr.port());
    let p = |f: &str| d.join(f).to_str().unwrap().to_string();
    let (ok, code) = curl(&[
        "--cacert",
        &p("ca.pem"),
        "--cert",
        &p("client.pem"),
        "--key",
        &p("client.key"),
        &url,
    ]);
    assert!(ok && code.starts_with("200"), "{code}");
    let (ok, code) = curl(&["--cacert", &p("ca.pem"), &url]);
    assert!(!ok, "without a client certificate: {code}");
    // A certificate the CA did not sign (the server's own CA is not the client's).
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=stranger",
            "-keyout",
            "stranger.key",
            "-out",
            "stranger.pem",
        ],
    );
    let (ok, code) = curl(&[
        "--cacert",
        &p("ca.pem"),
        "--cert",
        &p("stranger.pem"),
        "--key",
        &p("stranger.key"),
        &url,
    ]);
    assert!(!ok, "with a stranger's certificate: {code}");
    // TLS 1.2 is refused with min_version TLS13.
    let (ok, code) = curl(&[
        "--tls-max",
        "1.2",
        "--cacert",
        &p("ca.pem"),
        "--cert",
        &p("client.pem"),
        "--key",
        &p("client.key"),
        &url,
    ]);
    assert!(!ok, "TLS 1.2 with min_version TLS13: {code}");
    // A broken web config stops the server from starting, naming the problem.
    std::fs::write(d.join("bad.yml"), "basic_auth_users:\n  alice: plain\n").unwrap();
    let (code, _, err) = run(&["check", "web-config", d.join("bad.yml").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("not a bcrypt hash"), "{err}");
    let (code, _, err) = run(&[
        "serve",
        "--headless",
        "--listen",
        &free_addr().to_string(),
        "--data",
        d.join("data2").to_str().unwrap(),
        "--web.config.file",
        d.join("bad.yml").to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("not a bcrypt hash"), "{err}");
}
