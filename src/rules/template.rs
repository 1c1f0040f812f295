//! The Go `text/template` subset that alerting-rule labels and annotations use, with
//! Prometheus's template functions.
//!
//! Syntax: text with `{{ ... }}` actions (`{{-`/`-}}` trim whitespace, `{{/* */}}` comments);
//! pipelines of commands joined by `|` (the previous result becomes the last argument);
//! variables (`$x := ...`, `$x = ...`, `$`), fields (`.Labels.job`, `$labels.job`, `.Value`),
//! string/number/bool/nil constants, parenthesised pipelines; `if`/`else if`/`else`, `range`
//! (with one or two variables) and `with`, each closed by `end`. `define`, `template`, `block`,
//! `break` and `continue` are rejected with an error naming them.
//!
//! Functions: Go's `and or not len index print printf println eq ne lt le gt ge urlquery html`
//! and Prometheus's `humanize humanize1024 humanizeDuration humanizePercentage
//! humanizeTimestamp toUpper toLower title reReplaceAll match query first label value strvalue
//! sortByLabel args safeHtml stripPort stripDomain externalURL pathPrefix graphLink tableLink
//! parseDuration toTime`. An unknown function is a parse error, as in Go.
//!
//! Values follow Go's rules where a rule file can tell: integer and float constants are
//! distinct types (`gt $value 80` is a comparison error, `gt $value 80.0` is not), missing map
//! keys read as "" (Prometheus's `missingkey=zero`), and values print as `fmt.Sprint` does.
//!
//! A histogram sample's `$value` (and a `query` result's `.Value`) is the histogram, as in
//! Prometheus 3: it prints as Go's `FloatHistogram.String()` (`{count:4, sum:5, (0.5,1]:2,
//! ...}`), its fields read as in Go (`$value.Count`, `$value.Sum`, `$value.Schema`, ...), and
//! functions that want a number (`humanize`, ...) refuse it ("can't convert
//! *histogram.FloatHistogram to float"), as do comparisons.
//!
//! Files: `lexer` (text and action tokens) → `parser` (the node tree) → `exec` (running it);
//! `value` (template values and conversions), `functions` (the function table), `gofmt`
//! (Go-style number, time and duration formatting), `histogram` (a histogram's Go printing
//! and fields). Uses `model`; a part of `rules`.

mod exec;
mod functions;
mod gofmt;
mod histogram;
mod lexer;
mod parser;
mod value;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use functions::query_escape;
pub use gofmt::{go_fmt_float, sprintf};
pub use parser::{Template, ALERT_VARS};
pub use value::{Env, QueryFn, QuerySample, Val};

/// The data and variables of an alert template, as Prometheus builds them: `value` is the
/// sample's value as `Val::sample_value` makes it (a histogram sample's is its histogram).
pub fn alert_data(
    labels: &BTreeMap<String, String>,
    external_labels: &BTreeMap<String, String>,
    external_url: &str,
    value: Val,
) -> (Val, Vec<(&'static str, Val)>) {
    let l = Val::Map(Arc::new(labels.clone()));
    let el = Val::Map(Arc::new(external_labels.clone()));
    let url = Val::Str(external_url.to_string());
    let v = value;
    let dot = Val::Struct(
        "template.tmplData",
        Arc::new(vec![
            ("Labels", l.clone()),
            ("ExternalLabels", el.clone()),
            ("ExternalURL", url.clone()),
            ("Value", v.clone()),
        ]),
    );
    (
        dot,
        vec![
            ("$labels", l),
            ("$externalLabels", el),
            ("$externalURL", url),
            ("$value", v),
        ],
    )
}

#[cfg(test)]
mod tests;
