//! The seams between the ways data gets in or out and the store: `Appender` for ingest,
//! `Querier` for selection and label lookups. Uses `model` only; `tsdb` implements both.

use crate::model::{HistogramSample, Labels, Matcher, Sample};

/// One series of a write: sorted, validated label pairs and its samples in the order received.
#[derive(Debug, Clone)]
pub struct SeriesInput<'a> {
    pub labels: Vec<(&'a str, &'a str)>,
    pub samples: Vec<Sample>,
}

/// The native-histogram samples of one series in a write: sorted, validated label pairs and
/// its histograms in the order received (each already checked with `HistogramValue::validate`
/// by the ingest path, which names the series and the rule in its refusal).
#[derive(Debug, Clone)]
pub struct HistogramInput<'a> {
    pub labels: Vec<(&'a str, &'a str)>,
    pub histograms: Vec<HistogramSample>,
}

/// What happened to the samples of a write.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AppendStats {
    pub accepted: u64,
    /// Older than the newest sample of their series: rejected.
    pub out_of_order: u64,
    /// Same timestamp as the newest sample but another value: rejected.
    pub duplicate: u64,
    /// Same timestamp and the same value as the newest sample: ignored, not an error.
    pub repeated: u64,
    pub new_series: u64,
    /// Refused by the store as invalid (a histogram breaking a validation rule, or a sample
    /// kind the store does not hold).
    pub invalid: u64,
}

impl AppendStats {
    pub fn rejected(&self) -> u64 {
        self.out_of_order + self.duplicate + self.invalid
    }

    pub fn add(&mut self, o: &AppendStats) {
        self.accepted += o.accepted;
        self.out_of_order += o.out_of_order;
        self.duplicate += o.duplicate;
        self.repeated += o.repeated;
        self.new_series += o.new_series;
        self.invalid += o.invalid;
    }
}

/// One exemplar: its own labels (`trace_id`, `span_id`, ...), its value and time (ms).
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    pub labels: Labels,
    pub value: f64,
    pub t: i64,
}

/// The exemplars of one series in a write (the series' sorted, validated label pairs).
#[derive(Debug, Clone)]
pub struct ExemplarInput<'a> {
    pub series: Vec<(&'a str, &'a str)>,
    pub exemplars: Vec<Exemplar>,
}

/// What happened to the exemplars of a write.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExemplarStats {
    pub accepted: u64,
    /// Older than the newest exemplar of their series, or a repeat of it: not stored.
    pub out_of_order: u64,
    /// Over the label-length limit of exemplars (128 UTF-8 characters in all): refused.
    pub invalid: u64,
}

/// The exemplars of one series within a queried range, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesExemplars {
    pub labels: Labels,
    pub exemplars: Vec<Exemplar>,
}

/// A store failure; the write or query did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("writing the WAL failed: {0}")]
    Wal(#[from] std::io::Error),
    #[error("database error: {0}")]
    Database(String),
}

/// Accepts writes. Returns once accepted samples are in the WAL (written to the OS).
pub trait Appender: Send + Sync {
    fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError>;

    /// A handle for a series (created if new), so repeated writers such as a scrape loop can
    /// skip the label lookup; `None` if the store has no such fast path.
    fn resolve(&self, _labels: &[(&str, &str)]) -> Option<SeriesRef> {
        None
    }

    /// Appends one sample per referenced series. Samples whose series the store no longer
    /// holds (a stale handle) are not appended; their positions in `batch` are returned so
    /// the caller can resolve again.
    fn append_refs(
        &self,
        batch: &[(&SeriesRef, Sample)],
    ) -> Result<(AppendStats, Vec<usize>), StorageError> {
        Ok((AppendStats::default(), (0..batch.len()).collect()))
    }

    /// Appends native-histogram samples, with the same ordering rules as `append` (a series'
    /// float and histogram samples share one timeline: a histogram at a time the series
    /// already has is a duplicate or a repeat). A store without histogram storage counts them
    /// all as `invalid`.
    fn append_histograms(&self, batch: &[HistogramInput<'_>]) -> Result<AppendStats, StorageError> {
        let invalid = batch.iter().map(|s| s.histograms.len() as u64).sum();
        Ok(AppendStats {
            invalid,
            ..AppendStats::default()
        })
    }

    /// `append_refs` for histogram samples: one per referenced series; positions of stale
    /// handles are returned. The default knows no handles.
    fn append_histogram_refs(
        &self,
        batch: &[(&SeriesRef, HistogramSample)],
    ) -> Result<(AppendStats, Vec<usize>), StorageError> {
        Ok((AppendStats::default(), (0..batch.len()).collect()))
    }

    /// Stores exemplars (in the WAL and the bounded exemplar buffer); a store without
    /// exemplar storage accepts none.
    fn append_exemplars(
        &self,
        _batch: &[ExemplarInput<'_>],
    ) -> Result<ExemplarStats, StorageError> {
        Ok(ExemplarStats::default())
    }
}

/// An opaque handle to a stored series, from `Appender::resolve`.
#[derive(Clone)]
pub struct SeriesRef(pub std::sync::Arc<dyn std::any::Any + Send + Sync>);

impl std::fmt::Debug for SeriesRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeriesRef")
    }
}

/// A selected series and its samples within the requested range, oldest first: float
/// samples in `samples`, native-histogram samples in `histograms` (a series may hold both,
/// at different times).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<Sample>,
    pub histograms: Vec<HistogramSample>,
}

/// Reads the store. Times are inclusive milliseconds.
pub trait Querier: Send + Sync {
    /// Series matching all matchers with samples in [mint, maxt], sorted by labels.
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Series>, StorageError>;
    /// Calls `f` with each series `select` would return, in the same order, one at a time,
    /// so a caller that does not keep them holds one series' samples at a time; stops early
    /// when `f` returns false. The series is lent: `f` may change it (its contents are not
    /// used again) but not keep it, and a store may reuse its buffers for the next one.
    fn select_each(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        f: &mut dyn FnMut(&mut Series) -> bool,
    ) -> Result<(), StorageError> {
        for mut s in self.select(matchers, mint, maxt)? {
            if !f(&mut s) {
                break;
            }
        }
        Ok(())
    }
    /// Label sets of series matching all matchers with data overlapping [mint, maxt], sorted.
    fn series(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, StorageError>;
    /// Sorted label names of the series `series` would return (all series if no matchers).
    fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError>;
    /// Sorted values of `name` among those series.
    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError>;
    /// Exemplars with timestamps in [mint, maxt] of the series matching any of the matcher
    /// sets, sorted by series labels; empty for a store without exemplar storage.
    fn exemplars(
        &self,
        _matcher_sets: &[Vec<Matcher>],
        _mint: i64,
        _maxt: i64,
    ) -> Result<Vec<SeriesExemplars>, StorageError> {
        Ok(Vec::new())
    }
}
