//! `promterm serve`: readiness, clean shutdown on SIGTERM, config and data-directory errors.

use crate::common::{http, run, testdata, Server};

#[test]
fn ready_then_sigterm_exits_zero() {
    let data = tempfile::tempdir().unwrap();
    let cfg = testdata("config/minimal.good.yml");
    let mut srv = Server::start(&[
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
    ]);
    let (status, body) = http(srv.addr, "GET", "/-/ready");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Ready"), "{body}");
    let (status, _) = http(srv.addr, "GET", "/-/healthy");
    assert_eq!(status, 200);
    assert_eq!(http(srv.addr, "GET", "/no-such-page").0, 404);
    assert!(
        data.path().join("lock").exists(),
        "data directory is opened and locked"
    );

    let exit = srv.terminate();
    assert_eq!(exit.code(), Some(0), "log:\n{}", srv.drain_log().join("\n"));
    let log = srv.drain_log().join("\n");
    assert!(log.contains("received SIGTERM"), "{log}");
    assert!(log.contains("shut down cleanly"), "{log}");
}

#[test]
fn without_config_monitors_itself_and_the_host() {
    let data = tempfile::tempdir().unwrap();
    let mut srv = Server::start(&["--headless", "--data", data.path().to_str().unwrap()]);
    assert_eq!(http(srv.addr, "GET", "/-/ready").0, 200);
    let log = srv.drain_log().join("\n");
    assert!(log.contains("no --config given"), "{log}");
    assert!(log.contains("jobs=2"), "{log}");
    assert_eq!(srv.terminate().code(), Some(0));
}

#[test]
fn ctrl_c_exits_zero() {
    let data = tempfile::tempdir().unwrap();
    let mut srv = Server::start(&["--headless", "--data", data.path().to_str().unwrap()]);
    assert_eq!(http(srv.addr, "GET", "/-/ready").0, 200);
    assert_eq!(srv.signal("INT").code(), Some(0));
    let log = srv.drain_log().join("\n");
    assert!(log.contains("received Ctrl-C"), "{log}");
}

#[test]
fn bad_config_fails_before_listening() {
    let data = tempfile::tempdir().unwrap();
    let cfg = testdata("config/duplicate-job.bad.yml");
    let (code, _, err) = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("duplicate-job.bad.yml:5"), "{err}");
    assert!(
        err.contains("found multiple scrape configs with job name \"node\""),
        "{err}"
    );
    assert!(!err.contains("listening on"), "{err}");
}

#[test]
fn second_server_on_same_data_dir_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let mut first = Server::start(&["--headless", "--data", d]);
    let (code, _, err) = run(&[
        "serve",
        "--headless",
        "--listen",
        "127.0.0.1:0",
        "--data",
        d,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("in use by another promterm process"), "{err}");
    assert_eq!(first.terminate().code(), Some(0));
}

#[test]
fn port_in_use_is_a_clear_error() {
    let data = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let (code, _, err) = run(&[
        "serve",
        "--headless",
        "--listen",
        &addr,
        "--data",
        data.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("cannot listen on \"{addr}\"")),
        "{err}"
    );
}

#[test]
fn lifecycle_endpoints_need_the_flag() {
    let data = tempfile::tempdir().unwrap();
    let mut srv = Server::start(&["--headless", "--data", data.path().to_str().unwrap()]);
    let (code, body) = crate::common::http_post(srv.addr, "/-/quit", &[], b"");
    assert_eq!(
        (code, body.as_str()),
        (403, "Lifecycle API is not enabled.\n")
    );
    let (code, _) = crate::common::http_post(srv.addr, "/-/reload", &[], b"");
    assert_eq!(code, 403);
    assert_eq!(srv.terminate().code(), Some(0));

    let mut srv = Server::start(&[
        "--headless",
        "--web.enable-lifecycle",
        "--data",
        data.path().to_str().unwrap(),
    ]);
    let (code, _) = crate::common::http_post(srv.addr, "/-/reload", &[], b"");
    assert_eq!(code, 200, "no config file: nothing to reload, still fine");
    let (code, _) = crate::common::http_post(srv.addr, "/-/quit", &[], b"");
    assert_eq!(code, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(s) = srv.child.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "did not quit");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}
