//! Prometheus text exposition (0.0.4) and OpenMetrics 1.0 parser: a zero-copy pull iterator over
//! a scraped page. Each sample comes with its raw series text (name and label block as they
//! appear), which callers use as a cache key so a page seen before needs no label parsing;
//! `Sample::labels` parses the labels on a cache miss. Every error names the line and the bad
//! text; garbage never panics. OpenMetrics exemplars (`# {labels} value [ts]`) come with their
//! sample. Follows Prometheus's model/textparse (promparse.go and
//! openmetricsparse.go) in our own words. Uses std only. The protobuf exposition format lives
//! in `proto` (the messages, for `prost`) and `protobuf` (its parser, in this module's shapes).

use std::borrow::Cow;
use std::fmt;

pub mod proto;
pub mod protobuf;
#[cfg(test)]
mod tests;

/// The exposition format of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4` (also the fallback for unknown content types).
    Text,
    /// `application/openmetrics-text`.
    OpenMetrics,
}

impl Format {
    /// The format a response's Content-Type names (Prometheus falls back to text).
    pub fn from_content_type(ct: &str) -> Format {
        if ct
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/openmetrics-text")
        {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

/// A metric family's type, as `# TYPE` declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    Unknown,
}

/// A metric family's metadata: as a page declared it, or as remote write and OTLP sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub kind: MetricType,
    pub help: String,
    pub unit: String,
}

impl MetricType {
    /// The remote-write protobuf enum value (0 unknown, 1 counter, 2 gauge, 3 histogram,
    /// 4 gaugehistogram, 5 summary, 6 info, 7 stateset).
    pub fn proto(self) -> u64 {
        match self {
            MetricType::Unknown => 0,
            MetricType::Counter => 1,
            MetricType::Gauge => 2,
            MetricType::Histogram => 3,
            MetricType::GaugeHistogram => 4,
            MetricType::Summary => 5,
            MetricType::Info => 6,
            MetricType::StateSet => 7,
        }
    }

    /// The type for a remote-write protobuf enum value (unknown values are `Unknown`).
    pub fn from_proto(v: u64) -> MetricType {
        match v {
            1 => MetricType::Counter,
            2 => MetricType::Gauge,
            3 => MetricType::Histogram,
            4 => MetricType::GaugeHistogram,
            5 => MetricType::Summary,
            6 => MetricType::Info,
            7 => MetricType::StateSet,
            _ => MetricType::Unknown,
        }
    }

    fn parse(s: &str, format: Format) -> Option<MetricType> {
        Some(match (s, format) {
            ("counter", _) => MetricType::Counter,
            ("gauge", _) => MetricType::Gauge,
            ("histogram", _) => MetricType::Histogram,
            ("summary", _) => MetricType::Summary,
            ("untyped", Format::Text) | ("unknown", Format::OpenMetrics) => MetricType::Unknown,
            ("gaugehistogram", Format::OpenMetrics) => MetricType::GaugeHistogram,
            ("info", Format::OpenMetrics) => MetricType::Info,
            ("stateset", Format::OpenMetrics) => MetricType::StateSet,
            _ => return None,
        })
    }

    /// The name `/api/v1/metadata` reports.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

/// A parse error: the 1-based line and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub msg: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

impl std::error::Error for ParseError {}

/// One entry of a page.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    Help {
        metric: Cow<'a, str>,
        text: Cow<'a, str>,
    },
    Type {
        metric: Cow<'a, str>,
        kind: MetricType,
    },
    Unit {
        metric: Cow<'a, str>,
        unit: &'a str,
    },
    Sample(Sample<'a>),
}

/// One sample line. The parser checks only where its series text ends; `labels` parses and
/// validates the labels (callers that cache by `series` do so once per distinct series).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    /// The series as written: the name and the label block, without the value.
    pub series: &'a str,
    pub value: f64,
    /// Milliseconds, when the line carries a timestamp.
    pub timestamp: Option<i64>,
    /// 1-based line number (for errors reported later).
    pub line: usize,
    /// The OpenMetrics exemplar after ` # `, if the line has one.
    pub exemplar: Option<Exemplar<'a>>,
}

/// An OpenMetrics exemplar: `# {labels} value [timestamp]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar<'a> {
    /// Label pairs in page order, escapes resolved.
    pub labels: Pairs<'a>,
    pub value: f64,
    /// Milliseconds, when the exemplar carries a timestamp (seconds on the page).
    pub timestamp: Option<i64>,
}

impl<'a> Sample<'a> {
    /// The metric name and the labels (in page order, escapes resolved).
    pub fn labels(&self) -> Result<SeriesLabels<'a>, ParseError> {
        let mut c = Cursor {
            s: self.series,
            i: 0,
            line: self.line,
        };
        let (name, labels) = c.series()?;
        Ok(SeriesLabels { name, labels })
    }
}

/// Label pairs in page order, escapes resolved.
pub type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// A sample's parsed series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesLabels<'a> {
    pub name: Cow<'a, str>,
    pub labels: Pairs<'a>,
}

/// The pull parser. Iterating yields entries until the page ends (or, for OpenMetrics, `# EOF`).
pub struct Parser<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    format: Format,
    saw_eof: bool,
    failed: bool,
}

impl<'a> Parser<'a> {
    pub fn new(text: &'a str, format: Format) -> Self {
        Parser {
            text,
            pos: 0,
            line: 0,
            format,
            saw_eof: false,
            failed: false,
        }
    }

    fn err(&mut self, msg: String) -> Option<Result<Entry<'a>, ParseError>> {
        self.failed = true;
        Some(Err(ParseError {
            line: self.line,
            msg,
        }))
    }

    fn next_line(&mut self) -> Option<&'a str> {
        if self.pos >= self.text.len() {
            return None;
        }
        let rest = &self.text[self.pos..];
        let (line, adv) = match rest.find('\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += adv;
        self.line += 1;
        Some(line)
    }

    /// A `#` line: HELP, TYPE or UNIT, or `None` for a comment to skip.
    fn comment(&mut self, line: &'a str) -> Option<Result<Entry<'a>, ParseError>> {
        let om = self.format == Format::OpenMetrics;
        let body = &line[1..];
        let body = if om {
            match body.strip_prefix(' ') {
                Some(b) => b,
                None => return self.err(format!("invalid comment {line:?}")),
            }
        } else {
            body.trim_start_matches([' ', '\t'])
        };
        let (kw, rest) = match body.find([' ', '\t']) {
            Some(i) => (&body[..i], &body[i + 1..]),
            None => (body, ""),
        };
        if !matches!(kw, "HELP" | "TYPE" | "UNIT") || (kw == "UNIT" && !om) {
            if om {
                return self.err(format!("invalid comment {line:?}: only HELP, TYPE, UNIT and EOF are allowed in OpenMetrics"));
            }
            return None;
        }
        let rest = if om {
            rest
        } else {
            rest.trim_start_matches([' ', '\t'])
        };
        let mut c = Cursor {
            s: rest,
            i: 0,
            line: self.line,
        };
        let metric = match c.metric_name() {
            Ok(m) => m,
            Err(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        };
        let after = &rest[c.i..];
        let arg = if after.is_empty() {
            ""
        } else if let Some(a) =
            after
                .strip_prefix(' ')
                .or_else(|| if om { None } else { after.strip_prefix('\t') })
        {
            a
        } else {
            return self.err(format!("invalid metric name in {kw} line {line:?}"));
        };
        match kw {
            "HELP" => {
                let text = if om {
                    unescape(arg, true)
                } else {
                    unescape(arg, false)
                };
                Some(Ok(Entry::Help { metric, text }))
            }
            "TYPE" => {
                let t = if om { arg } else { arg.trim() };
                match MetricType::parse(t, self.format) {
                    Some(kind) => Some(Ok(Entry::Type { metric, kind })),
                    None => self.err(format!("invalid metric type {t:?}")),
                }
            }
            _ => {
                if !metric.ends_with(&format!("_{arg}")) && !arg.is_empty() {
                    return self.err(format!("unit {arg:?} not a suffix of metric {metric:?}"));
                }
                Some(Ok(Entry::Unit { metric, unit: arg }))
            }
        }
    }

    fn sample(&mut self, line: &'a str) -> Option<Result<Entry<'a>, ParseError>> {
        let mut c = Cursor {
            s: line,
            i: 0,
            line: self.line,
        };
        if let Err(e) = c.skip_series() {
            self.failed = true;
            return Some(Err(e));
        }
        let series = &line[..c.i];
        let rest = &line[c.i..];
        let om = self.format == Format::OpenMetrics;
        let rest = if om {
            match rest.strip_prefix(' ') {
                Some(r) => r,
                None => return self.err(format!("expected a space after the series in {line:?}")),
            }
        } else {
            let r = rest.trim_start_matches([' ', '\t']);
            if r.len() == rest.len() {
                return self.err(format!("expected a space after the series in {line:?}"));
            }
            r
        };
        // value [timestamp] [# exemplar]
        let (main, exemplar) = if om {
            match rest.find(" # ") {
                Some(i) => (&rest[..i], Some(&rest[i + 3..])),
                None => (rest, None),
            }
        } else {
            (rest, None)
        };
        // Up to three fields without allocating: value, timestamp, and anything extra.
        let mut fields: [&str; 3] = [""; 3];
        let mut nf = 0usize;
        if om {
            for f in main.split(' ') {
                if nf < 3 {
                    fields[nf] = f;
                }
                nf += 1;
            }
            if main.ends_with(' ') {
                return self.err(format!("trailing space in {line:?}"));
            }
        } else {
            for f in main.split([' ', '\t']).filter(|f| !f.is_empty()) {
                if nf < 3 {
                    fields[nf] = f;
                }
                nf += 1;
            }
        }
        if nf == 0 || nf > 2 {
            return self.err(format!(
                "expected a value and an optional timestamp in {line:?}"
            ));
        }
        let value = match parse_value(fields[0]) {
            Some(v) => v,
            None => return self.err(format!("invalid value {:?}", fields[0])),
        };
        let timestamp = match (nf == 2).then_some(fields[1]) {
            None => None,
            Some(t) => {
                let ts = if om {
                    parse_value(t)
                        .filter(|x| x.is_finite())
                        .map(|secs| (secs * 1000.0).round() as i64)
                } else {
                    t.parse::<i64>().ok()
                };
                match ts {
                    Some(ts) => Some(ts),
                    None => return self.err(format!("invalid timestamp {t:?}")),
                }
            }
        };
        let exemplar = match exemplar.map(|ex| parse_exemplar(ex, self.line)) {
            None => None,
            Some(Ok(e)) => Some(e),
            Some(Err(e)) => {
                self.failed = true;
                return Some(Err(e));
            }
        };
        Some(Ok(Entry::Sample(Sample {
            series,
            value,
            timestamp,
            line: self.line,
            exemplar,
        })))
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.saw_eof {
            return None;
        }
        loop {
            let Some(line) = self.next_line() else {
                if self.format == Format::OpenMetrics {
                    return self.err("data does not end with # EOF".into());
                }
                return None;
            };
            let line = line.strip_suffix('\r').unwrap_or(line);
            if self.format == Format::Text {
                let t = line.trim_start_matches([' ', '\t']);
                if t.is_empty() {
                    continue;
                }
                if t.starts_with('#') {
                    match self.comment(t) {
                        Some(r) => return Some(r),
                        None => continue,
                    }
                }
                return self.sample(t);
            }
            if line.is_empty() {
                return self.err("unexpected empty line".into());
            }
            if line == "# EOF" {
                self.saw_eof = true;
                if self.text[self.pos..].is_empty() {
                    return None;
                }
                return self.err("unexpected data after # EOF".into());
            }
            if line.starts_with('#') {
                return self.comment(line);
            }
            return self.sample(line);
        }
    }
}

/// Go's ParseFloat for the spellings expositions use.
fn parse_value(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains('_') {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Reads `{labels} value [timestamp]` (the timestamp in seconds, kept as milliseconds).
fn parse_exemplar(ex: &str, line: usize) -> Result<Exemplar<'_>, ParseError> {
    let mut c = Cursor { s: ex, i: 0, line };
    if !ex.starts_with('{') {
        return Err(c.error(format!("invalid exemplar {ex:?}")));
    }
    let labels = c.label_block(None)?;
    let rest = &ex[c.i..];
    let mut fields = rest.split(' ').filter(|f| !f.is_empty());
    let value = fields.next().and_then(parse_value);
    let timestamp = fields.next().map(|t| {
        parse_value(t)
            .filter(|x| x.is_finite())
            .map(|secs| (secs * 1000.0).round() as i64)
    });
    match (value, timestamp, fields.next()) {
        (Some(value), None, None) => Ok(Exemplar {
            labels,
            value,
            timestamp: None,
        }),
        (Some(value), Some(Some(ts)), None) => Ok(Exemplar {
            labels,
            value,
            timestamp: Some(ts),
        }),
        _ => Err(c.error(format!("invalid exemplar {ex:?}"))),
    }
}

/// Resolves `\\`, `\n` and (in label values and OpenMetrics help) `\"`; other escapes are kept.
fn unescape(s: &str, quote: bool) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quote => out.push('"'),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// A position in one line.
struct Cursor<'a> {
    s: &'a str,
    i: usize,
    line: usize,
}

/// Bytes allowed in a legacy metric name: 1 = anywhere, 2 = not first (digits).
const NAME_BYTES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b.is_ascii_alphabetic() || b == b'_' || b == b':' {
            1
        } else if b.is_ascii_digit() {
            2
        } else {
            0
        };
        c += 1;
    }
    t
};

#[inline]
fn is_name_start(b: u8) -> bool {
    NAME_BYTES[b as usize] == 1
}

#[inline]
fn is_name_char(b: u8) -> bool {
    NAME_BYTES[b as usize] != 0
}

impl<'a> Cursor<'a> {
    fn error(&self, msg: String) -> ParseError {
        ParseError {
            line: self.line,
            msg,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    /// A bare metric name, or a quoted (UTF-8) one.
    fn metric_name(&mut self) -> Result<Cow<'a, str>, ParseError> {
        if self.peek() == Some(b'"') {
            return self.quoted();
        }
        self.bare_name(true)
    }

    fn bare_name(&mut self, metric: bool) -> Result<Cow<'a, str>, ParseError> {
        let b = self.s.as_bytes();
        let start = self.i;
        match b.get(self.i) {
            Some(&c) if is_name_start(c) && (metric || c != b':') => self.i += 1,
            _ => {
                let what = if metric { "metric name" } else { "label name" };
                let rest: String = self.s[start..].chars().take(40).collect();
                return Err(self.error(format!("invalid {what} at {rest:?}")));
            }
        }
        while self.i < b.len() && is_name_char(b[self.i]) && (metric || b[self.i] != b':') {
            self.i += 1;
        }
        Ok(Cow::Borrowed(&self.s[start..self.i]))
    }

    /// A double-quoted string with escapes resolved.
    fn quoted(&mut self) -> Result<Cow<'a, str>, ParseError> {
        let b = self.s.as_bytes();
        let start = self.i + 1;
        let mut j = start;
        let mut escaped = false;
        while j < b.len() {
            match b[j] {
                b'\\' => {
                    escaped = true;
                    j += 2;
                    continue;
                }
                b'"' => {
                    let raw = &self.s[start..j];
                    self.i = j + 1;
                    return Ok(if escaped {
                        unescape(raw, true)
                    } else {
                        Cow::Borrowed(raw)
                    });
                }
                b'\n' => break,
                _ => j += 1,
            }
        }
        Err(self.error(format!(
            "unterminated quoted string {:?}",
            &self.s[self.i..]
        )))
    }

    /// Moves past a series (name and label block) without building its labels: the hot path
    /// of a scrape whose series are cached. `series` checks the labels themselves.
    fn skip_series(&mut self) -> Result<(), ParseError> {
        if self.peek() != Some(b'{') {
            self.bare_name(true)?;
            let save = self.i;
            self.skip_ws();
            if self.peek() != Some(b'{') {
                self.i = save;
                return Ok(());
            }
        }
        let b = self.s.as_bytes();
        let mut i = self.i + 1;
        while let Some(off) = memchr::memchr2(b'"', b'}', &b[i..]) {
            i += off;
            if b[i] == b'}' {
                self.i = i + 1;
                return Ok(());
            }
            // A quoted string: skip to its closing quote, past escapes.
            i += 1;
            loop {
                match memchr::memchr2(b'"', b'\\', &b[i..]) {
                    Some(o) if b[i + o] == b'\\' => i += o + 2,
                    Some(o) => {
                        i += o + 1;
                        break;
                    }
                    None => {
                        i = b.len();
                        break;
                    }
                }
                if i >= b.len() {
                    break;
                }
            }
            if i >= b.len() {
                break;
            }
        }
        Err(self.error(format!("unterminated label set in {:?}", self.s)))
    }

    /// `name{labels}`, `name`, or `{"name", labels}`.
    fn series(&mut self) -> Result<(Cow<'a, str>, Pairs<'a>), ParseError> {
        if self.peek() == Some(b'{') {
            let mut name = None;
            let labels = self.label_block(Some(&mut name))?;
            return match name {
                Some(n) => Ok((n, labels)),
                None => Err(self.error("metric name is missing".into())),
            };
        }
        let name = self.bare_name(true)?;
        // Text format tolerates blanks between the name and its labels.
        let save = self.i;
        self.skip_ws();
        if self.peek() != Some(b'{') {
            self.i = save;
        }
        if self.peek() == Some(b'{') {
            let labels = self.label_block(None)?;
            Ok((name, labels))
        } else {
            Ok((name, Vec::new()))
        }
    }

    /// `{a="x", b="y"}`; with `name`, a quoted metric name may stand alone in it.
    fn label_block(
        &mut self,
        mut name: Option<&mut Option<Cow<'a, str>>>,
    ) -> Result<Pairs<'a>, ParseError> {
        self.i += 1; // '{'
        let mut labels = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'}') => {
                    self.i += 1;
                    return Ok(labels);
                }
                None => return Err(self.error(format!("unterminated label set in {:?}", self.s))),
                _ => {}
            }
            let lname = if self.peek() == Some(b'"') {
                self.quoted()?
            } else {
                self.bare_name(false)?
            };
            self.skip_ws();
            match self.peek() {
                Some(b'=') => {
                    self.i += 1;
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(
                            self.error(format!("expected a quoted value for label {lname:?}"))
                        );
                    }
                    let v = self.quoted()?;
                    if lname == "__name__" {
                        if let Some(n) = name.as_deref_mut() {
                            *n = Some(v.clone());
                            // __name__ inside braces names the metric.
                            self.after_pair()?;
                            continue;
                        }
                    }
                    if labels.iter().any(|(n, _)| *n == lname) {
                        return Err(self.error(format!("duplicate label name {lname:?}")));
                    }
                    labels.push((lname, v));
                }
                Some(b',' | b'}') if name.as_deref().is_some_and(|n| n.is_none()) => {
                    if let Some(n) = name.as_deref_mut() {
                        *n = Some(lname);
                    }
                }
                _ => return Err(self.error(format!("expected '=' after label name {lname:?}"))),
            }
            self.after_pair()?;
        }
    }

    fn after_pair(&mut self) -> Result<(), ParseError> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                Ok(())
            }
            Some(b'}') => Ok(()),
            _ => Err(self.error(format!("expected ',' or '}}' in label set {:?}", self.s))),
        }
    }
}
