//! The targets pane's discovery side: `d` switches the list between the active targets and
//! those relabeling dropped; Enter opens the relabeling view of the selected target (its
//! discovered labels beside its target labels, and the relabel steps, which it asks the server
//! for); while it is open ↑↓ move the selection and the view follows, PgUp/PgDn scroll it,
//! Esc closes it. Uses the state in `app`.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Cmd, RelabelView};
use crate::tui::data::{LabelSet, StepRow};

impl App {
    /// Switches the list between active and dropped targets.
    pub fn toggle_dropped(&mut self) {
        self.show_dropped = !self.show_dropped;
        self.targets_sel = 0;
        self.relabel = None;
    }

    /// Opens the relabeling view of the selected target; returns the request for its steps.
    pub fn open_relabel(&mut self) -> Vec<Cmd> {
        let view = if self.show_dropped {
            self.visible_dropped()
                .get(self.targets_sel)
                .map(|t| RelabelView {
                    pool: t.pool.clone(),
                    discovered: t.discovered.clone(),
                    labels: None,
                    dropped_by: t.dropped_by.clone(),
                    steps: None,
                    scroll: 0,
                })
        } else {
            self.visible_targets()
                .get(self.targets_sel)
                .map(|t| RelabelView {
                    pool: t.pool.clone(),
                    discovered: t.discovered.clone(),
                    labels: Some(t.labels.clone()),
                    dropped_by: None,
                    steps: None,
                    scroll: 0,
                })
        };
        let Some(v) = view else {
            return Vec::new();
        };
        let cmd = Cmd::RelabelSteps {
            pool: v.pool.clone(),
            labels: v.discovered.clone(),
        };
        self.relabel = Some(v);
        vec![cmd]
    }

    /// Keys while the relabeling view is open and the targets pane has focus; `None` for the
    /// keys it leaves to the pane and the rest of the screen.
    pub fn relabel_key(&mut self, k: KeyEvent) -> Option<Vec<Cmd>> {
        let n = self.targets_len();
        let scroll = |v: &mut RelabelView, down: bool| {
            v.scroll = if down {
                v.scroll.saturating_add(10)
            } else {
                v.scroll.saturating_sub(10)
            };
        };
        match k.code {
            KeyCode::Esc | KeyCode::Backspace | KeyCode::Left => self.relabel = None,
            KeyCode::PageDown | KeyCode::PageUp => {
                if let Some(v) = &mut self.relabel {
                    scroll(v, k.code == KeyCode::PageDown);
                }
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.targets_sel = self.targets_sel.saturating_sub(1);
                return Some(self.open_relabel());
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.targets_sel = (self.targets_sel + 1).min(n.saturating_sub(1));
                return Some(self.open_relabel());
            }
            _ => return None,
        }
        Some(Vec::new())
    }

    /// Steps for the target whose view is open are shown; others (an older selection) are
    /// dropped.
    pub(super) fn relabel_steps_arrived(
        &mut self,
        pool: &str,
        labels: &LabelSet,
        result: Result<Vec<StepRow>, String>,
    ) {
        if let Some(v) = &mut self.relabel {
            if v.pool == pool && v.discovered == *labels {
                v.steps = Some(result);
            }
        }
    }
}
