//! Asking DNS servers, as Prometheus's DNS discovery does (discovery/dns
//! `lookupWithSearchPath`): each name of the search list in turn, each server in turn, one
//! UDP query with EDNS0 (4096 bytes) and a 2 s timeout, again over TCP when the answer was
//! truncated. A name answers when a server says NOERROR; NXDOMAIN from every name means "no
//! records"; any name that no server answered viably makes the lookup fail (the last good
//! targets are kept). Uses hickory-proto for the messages, tokio for the sockets.

use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::resolv_conf::ResolvConf;
use crate::scrape::discovery::labels::join_host_port;

/// Prometheus's client (miekg/dns `Client{}`) waits 2 s to connect, write and read.
const TIMEOUT: Duration = Duration::from_secs(2);
/// The UDP payload size announced with EDNS0 (miekg/dns `DefaultMsgSize`).
const EDNS_SIZE: u16 = 4096;

/// Looks `name` up through the search list of `conf`: the first NOERROR answer (possibly with
/// no records), an empty message when every name is NXDOMAIN, an error otherwise.
pub async fn lookup_with_search_path(
    conf: &ResolvConf,
    name: &str,
    qtype: RecordType,
) -> Result<Message, String> {
    let mut all_valid = true;
    for lname in conf.name_list(name) {
        match lookup_from_any_server(conf, &lname, qtype).await {
            Ok(m) if m.metadata.response_code == ResponseCode::NoError => return Ok(m),
            Ok(_) => {}
            Err(e) => {
                tracing::debug!("{e}");
                all_valid = false;
            }
        }
    }
    if all_valid {
        return Ok(Message::new(0, MessageType::Response, OpCode::Query));
    }
    Err(format!(
        "could not resolve {name:?}: all servers responded with errors to at least one search domain"
    ))
}

/// Asks each server in turn; the first NOERROR or NXDOMAIN answer counts.
async fn lookup_from_any_server(
    conf: &ResolvConf,
    name: &str,
    qtype: RecordType,
) -> Result<Message, String> {
    for server in &conf.servers {
        let addr = join_host_port(server, conf.port);
        match ask(name, qtype, &addr).await {
            Ok(m) => {
                let rc = m.metadata.response_code;
                if rc == ResponseCode::NoError || rc == ResponseCode::NXDomain {
                    return Ok(m);
                }
                tracing::warn!(server, name, "DNS resolution failed: server answered {rc}");
            }
            Err(e) => tracing::warn!(server, name, "DNS resolution failed: {e}"),
        }
    }
    Err(format!(
        "could not resolve {name}: no servers returned a viable answer"
    ))
}

fn query(name: &str, qtype: RecordType, edns: bool) -> Result<(u16, Vec<u8>), String> {
    let n = Name::from_ascii(name).map_err(|e| format!("invalid name {name:?}: {e}"))?;
    let mut m = Message::query();
    let id = m.metadata.id;
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(n, qtype));
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(EDNS_SIZE);
        m.set_edns(e);
    }
    let bytes = m
        .to_vec()
        .map_err(|e| format!("cannot encode a query for {name:?}: {e}"))?;
    Ok((id, bytes))
}

fn decode(id: u16, bytes: &[u8]) -> Result<Message, String> {
    let m = Message::from_vec(bytes).map_err(|e| format!("malformed DNS answer: {e}"))?;
    if m.metadata.id != id {
        return Err("dns: id mismatch".into());
    }
    Ok(m)
}

/// One question to one server: UDP, then TCP if the answer came truncated.
pub async fn ask(name: &str, qtype: RecordType, server: &str) -> Result<Message, String> {
    let m = ask_udp(name, qtype, server).await?;
    if !m.metadata.truncation {
        return Ok(m);
    }
    let m = ask_tcp(name, qtype, server).await?;
    if m.metadata.truncation {
        return Err("got truncated message on TCP (64kiB limit exceeded?)".into());
    }
    Ok(m)
}

async fn within<T>(
    what: &str,
    server: &str,
    f: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what} {server}: {e}")),
        Err(_) => Err(format!("{what} {server}: i/o timeout")),
    }
}

async fn ask_udp(name: &str, qtype: RecordType, server: &str) -> Result<Message, String> {
    let (id, q) = query(name, qtype, true)?;
    let local = if server.starts_with('[') {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    };
    let sock = UdpSocket::bind(local)
        .await
        .map_err(|e| format!("udp socket: {e}"))?;
    within("dial udp", server, sock.connect(server)).await?;
    within("write udp", server, sock.send(&q)).await?;
    let mut buf = vec![0u8; EDNS_SIZE as usize];
    let n = within("read udp", server, sock.recv(&mut buf)).await?;
    decode(id, &buf[..n])
}

async fn ask_tcp(name: &str, qtype: RecordType, server: &str) -> Result<Message, String> {
    let (id, q) = query(name, qtype, false)?;
    let len = u16::try_from(q.len()).map_err(|_| format!("query for {name:?} too long"))?;
    let mut s = within("dial tcp", server, TcpStream::connect(server)).await?;
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(&q);
    within("write tcp", server, s.write_all(&out)).await?;
    let mut lb = [0u8; 2];
    within("read tcp", server, s.read_exact(&mut lb)).await?;
    let mut buf = vec![0u8; u16::from_be_bytes(lb) as usize];
    within("read tcp", server, s.read_exact(&mut buf)).await?;
    decode(id, &buf)
}
