//! Web config tests: what the file may hold, bcrypt basic auth, and TLS settings checked at
//! load (certificates made with the openssl command).

use super::*;

fn hash(p: &str) -> String {
    bcrypt::hash(p, 4).unwrap()
}

#[test]
fn basic_auth_checks_bcrypt_and_caches() {
    let yaml = format!(
        "basic_auth_users:\n  alice: '{}'\n  bob: '{}'\n",
        hash("wonderland"),
        hash("builder")
    );
    let web = parse(&yaml, Path::new(".")).unwrap();
    let auth = web.auth.unwrap();
    let basic = |u: &str, p: &str| {
        let raw = format!("{u}:{p}");
        // base64 by hand via the decoder's inverse table.
        let t = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in raw.as_bytes().chunks(3) {
            let n = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for i in 0..4 {
                if i <= c.len() {
                    out.push(t[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        format!("Basic {out}")
    };
    assert!(auth.check(Some(&basic("alice", "wonderland"))));
    assert!(auth.check(Some(&basic("alice", "wonderland"))), "cached");
    assert!(auth.check(Some(&basic("bob", "builder"))));
    assert!(!auth.check(Some(&basic("alice", "builder"))));
    assert!(!auth.check(Some(&basic("carol", "wonderland"))));
    assert!(!auth.check(Some("Bearer abc")));
    assert!(!auth.check(Some("Basic !!!")));
    assert!(!auth.check(None));
}

#[test]
fn bad_files_name_the_problem() {
    for (yaml, want) in [
        ("basic_auth_users:\n  alice: secret\n", "not a bcrypt hash"),
        (
            "basic_auth_user:\n  alice: x\n",
            "unknown field `basic_auth_user`",
        ),
        (
            "http_server_config:\n  headers:\n    Server: x\n",
            "\"Server\" cannot be set",
        ),
        (
            "tls_server_config:\n  key_file: k.pem\n",
            "cert_file is required",
        ),
        (
            "tls_server_config:\n  cert_file: /nonexistent/c.pem\n  key_file: k.pem\n",
            "cannot read cert_file /nonexistent/c.pem",
        ),
    ] {
        let e = parse(yaml, Path::new("/tmp")).unwrap_err();
        assert!(e.to_string().contains(want), "{yaml}: {e}");
    }
    let empty = parse("", Path::new(".")).unwrap();
    assert!(empty.tls.is_none() && empty.auth.is_none());
    let h = parse(
        "http_server_config:\n  headers:\n    x-frame-options: deny\n",
        Path::new("."),
    )
    .unwrap();
    assert_eq!(h.headers[0].0.as_str(), "x-frame-options");
}

/// A self-signed certificate and key in `dir` (cert.pem, key.pem).
fn self_signed(dir: &Path) {
    let st = std::process::Command::new("openssl")
        .args([
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
            "/CN=localhost",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

#[test]
fn tls_settings_are_checked_at_load() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path());
    let ok = "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n";
    let web = parse(ok, dir.path()).unwrap();
    // HTTP/2 is offered first (gRPC needs it), unless the file turns it off.
    assert_eq!(
        web.tls.unwrap().alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    let no_h2 = format!("{ok}http_server_config:\n  http2: false\n");
    let web = parse(&no_h2, dir.path()).unwrap();
    assert_eq!(web.tls.unwrap().alpn_protocols, vec![b"http/1.1".to_vec()]);
    for (extra, want) in [
        ("  min_version: TLS10\n", "TLS10 is not supported"),
        ("  min_version: TLS14\n", "unknown TLS version"),
        (
            "  min_version: TLS13\n  max_version: TLS12\n",
            "min_version is above",
        ),
        (
            "  client_auth_type: Sometimes\n",
            "invalid client_auth_type",
        ),
        (
            "  client_auth_type: RequireAndVerifyClientCert\n",
            "needs client_ca_file",
        ),
    ] {
        let e = parse(&format!("{ok}{extra}"), dir.path()).unwrap_err();
        assert!(e.to_string().contains(want), "{extra}: {e}");
    }
    // The key of another certificate does not go with this one.
    let other = tempfile::tempdir().unwrap();
    self_signed(other.path());
    let mixed = format!(
        "tls_server_config:\n  cert_file: cert.pem\n  key_file: {}\n",
        other.path().join("key.pem").display()
    );
    let e = parse(&mixed, dir.path()).unwrap_err();
    assert!(e.to_string().contains("do not go together"), "{e}");
    // A client CA makes the verifier.
    let ca =
        format!("{ok}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: cert.pem\n");
    assert!(parse(&ca, dir.path()).is_ok());
}

#[tokio::test]
async fn connections_over_the_limit_wait_for_one_to_close() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
    tokio::spawn(async move { axum::serve(Limited::new(tcp, 2), app).await });
    // One request on a kept-alive connection; returns the answer's first bytes.
    async fn ask(s: &mut tokio::net::TcpStream) -> String {
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).to_string()
    }
    let mut a = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut b = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert!(ask(&mut a).await.starts_with("HTTP/1.1 200"));
    assert!(ask(&mut b).await.starts_with("HTTP/1.1 200"));
    // A third connection is not served while both stay open...
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(500), ask(&mut c)).await;
    assert!(waited.is_err(), "served beyond the limit: {waited:?}");
    // ...and is once one of them closes.
    drop(a);
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 256];
        let n = c.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).to_string()
    })
    .await
    .expect("served after a slot freed");
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(ask(&mut b).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn basic_auth_refuses_grpc_calls_the_grpc_way() {
    use tower::ServiceExt;
    let mut users = BTreeMap::new();
    users.insert("alice".to_string(), hash("pw"));
    let web = Arc::new(Web {
        tls: None,
        auth: Some(Arc::new(BasicAuth::new(users))),
        headers: Vec::new(),
    });
    let app = axum::Router::new()
        .route("/x", axum::routing::post(|| async { "ok" }))
        .layer(axum::middleware::from_fn_with_state(web, middleware));
    let call = |ct: &'static str, auth: Option<String>| {
        let mut b = axum::http::Request::post("/x").header(header::CONTENT_TYPE, ct);
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        app.clone()
            .oneshot(b.body(axum::body::Body::empty()).unwrap())
    };
    let r = call("application/grpc", None).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["grpc-status"], "16");
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/grpc");
    let r = call("application/x-protobuf", None).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("grpc-status").is_none());
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice:pw")
    );
    let r = call("application/grpc", Some(good)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("grpc-status").is_none());
}
