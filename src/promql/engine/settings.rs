//! What a query runs with: the engine's settings (`Engine`: sample limit, lookback, default
//! subquery step) and when a query must stop (`Stop`: deadline, cancellation, and the
//! statistics it records).
//!
//! Uses nothing of the engine (the lowest file of `engine/`), and `stats` from below.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use crate::promql::stats::StatsLevel;

/// Default lookback delta (Prometheus: 5m).
pub const DEFAULT_LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// When a query must stop: a deadline, and a flag set when the client has gone away; and
/// which statistics it records (`Output::stats`).
#[derive(Debug, Clone, Default)]
pub struct Stop {
    pub deadline: Option<Instant>,
    pub cancel: Option<Arc<AtomicBool>>,
    pub stats: StatsLevel,
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct Engine {
    /// Most samples one query may load (`--query.max-samples`).
    pub max_samples: usize,
    pub lookback_ms: i64,
    /// Step of subqueries written without one (the evaluation interval; 1m by default).
    pub subquery_step_ms: i64,
    /// Refuse an aggregation over samples whose label sets become equal once their pending
    /// name removal applies (`sum(rate({__name__=~".+"}[5m]))` over two metrics with the same
    /// other labels), as stock Prometheus does: it drops names at each function, where the
    /// duplicate shows. Prometheus's test runner enables delayed name removal, which lets the
    /// aggregation hide them; `promterm test` clears this to match it.
    pub refuse_hidden_duplicates: bool,
    /// Series-major range functions, folded aggregations and streamed selectors
    /// (`precompute`). Off, every query takes the general step-by-step path; tests compare
    /// the two.
    pub fast_paths: bool,
}

impl Default for Engine {
    fn default() -> Self {
        Engine {
            max_samples: 50_000_000,
            lookback_ms: DEFAULT_LOOKBACK_MS,
            subquery_step_ms: 60_000,
            refuse_hidden_duplicates: true,
            fast_paths: true,
        }
    }
}
