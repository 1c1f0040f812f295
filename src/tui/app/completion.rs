//! The completion popup: which data a completion context still needs (as `Cmd`s), and opening
//! or refreshing the popup from what is known (Tab with one candidate inserts it at once).
//! Uses `app::actions` (syntax check after an insert), `complete` and `highlight`.

use super::{App, Cmd, Popup};
use crate::tui::complete::candidates;
use crate::tui::highlight::{context, Context};

impl App {
    /// Fetches what a completion context needs and is not known yet.
    pub(super) fn data_for(&self, ctx: &Context) -> Vec<Cmd> {
        match ctx {
            Context::LabelName { metric, .. } => {
                let m = metric.clone().unwrap_or_default();
                if self.known.labels.contains_key(&m) {
                    Vec::new()
                } else {
                    vec![Cmd::LabelNames { metric: m }]
                }
            }
            Context::LabelValue { metric, label, .. } => {
                let key = (metric.clone().unwrap_or_default(), label.clone());
                if self.known.values.contains_key(&key) {
                    Vec::new()
                } else {
                    vec![Cmd::LabelValues {
                        metric: key.0,
                        label: key.1,
                    }]
                }
            }
            Context::Metric { .. } if self.known.metrics.is_empty() => vec![Cmd::MetricNames],
            _ => Vec::new(),
        }
    }

    pub(super) fn open_popup(&mut self, ctx: &Context, explicit: bool) {
        let items = candidates(ctx, &self.known, 50);
        let waiting = self.popup.as_ref().is_some_and(|p| p.waiting);
        let explicit = explicit || (waiting && !items.is_empty());
        let start = match ctx {
            Context::Metric { start, .. }
            | Context::LabelName { start, .. }
            | Context::LabelValue { start, .. }
            | Context::Duration { start, .. } => *start,
            Context::None => self.editor.cursor(),
        };
        // Tab with one candidate inserts it at once.
        if explicit && items.len() == 1 {
            self.editor.replace_before_cursor(start, &items[0].insert);
            self.check_syntax();
            self.popup = None;
            return;
        }
        let selected = self
            .popup
            .as_ref()
            .map_or(0, |p| p.selected.min(items.len().saturating_sub(1)));
        // Keep an empty popup open while data for it is on its way.
        self.popup = Some(Popup {
            waiting: explicit && items.is_empty(),
            items,
            selected,
            start,
        });
    }

    pub(super) fn refresh_popup(&mut self) {
        if self.popup.is_some() {
            let ctx = context(self.editor.text(), self.editor.cursor());
            self.open_popup(&ctx, false);
        }
    }
}
