//! The OTLP listeners of `promterm serve`: OTLP/gRPC (tonic's client over HTTP/2 cleartext and
//! over TLS with ALPN, gzip) and OTLP/HTTP (`/v1/metrics`) on their own ports; bad input over
//! both (garbage, wrong content type, oversized) refused with the OTLP codes while the server
//! keeps serving and keeps what it had; a taken port (one warning, the rest served); an empty
//! flag turning a listener off; the config file's addresses; the web config (TLS, basic auth)
//! applying to the gRPC and HTTP receivers.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::Value;
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;

use crate::common::{data, escape, free_addr, http, http_post, Server};

const EXPORT: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// One gauge point of service `shop`.
fn gauge(name: &str, v: f64) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("shop".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: name.into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            time_unix_nano: now_ns(),
                            value: Some(number_data_point::Value::AsDouble(v)),
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// The value of `q` now, if it has one series.
fn value(api: SocketAddr, q: &str) -> Option<String> {
    let r = data(api, &escape(&format!("/api/v1/query?query={q}")))["result"].clone();
    r[0]["value"][1].as_str().map(str::to_string)
}

/// `promterm serve --headless` with both OTLP listeners on free ports (and `extra`).
fn start(extra: &[&str]) -> (Server, SocketAddr, SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.yml"), "scrape_configs: []\n").unwrap();
    let (grpc, otlp_http) = (free_addr(), free_addr());
    let (g, h) = (grpc.to_string(), otlp_http.to_string());
    let cfg = dir.path().join("p.yml");
    let data_dir = dir.path().join("d");
    let mut args = vec![
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        data_dir.to_str().unwrap(),
        "--otlp.grpc-listen-address",
        &g,
        "--otlp.http-listen-address",
        &h,
    ];
    args.extend_from_slice(extra);
    let srv = Server::start(&args);
    (srv, grpc, otlp_http, dir)
}

async fn client(addr: SocketAddr) -> MetricsServiceClient<Channel> {
    MetricsServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
}

/// Raw bytes as the one message of a gRPC call (to send what no prost message encodes to).
#[derive(Debug, Clone, Default)]
struct Raw;

impl tonic::codec::Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl tonic::codec::Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        prost::bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        use prost::bytes::Buf;
        let v = src.chunk().to_vec();
        src.advance(v.len());
        Ok(Some(v))
    }
}

async fn raw_call(addr: SocketAddr, body: Vec<u8>) -> Result<Vec<u8>, tonic::Status> {
    let ch = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut g = tonic::client::Grpc::new(ch);
    g.ready().await.unwrap();
    g.unary(
        tonic::Request::new(body),
        tonic::codegen::http::uri::PathAndQuery::from_static(EXPORT),
        Raw,
    )
    .await
    .map(tonic::Response::into_inner)
}

#[test]
fn grpc_and_http_exports_are_stored_and_bad_input_is_refused_without_loss() {
    let (mut srv, grpc, otlp_http, _dir) = start(&[]);
    let log = srv.drain_log().join("\n");
    assert!(
        log.contains(&format!("OTLP gRPC receiver listening on http://{grpc}")),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "OTLP HTTP receiver listening on http://{otlp_http}"
        )),
        "{log}"
    );
    let api = srv.addr;
    let rt = rt();
    // gzip both ways, as an SDK with compression=gzip does.
    let resp = rt.block_on(async {
        client(grpc)
            .await
            .send_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Gzip)
            .export(gauge("via.grpc", 7.0))
            .await
    });
    let resp = resp.expect("the export is accepted").into_inner();
    assert_eq!(resp.partial_success, None);
    assert_eq!(value(api, "via_grpc{job=\"shop\"}").as_deref(), Some("7"));
    // zstd too.
    let r = rt.block_on(async {
        client(grpc)
            .await
            .send_compressed(CompressionEncoding::Zstd)
            .export(gauge("via.zstd", 1.0))
            .await
    });
    assert!(r.is_ok(), "{r:?}");
    // OTLP/HTTP on its own port: protobuf in, protobuf out.
    let (code, body) = http_post(
        otlp_http,
        "/v1/metrics",
        &[("Content-Type", "application/x-protobuf")],
        &gauge("via.http", 3.0).encode_to_vec(),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(value(api, "via_http").as_deref(), Some("3"));

    // Garbage over gRPC: INVALID_ARGUMENT (a message prost cannot decode) or INTERNAL (no
    // valid framing), with a message; the server keeps serving.
    let st = rt
        .block_on(raw_call(grpc, vec![0x0f, 0xff, 0xff, 0x01]))
        .unwrap_err();
    assert_eq!(st.code(), tonic::Code::InvalidArgument, "{st:?}");
    assert!(st.message().contains("invalid OTLP protobuf"), "{st:?}");
    // A request that decodes but is not valid OTLP (a string field holding invalid UTF-8).
    // (request → resource_metrics → resource → attributes → key = ff fe)
    let bad = vec![0x0a, 0x08, 0x0a, 0x06, 0x0a, 0x04, 0x0a, 0x02, 0xff, 0xfe];
    let st = rt.block_on(raw_call(grpc, bad)).unwrap_err();
    assert_eq!(st.code(), tonic::Code::InvalidArgument, "{st:?}");
    // Garbage over HTTP: 400 with a google.rpc.Status naming the problem.
    let (code, body) = http_post(
        otlp_http,
        "/v1/metrics",
        &[("Content-Type", "application/x-protobuf")],
        &[0x0f, 0xff, 0xff, 0x01],
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("invalid OTLP protobuf"), "{body}");
    let (code, body) = http_post(
        otlp_http,
        "/v1/metrics",
        &[("Content-Type", "application/json")],
        b"{\"resourceMetrics\": 5",
    );
    assert_eq!(code, 400, "{body}");
    let v: Value = serde_json::from_str(&body).expect("a JSON google.rpc.Status");
    assert_eq!(v["code"], 3, "{v}");
    // A wrong content type: 415.
    let (code, body) = http_post(
        otlp_http,
        "/v1/metrics",
        &[("Content-Type", "text/plain")],
        b"x 1",
    );
    assert_eq!(code, 415, "{body}");
    // Still serving over both, with everything accepted before.
    let r = rt.block_on(async { client(grpc).await.export(gauge("after", 1.0)).await });
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(value(api, "via_grpc").as_deref(), Some("7"));
    assert_eq!(value(api, "via_http").as_deref(), Some("3"));
    assert_eq!(value(api, "after").as_deref(), Some("1"));
    // Requests were counted per handler.
    let (_, metrics) = http(api, "GET", "/metrics");
    assert!(
        metrics.contains(&format!("handler=\"{EXPORT}\"")),
        "no gRPC handler in /metrics"
    );
}

#[test]
fn oversized_exports_are_refused_naming_the_limit() {
    let (srv, grpc, otlp_http, _dir) = start(&["--remote-write.max-bytes", "2KB"]);
    let rt = rt();
    let big = gauge(&"n".repeat(3000), 1.0);
    let st = rt
        .block_on(async { client(grpc).await.export(big.clone()).await })
        .unwrap_err();
    assert_eq!(st.code(), tonic::Code::ResourceExhausted, "{st:?}");
    assert!(st.message().contains("--remote-write.max-bytes"), "{st:?}");
    assert!(st.message().contains("2048 bytes"), "{st:?}");
    let (code, body) = http_post(
        otlp_http,
        "/v1/metrics",
        &[("Content-Type", "application/x-protobuf")],
        &big.encode_to_vec(),
    );
    assert_eq!(code, 413, "{body}");
    assert!(body.contains("2048 bytes"), "{body}");
    // Small ones still go through.
    let r = rt.block_on(async { client(grpc).await.export(gauge("small", 2.0)).await });
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(value(srv.addr, "small").as_deref(), Some("2"));
}

#[test]
fn a_taken_port_warns_once_and_the_rest_is_served() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let grpc = taken.local_addr().unwrap().to_string();
    let otlp_http = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("d");
    let h = otlp_http.to_string();
    let mut srv = Server::start(&[
        "--headless",
        "--data",
        data_dir.to_str().unwrap(),
        "--otlp.grpc-listen-address",
        &grpc,
        "--otlp.http-listen-address",
        &h,
    ]);
    let log = srv.drain_log().to_vec();
    let warnings: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("OTLP gRPC receiver is off"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log:#?}");
    assert!(warnings[0].contains(&grpc), "{}", warnings[0]);
    assert!(
        warnings[0].contains("--otlp.grpc-listen-address"),
        "{}",
        warnings[0]
    );
    assert!(
        !log.iter()
            .any(|l| l.contains("OTLP gRPC receiver listening")),
        "{log:#?}"
    );
    // The API and OTLP/HTTP work.
    let (code, body) = http_post(
        otlp_http,
        "/v1/metrics",
        &[("Content-Type", "application/x-protobuf")],
        &gauge("while.taken", 5.0).encode_to_vec(),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(value(srv.addr, "while_taken").as_deref(), Some("5"));
    let flags = data(srv.addr, "/api/v1/status/flags");
    assert_eq!(flags["otlp.grpc-listen-address"], grpc.as_str());
    assert_eq!(flags["otlp.http-listen-address"], h.as_str());
    drop(taken);
}

#[test]
fn an_empty_flag_turns_a_listener_off_and_the_config_file_gives_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let grpc = free_addr();
    std::fs::write(
        dir.path().join("p.yml"),
        format!("scrape_configs: []\notlp:\n  grpc_listen_address: {grpc}\n  http_listen_address: 127.0.0.1:1\n"),
    )
    .unwrap();
    let cfg = dir.path().join("p.yml");
    let data_dir = dir.path().join("d");
    let mut srv = Server::start(&[
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        data_dir.to_str().unwrap(),
        // The flag wins over the file's 127.0.0.1:1.
        "--otlp.http-listen-address",
        "",
    ]);
    let log = srv.drain_log().join("\n");
    assert!(!log.contains("OTLP HTTP receiver"), "{log}");
    assert!(
        log.contains(&format!("OTLP gRPC receiver listening on http://{grpc}")),
        "{log}"
    );
    let flags = data(srv.addr, "/api/v1/status/flags");
    assert_eq!(flags["otlp.http-listen-address"], "");
    assert_eq!(flags["otlp.grpc-listen-address"], grpc.to_string().as_str());
    let r = rt().block_on(async { client(grpc).await.export(gauge("from.config", 4.0)).await });
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(value(srv.addr, "from_config").as_deref(), Some("4"));
    // The API port's OTLP/HTTP path stays.
    let (code, body) = http_post(
        srv.addr,
        "/api/v1/otlp/v1/metrics",
        &[("Content-Type", "application/x-protobuf")],
        &gauge("api.port", 6.0).encode_to_vec(),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(value(srv.addr, "api_port").as_deref(), Some("6"));
}

#[test]
fn tls_and_basic_auth_apply_to_the_otlp_listeners() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::web::pki(d);
    let hash = bcrypt::hash("s3cret", 6).unwrap();
    std::fs::write(
        d.join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  alice: '{hash}'\n"
        ),
    )
    .unwrap();
    let web = d.join("web.yml");
    let (srv, grpc, otlp_http, _dir) = start(&["--web.config.file", web.to_str().unwrap()]);
    let ca = std::fs::read_to_string(d.join("ca.pem")).unwrap();
    let rt = rt();
    let export = |auth: Option<&'static str>, name: &'static str| {
        let ca = ca.clone();
        rt.block_on(async move {
            let tls = tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(ca))
                .domain_name("localhost");
            let ch = Channel::from_shared(format!("https://{grpc}"))
                .unwrap()
                .tls_config(tls)
                .unwrap()
                .connect()
                .await
                .expect("a TLS connection with ALPN h2");
            let header = auth.map(|a| {
                use base64::Engine;
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(a)
                )
            });
            let mut c =
                MetricsServiceClient::with_interceptor(ch, move |mut req: tonic::Request<()>| {
                    if let Some(h) = &header {
                        req.metadata_mut()
                            .insert("authorization", h.parse().unwrap());
                    }
                    Ok(req)
                });
            c.export(gauge(name, 9.0)).await
        })
    };
    let r = export(Some("alice:s3cret"), "over.tls");
    assert!(r.is_ok(), "{r:?}");
    for auth in [None, Some("alice:wrong")] {
        let st = export(auth, "refused").unwrap_err();
        assert_eq!(st.code(), tonic::Code::Unauthenticated, "{auth:?}: {st:?}");
    }
    // Plain HTTP/2 to the TLS port gets nowhere.
    let plain = rt.block_on(async {
        let ch = Channel::from_shared(format!("http://{grpc}"))
            .unwrap()
            .connect()
            .await;
        match ch {
            Ok(ch) => MetricsServiceClient::new(ch)
                .export(gauge("plain", 1.0))
                .await
                .map(|_| ()),
            Err(e) => Err(tonic::Status::unavailable(e.to_string())),
        }
    });
    assert!(plain.is_err());
    // OTLP/HTTP over TLS with basic auth (curl), and without credentials a 401.
    let body = d.join("req.bin");
    std::fs::write(&body, gauge("https.http", 2.0).encode_to_vec()).unwrap();
    let curl = |auth: &[&str]| {
        let out = std::process::Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "10",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ])
            .args(["--cacert", d.join("ca.pem").to_str().unwrap()])
            .args(auth)
            .args(["-H", "Content-Type: application/x-protobuf"])
            .arg("--data-binary")
            .arg(format!("@{}", body.display()))
            .arg(format!("https://localhost:{}/v1/metrics", otlp_http.port()))
            .args([
                "--resolve",
                &format!("localhost:{}:127.0.0.1", otlp_http.port()),
            ])
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(curl(&["-u", "alice:s3cret"]), "200");
    assert_eq!(curl(&[]), "401");
    // The API port needs credentials too: query over the promterm client.
    let url = format!("https://127.0.0.1:{}", srv.addr.port());
    let (code, out, err) = crate::common::run(&[
        "query",
        "--url",
        &url,
        "--ca-file",
        d.join("ca.pem").to_str().unwrap(),
        "--basic-auth",
        "alice:s3cret",
        "-o",
        "json",
        "over_tls + https_http",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"11\""), "{out}");
}
