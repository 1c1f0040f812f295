//! Remote write 1.0 and 2.0, receiving side: protocol negotiation by Content-Type, snappy block
//! decompression (`snap::raw`), protobuf decoding (`proto`), label validation, created
//! timestamps (a zero sample before a counter's first sample), and hand-off to a
//! `storage::Appender`.
//!
//! A request is decoded completely before anything is stored, so undecodable bodies store
//! nothing. Series with invalid labels are rejected one by one and the rest are stored; samples
//! that are out of order or duplicate are rejected one by one and the rest are stored. Either
//! way the client gets a 400 naming the problem (the Prometheus sender does not retry a 400).
//! Exemplars (1.0 `TimeSeries.exemplars`, 2.0 `exemplars` with symbol references) are stored
//! after the samples of their series; as in Prometheus, exemplars the store refuses (out of
//! order, duplicates, labels too long, invalid UTF-8) are counted, not an error of the write.
//! Uses `model` and `storage`; prost (in `proto`) and snap stay here.

pub mod metadata;
pub mod proto;

use crate::model::{is_valid_label_name, is_valid_metric_name, NameValidation, METRIC_NAME};
use crate::storage::{
    AppendStats, Appender, Exemplar, ExemplarInput, ExemplarStats, SeriesInput, StorageError,
};

/// Limits on one request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest compressed body accepted (413 above).
    pub max_body: usize,
    /// Largest decompressed body accepted (400 above; guards against snappy bombs).
    pub max_decoded: usize,
    /// Limits on each series' labels (remote write and OTLP).
    pub labels: crate::model::LabelLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 32 << 20,
            max_decoded: 256 << 20,
            labels: crate::model::LabelLimits::default(),
        }
    }
}

/// Why a write was not (wholly) accepted; each maps to an HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// 415
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 413
    #[error("request body of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// 400: nothing was stored.
    #[error("{0}")]
    BadRequest(String),
    /// 400: the valid part was stored.
    #[error("{message}")]
    Partial {
        message: String,
        stats: AppendStats,
        /// Exemplars stored.
        exemplars_written: u64,
    },
    /// 500
    #[error("{0}")]
    Storage(#[from] StorageError),
}

impl WriteError {
    pub fn status(&self) -> u16 {
        match self {
            WriteError::UnsupportedMediaType(_) => 415,
            WriteError::TooLarge { .. } => 413,
            WriteError::BadRequest(_) | WriteError::Partial { .. } => 400,
            WriteError::Storage(_) => 500,
        }
    }
}

/// Which remote-write protocol a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `prometheus.WriteRequest`
    V1,
    /// `io.prometheus.write.v2.Request`
    V2,
}

/// What a stored write held (for the 2.0 `X-Prometheus-Remote-Write-*-Written` headers).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Received {
    pub stats: AppendStats,
    /// Samples stored (created-timestamp zeros not counted).
    pub samples_written: u64,
    /// What became of the request's exemplars (stored ones are `accepted`).
    pub exemplars: ExemplarStats,
    /// Metadata the request carried: (family name, metadata).
    pub metadata: Vec<(String, crate::textparse::Metadata)>,
}

/// Checks `Content-Type` and `Content-Encoding` and picks the protocol: `proto=` in the
/// Content-Type chooses 1.0 or 2.0; a missing Content-Type or `proto` is 1.0 (older senders
/// omit them); a missing Content-Encoding is snappy.
pub fn check_headers(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<Version, WriteError> {
    let mut version = Version::V1;
    if let Some(ct) = content_type {
        let mut parts = ct.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        if !media.eq_ignore_ascii_case("application/x-protobuf") {
            return Err(WriteError::UnsupportedMediaType(format!(
                "unsupported Content-Type {ct:?}: remote write needs \"application/x-protobuf\""
            )));
        }
        for p in parts {
            if let Some(proto) = p.strip_prefix("proto=") {
                version = match proto.trim_matches('"') {
                    "prometheus.WriteRequest" => Version::V1,
                    "io.prometheus.write.v2.Request" => Version::V2,
                    _ => {
                        return Err(WriteError::UnsupportedMediaType(format!(
                            "unsupported remote write protobuf message {proto:?}: \"prometheus.WriteRequest\" (1.0) and \"io.prometheus.write.v2.Request\" (2.0) are accepted"
                        )))
                    }
                };
            }
        }
    }
    if let Some(ce) = content_encoding {
        if !ce.trim().eq_ignore_ascii_case("snappy") {
            return Err(WriteError::UnsupportedMediaType(format!(
                "unsupported Content-Encoding {ce:?}: remote write needs \"snappy\""
            )));
        }
    }
    Ok(version)
}

/// Decompresses a snappy block-format body.
pub fn decompress(body: &[u8], limits: Limits) -> Result<Vec<u8>, WriteError> {
    let n = snap::raw::decompress_len(body)
        .map_err(|e| WriteError::BadRequest(format!("invalid snappy-compressed body: {e}")))?;
    if n > limits.max_decoded {
        return Err(WriteError::BadRequest(format!(
            "decompressed body would be {n} bytes, above the limit of {} bytes",
            limits.max_decoded
        )));
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| WriteError::BadRequest(format!("invalid snappy-compressed body: {e}")))
}

fn printable(pairs: &[(&[u8], &[u8])]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(n, v)| {
            format!(
                "{}={:?}",
                String::from_utf8_lossy(n),
                String::from_utf8_lossy(v)
            )
        })
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// Validates one series' labels: UTF-8, non-empty and valid names, unique names, a metric
/// name. Returns sorted pairs with empty values dropped.
pub fn validate_labels<'a>(
    raw: &[(&'a [u8], &'a [u8])],
    scheme: NameValidation,
) -> Result<Vec<(&'a str, &'a str)>, String> {
    let mut pairs = Vec::with_capacity(raw.len());
    for (n, v) in raw {
        let name = std::str::from_utf8(n).map_err(|_| {
            format!(
                "invalid UTF-8 in label name {:?} of series {}",
                String::from_utf8_lossy(n),
                printable(raw)
            )
        })?;
        let value = std::str::from_utf8(v).map_err(|_| {
            format!(
                "invalid UTF-8 in the value of label {name:?} of series {}",
                printable(raw)
            )
        })?;
        if name.is_empty() {
            return Err(format!("empty label name in series {}", printable(raw)));
        }
        if !value.is_empty() {
            pairs.push((name, value));
        }
    }
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for w in pairs.windows(2) {
        if w[0].0 == w[1].0 {
            return Err(format!(
                "duplicate label name {:?} in series {}",
                w[0].0,
                printable(raw)
            ));
        }
    }
    match pairs.iter().find(|(n, _)| *n == METRIC_NAME) {
        None => {
            return Err(format!(
                "series {} has no metric name (__name__ label)",
                printable(raw)
            ))
        }
        Some((_, m)) if !is_valid_metric_name(m, scheme) => {
            return Err(format!(
                "invalid metric name {m:?} in series {}",
                printable(raw)
            ))
        }
        _ => {}
    }
    if let Some((n, _)) = pairs.iter().find(|(n, _)| !is_valid_label_name(n, scheme)) {
        return Err(format!(
            "invalid label name {n:?} in series {}",
            printable(raw)
        ));
    }
    Ok(pairs)
}

/// A series' received exemplars with valid UTF-8 labels, and how many had invalid ones.
fn exemplars_of(list: &[proto::DecodedExemplar<'_>]) -> (Vec<Exemplar>, u64) {
    let mut out = Vec::with_capacity(list.len());
    let mut bad = 0;
    for e in list {
        let pairs: Option<Vec<(&str, &str)>> = e
            .labels
            .iter()
            .map(|(n, v)| Some((std::str::from_utf8(n).ok()?, std::str::from_utf8(v).ok()?)))
            .collect();
        match pairs {
            Some(p) => out.push(Exemplar {
                labels: crate::model::Labels::from_pairs(p),
                value: e.value,
                t: e.t,
            }),
            None => bad += 1,
        }
    }
    (out, bad)
}

/// A decoded request of either version.
enum Request {
    V1(proto::v1::WriteRequest),
    V2(proto::v2::Request),
}

/// Decodes, validates and stores one remote-write request body.
pub fn receive(
    appender: &dyn Appender,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
    limits: Limits,
) -> Result<Received, WriteError> {
    let version = check_headers(content_type, content_encoding)?;
    if body.len() > limits.max_body {
        return Err(WriteError::TooLarge {
            size: body.len(),
            limit: limits.max_body,
        });
    }
    let raw = prost::bytes::Bytes::from(decompress(body, limits)?);
    let bad = |e: proto::ProtoError| WriteError::BadRequest(e.to_string());
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut metadata = Vec::new();
    // The decoded request owns the label bytes the series below borrow.
    let req = match version {
        Version::V1 => Request::V1(proto::decode_write_request(raw).map_err(bad)?),
        Version::V2 => Request::V2(proto::decode_write_request_v2(raw).map_err(bad)?),
    };
    let (decoded, created) = match &req {
        Request::V1(req) => {
            for m in &req.metadata {
                metadata.push((
                    text(&m.metric_family_name),
                    crate::textparse::Metadata {
                        kind: crate::textparse::MetricType::from_proto(
                            u64::try_from(m.r#type).unwrap_or(0),
                        ),
                        help: text(&m.help),
                        unit: text(&m.unit),
                    },
                ));
            }
            let decoded: Vec<proto::DecodedSeries<'_>> =
                req.timeseries.iter().map(|ts| ts.decoded()).collect();
            (decoded, Vec::new())
        }
        Request::V2(req) => {
            let v2 = req.decoded_series().map_err(bad)?;
            let created: Vec<i64> = v2.iter().map(|s| s.created).collect();
            for s in &v2 {
                if s.metric_type == 0 && s.help.is_empty() && s.unit.is_empty() {
                    continue;
                }
                let Some((_, name)) = s.series.labels.iter().find(|(n, _)| *n == b"__name__")
                else {
                    continue;
                };
                let kind = crate::textparse::MetricType::from_proto(s.metric_type);
                let name = text(name);
                metadata.push((
                    metadata::family_name(&name, kind).to_string(),
                    crate::textparse::Metadata {
                        kind,
                        help: text(s.help),
                        unit: text(s.unit),
                    },
                ));
            }
            (v2.into_iter().map(|s| s.series).collect(), created)
        }
    };
    metadata.dedup();
    let mut ct_zeros: Vec<SeriesInput<'_>> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let mut bad_series = 0usize;
    let mut histograms = 0usize;
    let mut batch: Vec<SeriesInput<'_>> = Vec::with_capacity(decoded.len());
    let mut exemplars: Vec<ExemplarInput<'_>> = Vec::new();
    let mut bad_exemplars = 0u64;
    for (i, ts) in decoded.into_iter().enumerate() {
        histograms += ts.histograms;
        match validate_labels(&ts.labels, NameValidation::Legacy).and_then(|l| {
            limits
                .labels
                .check(&l)
                .map(|()| l)
                .map_err(|e| e.to_string())
        }) {
            Ok(labels) => {
                // A created timestamp before the first sample: a zero there, as Prometheus
                // ingests it (ignored when the series already has later samples).
                let ct = created.get(i).copied().unwrap_or(0);
                if ct != 0 && ts.samples.first().is_some_and(|s| ct < s.t) {
                    ct_zeros.push(SeriesInput {
                        labels: labels.clone(),
                        samples: vec![crate::model::Sample { t: ct, v: 0.0 }],
                    });
                }
                if !ts.exemplars.is_empty() {
                    let (list, bad) = exemplars_of(&ts.exemplars);
                    bad_exemplars += bad;
                    exemplars.push(ExemplarInput {
                        series: labels.clone(),
                        exemplars: list,
                    });
                }
                if !ts.samples.is_empty() {
                    batch.push(SeriesInput {
                        labels,
                        samples: ts.samples,
                    });
                }
            }
            Err(e) => {
                bad_series += 1;
                if problems.is_empty() {
                    problems.push(e);
                }
            }
        }
    }
    if !ct_zeros.is_empty() {
        appender.append(&ct_zeros)?;
    }
    let stats = appender.append(&batch)?;
    let mut ex_stats = if exemplars.is_empty() {
        ExemplarStats::default()
    } else {
        appender.append_exemplars(&exemplars)?
    };
    ex_stats.invalid += bad_exemplars;
    if bad_series > 1 {
        problems[0] = format!(
            "{} (and {} more invalid series)",
            problems[0],
            bad_series - 1
        );
    }
    if histograms > 0 {
        problems.push(format!("{histograms} native histogram samples were dropped: native histograms are not supported yet"));
    }
    if stats.out_of_order > 0 {
        problems.push(format!(
            "{} out-of-order samples rejected",
            stats.out_of_order
        ));
    }
    if stats.duplicate > 0 {
        problems.push(format!(
            "{} duplicate samples for an existing timestamp with a different value rejected",
            stats.duplicate
        ));
    }
    if problems.is_empty() {
        return Ok(Received {
            stats,
            samples_written: stats.accepted,
            exemplars: ex_stats,
            metadata,
        });
    }
    Err(WriteError::Partial {
        message: format!(
            "{}; {} samples were stored",
            problems.join("; "),
            stats.accepted
        ),
        stats,
        exemplars_written: ex_stats.accepted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sample;
    use parking_lot::Mutex;

    type Stored = (Vec<(String, String)>, Vec<Sample>);

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Stored>>);

    impl Appender for Recorder {
        fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
            let mut st = AppendStats::default();
            for s in batch {
                st.accepted += s.samples.len() as u64;
                self.0.lock().push((
                    s.labels
                        .iter()
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .collect(),
                    s.samples.clone(),
                ));
            }
            Ok(st)
        }
    }

    fn body(series: &[proto::SeriesToEncode<'_>]) -> Vec<u8> {
        snap::raw::Encoder::new()
            .compress_vec(&proto::encode_write_request(series))
            .unwrap()
    }

    fn one(
        labels: Vec<(&'static str, &'static str)>,
    ) -> (Vec<(&'static str, &'static str)>, Vec<Sample>) {
        (labels, vec![Sample { t: 1, v: 1.0 }])
    }

    const CT: Option<&str> = Some("application/x-protobuf");
    const CE: Option<&str> = Some("snappy");

    #[test]
    fn stores_valid_series_sorted_without_empty_values() {
        let r = Recorder::default();
        let b = body(&[one(vec![("job", "a"), ("__name__", "up"), ("env", "")])]);
        let st = receive(&r, CT, CE, &b, Limits::default()).unwrap();
        assert_eq!(st.stats.accepted, 1);
        let got = r.0.lock();
        assert_eq!(
            got[0].0,
            vec![
                ("__name__".to_string(), "up".to_string()),
                ("job".into(), "a".into())
            ]
        );
    }

    #[test]
    fn each_label_problem_is_named_and_the_rest_is_kept() {
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![("__name__", "up"), ("", "x")], "empty label name"),
            (vec![("job", "x")], "has no metric name"),
            (
                vec![("__name__", "up"), ("job", "a"), ("job", "b")],
                "duplicate label name \"job\"",
            ),
            (vec![("__name__", "9up")], "invalid metric name \"9up\""),
            (
                vec![("__name__", "up"), ("bad-name", "x")],
                "invalid label name \"bad-name\"",
            ),
        ];
        for (labels, want) in cases {
            let r = Recorder::default();
            let b = body(&[one(labels.clone()), one(vec![("__name__", "ok")])]);
            let err = receive(&r, CT, CE, &b, Limits::default()).unwrap_err();
            assert_eq!(err.status(), 400);
            let msg = err.to_string();
            assert!(msg.contains(want), "{labels:?}: {msg}");
            assert!(msg.contains("1 samples were stored"), "{msg}");
            assert_eq!(r.0.lock().len(), 1, "the valid series is kept");
        }
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let raw = proto::encode_write_request(&[one(vec![("__name__", "up"), ("job", "XX")])]);
        let pos = raw.windows(2).position(|w| w == b"XX").unwrap();
        let mut raw = raw;
        raw[pos] = 0xff;
        let b = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
        let err = receive(&Recorder::default(), CT, CE, &b, Limits::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("invalid UTF-8 in the value of label \"job\""),
            "{err}"
        );
    }

    const CT2: Option<&str> = Some("application/x-protobuf;proto=io.prometheus.write.v2.Request");

    fn body2(series: &[proto::SeriesToEncodeV2<'_>]) -> Vec<u8> {
        snap::raw::Encoder::new()
            .compress_vec(&proto::encode_write_request_v2(series))
            .unwrap()
    }

    #[test]
    fn series_over_the_label_limits_are_rejected_and_named() {
        let r = Recorder::default();
        let limits = Limits {
            labels: crate::model::LabelLimits {
                max_labels: 3,
                max_name_len: 10,
                max_value_len: 5,
            },
            ..Limits::default()
        };
        let b = body(&[
            one(vec![("__name__", "fine"), ("job", "a")]),
            one(vec![
                ("__name__", "wide"),
                ("a", "1"),
                ("b", "2"),
                ("c", "3"),
            ]),
            one(vec![("__name__", "long"), ("job", "abcdefgh")]),
        ]);
        let e = receive(&r, CT, CE, &b, limits).unwrap_err();
        assert_eq!(e.status(), 400);
        let m = e.to_string();
        assert!(m.contains("series wide has 4 labels"), "{m}");
        assert!(m.contains("1 more invalid series"), "{m}");
        assert!(m.contains("1 samples were stored"), "{m}");
        assert_eq!(r.0.lock().len(), 1, "the good series is stored");
    }

    #[test]
    fn remote_write_2_symbols_created_timestamps_and_negotiation() {
        assert_eq!(check_headers(CT, CE).unwrap(), Version::V1);
        assert_eq!(check_headers(None, None).unwrap(), Version::V1);
        assert_eq!(check_headers(CT2, CE).unwrap(), Version::V2);
        assert_eq!(
            check_headers(
                Some("application/x-protobuf;proto=prometheus.WriteRequest"),
                CE
            )
            .unwrap(),
            Version::V1
        );
        let r = Recorder::default();
        let s = |t, v| Sample { t, v };
        let b = body2(&[
            (
                vec![("__name__", "http_requests_total"), ("job", "api")],
                vec![s(2000, 5.0), s(3000, 7.0)],
                1500,
                1,
            ),
            (
                vec![("__name__", "temp"), ("job", "api")],
                vec![s(2000, 21.5)],
                0,
                2,
            ),
        ]);
        let got = receive(&r, CT2, CE, &b, Limits::default()).unwrap();
        assert_eq!(got.samples_written, 3);
        let stored = r.0.lock().clone();
        // The created timestamp becomes a zero before the counter's first sample.
        assert_eq!(stored[0].1, vec![s(1500, 0.0)]);
        assert_eq!(
            stored[0].0[0],
            ("__name__".to_string(), "http_requests_total".to_string())
        );
        assert_eq!(stored[1].1, vec![s(2000, 5.0), s(3000, 7.0)]);
        assert_eq!(stored[2].0[0].1, "temp");
        // The same bytes as 1.0 are not a 2.0 request, and bad references are named.
        let v1 = body(&[one(vec![("__name__", "up")])]);
        assert_eq!(
            receive(&r, CT2, CE, &v1, Limits::default())
                .unwrap_err()
                .status(),
            400
        );
        let mut raw =
            proto::encode_write_request_v2(&[(vec![("__name__", "x")], vec![s(1, 1.0)], 0, 0)]);
        // Point the value at symbol 9 (there are 3).
        let at = raw.iter().rposition(|b| *b == 2).unwrap();
        raw[at] = 9;
        let bad = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
        let e = receive(&r, CT2, CE, &bad, Limits::default()).unwrap_err();
        assert!(e.to_string().contains("symbol 9"), "{e}");
    }

    #[test]
    fn header_and_body_errors() {
        let r = Recorder::default();
        let b = body(&[one(vec![("__name__", "up")])]);
        let e = receive(&r, Some("application/json"), CE, &b, Limits::default()).unwrap_err();
        assert_eq!(e.status(), 415);
        assert!(e.to_string().contains("application/json"));
        let e = receive(&r, CT, Some("gzip"), &b, Limits::default()).unwrap_err();
        assert_eq!(e.status(), 415);
        let e = receive(
            &r,
            Some("application/x-protobuf;proto=io.prometheus.write.v3.Request"),
            CE,
            &b,
            Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e.status(), 415);
        assert!(e.to_string().contains("v3"), "{e}");
        let e = receive(
            &r,
            CT,
            CE,
            &b,
            Limits {
                max_body: 3,
                ..Limits::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.status(), 413);
        let e = receive(&r, CT, CE, b"not snappy at all", Limits::default()).unwrap_err();
        assert!(e.to_string().contains("snappy"), "{e}");
        let not_proto = snap::raw::Encoder::new()
            .compress_vec(b"\x0a\xff\xff\xff")
            .unwrap();
        let e = receive(&r, CT, CE, &not_proto, Limits::default()).unwrap_err();
        assert!(e.to_string().contains("protobuf"), "{e}");
        let bomb = snap::raw::Encoder::new()
            .compress_vec(&vec![0u8; 10_000])
            .unwrap();
        let e = receive(
            &r,
            CT,
            CE,
            &bomb,
            Limits {
                max_decoded: 1000,
                ..Limits::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("above the limit"), "{e}");
        assert!(
            r.0.lock().is_empty(),
            "nothing stored from rejected requests"
        );
        // Missing headers are tolerated.
        receive(&r, None, None, &b, Limits::default()).unwrap();
    }
}
