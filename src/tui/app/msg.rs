//! Fetched data coming in: query results (stale ones dropped; an empty one asks why),
//! targets, rules and alerts, completion data (which refreshes an open popup), metadata,
//! series counts, senders, the overview's panels, and the graph's exemplars. Uses `app::completion` and `app::relabel`.

use super::{App, Cmd, Msg};
use crate::tui::data::QueryData;

impl App {
    /// Takes in fetched data; returns the requests it calls for.
    pub fn msg(&mut self, m: Msg) -> Vec<Cmd> {
        let mut out = Vec::new();
        match m {
            Msg::Query {
                id,
                result,
                seconds,
                stats,
            } => {
                if id != self.query_id {
                    return out;
                }
                self.running = false;
                self.result_seconds = seconds;
                self.result_stats = stats;
                match result {
                    Ok((data, warnings)) => {
                        // The reason shown for the same query stays until the new one comes
                        // (no flicker when a live graph re-runs).
                        let empty = matches!(&data, QueryData::Vector(v) | QueryData::Matrix(v) if v.is_empty());
                        if empty {
                            out.push(Cmd::Explain {
                                id,
                                expr: self.shown_expr.clone(),
                                time: if self.graph {
                                    self.window().1
                                } else {
                                    self.last_run
                                },
                            });
                        } else {
                            self.explanation.clear();
                        }
                        self.result = data;
                        self.warnings = warnings;
                        self.error = None;
                    }
                    Err(e) => {
                        self.error = Some(e);
                        self.warnings.clear();
                        self.explanation.clear();
                    }
                }
                let n = self.sorted_series().len();
                self.table_sel = self.table_sel.min(n.saturating_sub(1));
                self.legend_sel = self.legend_sel.min(n.saturating_sub(1));
            }
            Msg::Targets(r) => match r {
                Ok(t) => {
                    self.targets = t.active;
                    self.dropped = t.dropped;
                    self.discovery_errors = t.errors;
                    self.targets_error = None;
                    let n = self.targets_len();
                    self.targets_sel = self.targets_sel.min(n.saturating_sub(1));
                }
                Err(e) => self.targets_error = Some(e),
            },
            Msg::RelabelSteps {
                pool,
                labels,
                result,
            } => self.relabel_steps_arrived(&pool, &labels, result),
            Msg::Rules(r) => match r {
                Ok((rules, alerts)) => {
                    self.rules = rules;
                    self.alerts = alerts;
                    self.rules_error = None;
                    self.alerts_sel = self.alerts_sel.min(self.alerts.len().saturating_sub(1));
                    self.rules_sel = self.rules_sel.min(self.rules.len().saturating_sub(1));
                }
                Err(e) => self.rules_error = Some(e),
            },
            // The loop turns a failed request for these into an empty answer: an empty answer
            // does not wipe what is known (a refresh failing for a moment keeps the list).
            Msg::Metadata(m) if m.is_empty() => {}
            Msg::MetricNames(n) if n.is_empty() => {}
            Msg::SeriesCounts(c) if c.is_empty() => {}
            Msg::Metadata(m) => self.known.metadata = m,
            Msg::MetricNames(n) => {
                self.known.metrics = n;
                let shown = self.visible_metrics().len();
                self.metrics_sel = self.metrics_sel.min(shown.saturating_sub(1));
                self.refresh_popup();
            }
            Msg::SeriesCounts(c) => self.series_counts = c,
            Msg::RemoteWrite(s) => self.senders = s,
            Msg::DashQuery {
                round,
                key,
                expr,
                result,
            } => self.dashboard_answer(round, key, expr, result),
            Msg::DashVar {
                index,
                query,
                result,
            } => out.extend(self.dashboard_variable(index, &query, result)),
            Msg::DashFile(done) => out.extend(self.dash_file_done(done)),
            Msg::Panel {
                index,
                range,
                result,
            } => self.overview.answer(index, range, result),
            Msg::LabelNames { metric, names } => {
                self.known.labels.insert(metric, names);
                self.refresh_popup();
            }
            Msg::LabelValues {
                metric,
                label,
                values,
            } => {
                self.known.values.insert((metric, label), values);
                self.refresh_popup();
            }
            Msg::Explain { id, lines } => {
                if id == self.query_id {
                    self.explanation = lines;
                }
            }
            // Those of an older run are dropped; the shown ones stay until new ones come.
            Msg::Exemplars { id, exemplars } => {
                if id == self.query_id {
                    self.exemplars = exemplars;
                }
            }
        }
        out
    }
}
