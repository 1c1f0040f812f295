//! DNS discovery against fake DNS servers on loopback (UDP and TCP, random ports).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

use super::lookup::lookup_with_search_path;
use super::resolv_conf::ResolvConf;
use super::*;

/// What the fake server answers: records and a code, and whether a UDP answer is cut.
#[derive(Clone)]
struct Answer {
    code: ResponseCode,
    records: Vec<RData>,
    truncate_udp: bool,
}

fn ok(records: Vec<RData>) -> Answer {
    Answer {
        code: ResponseCode::NoError,
        records,
        truncate_udp: false,
    }
}

fn code(code: ResponseCode) -> Answer {
    Answer {
        code,
        records: vec![],
        truncate_udp: false,
    }
}

type Handler = Arc<dyn Fn(&str, RecordType) -> Answer + Send + Sync>;

/// A fake DNS server; `asked` records (name, type, over TCP) of every question.
struct Fake {
    port: u16,
    asked: Arc<Mutex<Vec<(String, RecordType, bool)>>>,
}

fn reply(q: &Message, a: &Answer, tcp: bool) -> Vec<u8> {
    let query = &q.queries[0];
    let mut m = Message::response(q.metadata.id, q.metadata.op_code);
    m.metadata.response_code = a.code;
    m.add_query(query.clone());
    if a.truncate_udp && !tcp {
        m.metadata.truncation = true;
    } else {
        for r in &a.records {
            m.add_answer(Record::from_rdata(query.name().clone(), 60, r.clone()));
        }
    }
    m.to_vec().unwrap()
}

async fn fake(ip: &str, port: u16, handler: Handler) -> Fake {
    let udp = UdpSocket::bind((ip, port)).await.unwrap();
    let port = udp.local_addr().unwrap().port();
    let tcp = TcpListener::bind((ip, port)).await.unwrap();
    let asked: Arc<Mutex<Vec<(String, RecordType, bool)>>> = Arc::default();
    let (h, log) = (handler.clone(), asked.clone());
    let answer = move |bytes: &[u8], tcp: bool| -> Vec<u8> {
        let q = Message::from_vec(bytes).unwrap();
        assert_eq!(q.metadata.message_type, MessageType::Query);
        assert!(q.metadata.recursion_desired);
        assert_eq!(q.edns.is_some(), !tcp, "EDNS0 over UDP only");
        let qq = &q.queries[0];
        let name = qq.name().to_ascii();
        log.lock().push((name.clone(), qq.query_type(), tcp));
        reply(&q, &h(&name, qq.query_type()), tcp)
    };
    let answer = Arc::new(answer);
    let a2 = answer.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((n, from)) = udp.recv_from(&mut buf).await {
            let out = a2(&buf[..n], false);
            let _ = udp.send_to(&out, from).await;
        }
    });
    tokio::spawn(async move {
        while let Ok((mut s, _)) = tcp.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut lb = [0u8; 2];
                s.read_exact(&mut lb).await.unwrap();
                let mut q = vec![0u8; u16::from_be_bytes(lb) as usize];
                s.read_exact(&mut q).await.unwrap();
                let out = answer(&q, true);
                s.write_all(&(out.len() as u16).to_be_bytes())
                    .await
                    .unwrap();
                s.write_all(&out).await.unwrap();
            });
        }
    });
    Fake { port, asked }
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn srv(port: u16, target: &str) -> RData {
    RData::SRV(SRV::new(0, 10, port, name(target)))
}

fn conf(servers: &[&str], port: u16, search: &[&str]) -> ResolvConf {
    ResolvConf {
        servers: servers.iter().map(|s| s.to_string()).collect(),
        search: search.iter().map(|s| s.to_string()).collect(),
        port,
        ..ResolvConf::default()
    }
}

fn dns_cfg(names: &[&str], ty: &str, port: i64) -> DnsSdConfig {
    DnsSdConfig {
        names: names.iter().map(|s| s.to_string()).collect(),
        refresh_interval: crate::config::Duration::from_secs(30),
        record_type: ty.into(),
        port,
    }
}

#[tokio::test]
async fn srv_records_make_targets_with_their_labels() {
    let f = fake(
        "127.0.0.1",
        0,
        Arc::new(|n, t| {
            assert_eq!((n, t), ("_web._tcp.svc.test.", RecordType::SRV));
            ok(vec![
                srv(8080, "web1.svc.test."),
                srv(9090, "web2.svc.test."),
            ])
        }),
    )
    .await;
    let r = Resolver::Fixed(conf(&["127.0.0.1"], f.port, &[]));
    let sink = Sink::new();
    refresh_once(&dns_cfg(&["_web._tcp.svc.test"], "SRV", 0), &r, &sink).await;
    assert_eq!(sink.error(), None);
    let g = sink.groups();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].source, "_web._tcp.svc.test");
    let t = &g[0].targets;
    assert_eq!(t.len(), 2);
    assert_eq!(t[0]["__address__"], "web1.svc.test:8080");
    assert_eq!(t[0][NAME_LABEL], "_web._tcp.svc.test");
    assert_eq!(t[0][SRV_TARGET_LABEL], "web1.svc.test.");
    assert_eq!(t[0][SRV_PORT_LABEL], "8080");
    assert_eq!(t[0][MX_TARGET_LABEL], "");
    assert_eq!(t[0][NS_TARGET_LABEL], "");
    assert_eq!(t[1]["__address__"], "web2.svc.test:9090");
}

#[tokio::test]
async fn a_aaaa_mx_ns_use_the_configured_port() {
    let f = fake(
        "127.0.0.1",
        0,
        Arc::new(|_, t| match t {
            RecordType::A => ok(vec![
                RData::CNAME(CNAME(name("real.test."))),
                RData::A(A(Ipv4Addr::new(127, 0, 1, 1))),
            ]),
            RecordType::AAAA => ok(vec![
                RData::AAAA(AAAA(Ipv6Addr::LOCALHOST)),
                RData::AAAA(AAAA(Ipv4Addr::new(127, 0, 1, 2).to_ipv6_mapped())),
            ]),
            RecordType::MX => ok(vec![RData::MX(MX::new(10, name("mx1.mail.test.")))]),
            RecordType::NS => ok(vec![RData::NS(NS(name("ns1.zone.test.")))]),
            _ => code(ResponseCode::Refused),
        }),
    )
    .await;
    let r = Resolver::Fixed(conf(&["127.0.0.1"], f.port, &[]));
    let one = |ty: &'static str| {
        let r = r.clone();
        async move {
            let sink = Sink::new();
            refresh_once(&dns_cfg(&["x.test"], ty, 9100), &r, &sink).await;
            assert_eq!(sink.error(), None, "{ty}");
            sink.groups().remove(0).targets
        }
    };
    let a = one("A").await;
    assert_eq!(a.len(), 1, "the CNAME is skipped");
    assert_eq!(a[0]["__address__"], "127.0.1.1:9100");
    assert_eq!(a[0][SRV_TARGET_LABEL], "");
    assert_eq!(a[0][SRV_PORT_LABEL], "");
    let aaaa = one("aaaa").await;
    assert_eq!(aaaa[0]["__address__"], "[::1]:9100");
    assert_eq!(
        aaaa[1]["__address__"], "127.0.1.2:9100",
        "Go prints mapped v4 dotted"
    );
    let mx = one("MX").await;
    assert_eq!(mx[0]["__address__"], "mx1.mail.test:9100");
    assert_eq!(mx[0][MX_TARGET_LABEL], "mx1.mail.test.");
    assert_eq!(mx[0][NS_TARGET_LABEL], "");
    let ns = one("NS").await;
    assert_eq!(ns[0]["__address__"], "ns1.zone.test:9100");
    assert_eq!(ns[0][NS_TARGET_LABEL], "ns1.zone.test.");
    assert_eq!(ns[0][MX_TARGET_LABEL], "");
}

#[tokio::test]
async fn truncated_udp_answers_are_asked_again_over_tcp() {
    let many: Vec<RData> = (0..60)
        .map(|i| srv(9000 + i, &format!("host-with-a-long-name-{i}.svc.test.")))
        .collect();
    let f = fake(
        "127.0.0.1",
        0,
        Arc::new(move |_, _| Answer {
            truncate_udp: true,
            ..ok(many.clone())
        }),
    )
    .await;
    let c = conf(&["127.0.0.1"], f.port, &[]);
    let m = lookup_with_search_path(&c, "_big._tcp.test", RecordType::SRV)
        .await
        .unwrap();
    assert_eq!(m.answers.len(), 60);
    let asked = f.asked.lock().clone();
    assert_eq!(
        asked.iter().map(|a| a.2).collect::<Vec<_>>(),
        [false, true],
        "UDP first, then TCP"
    );
}

#[tokio::test]
async fn search_domains_are_tried_in_order_and_nxdomain_means_no_targets() {
    let f = fake(
        "127.0.0.1",
        0,
        Arc::new(|n, _| match n {
            "web.svc.test." => ok(vec![RData::A(A(Ipv4Addr::new(127, 0, 2, 1)))]),
            _ => code(ResponseCode::NXDomain),
        }),
    )
    .await;
    let c = conf(&["127.0.0.1"], f.port, &["corp.test", "svc.test"]);
    let m = lookup_with_search_path(&c, "web", RecordType::A)
        .await
        .unwrap();
    assert_eq!(m.answers.len(), 1);
    let names: Vec<String> = f.asked.lock().iter().map(|a| a.0.clone()).collect();
    assert_eq!(names, ["web.corp.test.", "web.svc.test."]);
    // Every name NXDOMAIN: an empty answer, not an error (the group empties).
    f.asked.lock().clear();
    let m = lookup_with_search_path(&c, "gone", RecordType::A)
        .await
        .unwrap();
    assert!(m.answers.is_empty());
    let names: Vec<String> = f.asked.lock().iter().map(|a| a.0.clone()).collect();
    assert_eq!(names, ["gone.corp.test.", "gone.svc.test.", "gone."]);
}

#[tokio::test]
async fn a_failing_server_is_skipped_and_failures_keep_the_last_targets() {
    let first = fake(
        "127.0.0.1",
        0,
        Arc::new(|_, _| code(ResponseCode::ServFail)),
    )
    .await;
    let healthy = Arc::new(Mutex::new(true));
    let h2 = healthy.clone();
    let second = fake(
        "127.0.0.2",
        first.port,
        Arc::new(move |_, _| {
            if *h2.lock() {
                ok(vec![srv(80, "a.test.")])
            } else {
                code(ResponseCode::Refused)
            }
        }),
    )
    .await;
    assert_eq!(first.port, second.port);
    let r = Resolver::Fixed(conf(&["127.0.0.1", "127.0.0.2"], first.port, &[]));
    let cfg = dns_cfg(&["_a._tcp.test", "_b._tcp.test"], "SRV", 0);
    let sink = Sink::new();
    refresh_once(&cfg, &r, &sink).await;
    assert_eq!(sink.error(), None);
    assert_eq!(sink.groups().len(), 2);
    let m = sd_metrics();
    let before = (
        m.value(LOOKUPS, &[]).unwrap(),
        m.value(FAILURES, &[]).unwrap(),
    );
    *healthy.lock() = false;
    refresh_once(&cfg, &r, &sink).await;
    let e = sink.error().unwrap();
    assert!(
        e.contains("could not resolve \"_a._tcp.test\": all servers responded with errors"),
        "{e}"
    );
    let g = sink.groups();
    assert_eq!(g.len(), 2, "last good groups kept");
    assert_eq!(g[0].targets[0]["__address__"], "a.test:80");
    let after = (
        m.value(LOOKUPS, &[]).unwrap(),
        m.value(FAILURES, &[]).unwrap(),
    );
    assert!(after.0 - before.0 >= 2.0 && after.1 - before.1 >= 2.0);
    // No server at all answers: a timeout-free error (connection refused over UDP) too.
    let nobody = Resolver::Fixed(conf(&[], 53, &[]));
    let sink = Sink::new();
    refresh_once(&cfg, &nobody, &sink).await;
    assert!(sink.error().is_some());
    assert!(sink.groups().is_empty());
}

#[test]
fn malformed_and_mismatched_answers_are_errors() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = sock.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 512];
            let (_, from) = sock.recv_from(&mut buf).await.unwrap();
            sock.send_to(b"\x00\x01garbage", from).await.unwrap();
        });
        let e = lookup::ask("x.test.", RecordType::A, &addr.to_string())
            .await
            .unwrap_err();
        assert!(
            e.contains("malformed DNS answer") || e.contains("id mismatch"),
            "{e}"
        );
    });
}
