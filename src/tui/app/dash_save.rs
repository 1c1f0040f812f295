//! Building, saving and opening dashboards from the TUI: `a` in the results (table or graph)
//! adds the prompt's query as a panel to the dashboard being built (the open one, else a new
//! one titled "promterm", kept hidden until F2); `S` in the dashboard saves it into the
//! dashboards directory (`Cmd::DashFile`); `o` in the dashboard, or F2 when no dashboard is
//! open, lists the directory's files (↑↓ select, Enter opens, Esc closes). The outcome of each
//! is one line, `notice`, in the status line and the dashboard's title line until the next
//! key. Uses `app::grafana` (opening a dashboard) and `grafana` (`save`, `files`, parsing).

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Cmd};
use crate::tui::data::QueryData;
use crate::tui::grafana::files::{Entry, FileDone, FileOp};
use crate::tui::grafana::save::{add_panel, new_dashboard, new_uid, to_text, NewPanel};
use crate::tui::grafana::{self, Loaded};

/// The title of a dashboard built without one open.
pub const NEW_TITLE: &str = "promterm";

/// The dashboards list (`o`).
#[derive(Debug, Clone, PartialEq)]
pub struct DashList {
    pub dir: PathBuf,
    /// `None` while it is read.
    pub entries: Option<Result<Vec<Entry>, String>>,
    pub selected: usize,
}

/// The dashboards directory, the list open over the screen, the last outcome.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DashFiles {
    /// Where dashboards are listed and saved (`--dashboards`, else the config dir's).
    pub dir: Option<PathBuf>,
    pub list: Option<DashList>,
    /// What the last add, save or open did (cleared by the next key).
    pub notice: Option<String>,
    /// The file the open dashboard was read from or last saved to.
    pub opened_from: Option<PathBuf>,
}

impl App {
    /// `a`: adds the prompt's query (else the shown one) as a panel: a graph in the graph
    /// view, a stat for a scalar, else a table.
    pub(super) fn add_prompt_panel(&mut self) -> Vec<Cmd> {
        let typed = self.editor.text().trim().to_string();
        let expr = if typed.is_empty() {
            self.shown_expr.trim().to_string()
        } else {
            typed
        };
        if expr.is_empty() {
            self.dash_files.notice = Some("nothing to add: type a query first".into());
            return Vec::new();
        }
        let kind = if self.graph {
            NewPanel::Graph
        } else if matches!(self.result, QueryData::Scalar(..)) && expr == self.shown_expr {
            NewPanel::Stat
        } else {
            NewPanel::Table
        };
        let open = self.grafana.as_ref().is_some_and(|d| d.loaded.is_ok());
        if !open {
            let doc = new_dashboard(NEW_TITLE, &new_uid(NEW_TITLE, self.now), self.range_secs);
            match grafana::parse(&to_text(&doc), NEW_TITLE) {
                Ok(l) => self.open_dashboard(Ok(l)),
                Err(e) => {
                    self.dash_files.notice = Some(format!("cannot start a dashboard: {e}"));
                    return Vec::new();
                }
            }
            self.dash_files.opened_from = None;
            if let Some(d) = self.grafana.as_mut() {
                d.shown = false;
            }
        }
        let Some(Ok(l)) = self.grafana.as_mut().map(|d| &mut d.loaded) else {
            return Vec::new();
        };
        let mut doc = l.source.clone();
        let added = add_panel(&mut doc, &expr, kind).and_then(|_| {
            grafana::parse(&to_text(&doc), &l.dashboard.title).map_err(|e| e.to_string())
        });
        match added {
            Ok(new) => {
                // The variables keep their current values; the panels are read again.
                let Loaded {
                    dashboard, notes, ..
                } = new;
                l.dashboard = dashboard;
                l.notes = notes;
                l.source = doc;
                let title = l.dashboard.title.clone();
                let n = l.dashboard.panels().count();
                self.dash_files.notice = Some(format!(
                    "added {} panel {expr:?} to dashboard {title:?} ({n} panels) · F2: show it · S there: save",
                    kind.type_name()
                ));
                if let Some(d) = self.grafana.as_mut() {
                    // A round with the new panel at the next tick.
                    d.sent_at = 0.0;
                }
            }
            Err(e) => self.dash_files.notice = Some(format!("could not add the panel: {e}")),
        }
        Vec::new()
    }

    /// `S`: saves the open dashboard into the dashboards directory.
    pub(super) fn save_dashboard(&mut self) -> Vec<Cmd> {
        let Some(Ok(l)) = self.grafana.as_ref().map(|d| &d.loaded) else {
            self.dash_files.notice = Some("no dashboard to save".into());
            return Vec::new();
        };
        let Some(dir) = self.dash_files.dir.clone() else {
            self.dash_files.notice =
                Some("no dashboards directory: start with --dashboards DIR".into());
            return Vec::new();
        };
        self.dash_files.notice = Some("saving…".into());
        vec![Cmd::DashFile(FileOp::Save {
            dir,
            doc: l.source.clone(),
            opened_from: self.dash_files.opened_from.clone(),
        })]
    }

    /// `o` (F2 with no dashboard): lists the dashboards directory.
    pub(super) fn open_dash_list(&mut self) -> Vec<Cmd> {
        let Some(dir) = self.dash_files.dir.clone() else {
            self.dash_files.notice =
                Some("no dashboards directory: start with --dashboards DIR".into());
            return Vec::new();
        };
        self.dash_files.list = Some(DashList {
            dir: dir.clone(),
            entries: None,
            selected: 0,
        });
        vec![Cmd::DashFile(FileOp::List(dir))]
    }

    /// Keys while the dashboards list is open (it takes them all but Ctrl-C).
    pub(super) fn dash_list_key(&mut self, k: KeyEvent) -> Option<Vec<Cmd>> {
        let list = self.dash_files.list.as_mut()?;
        let n = match &list.entries {
            Some(Ok(e)) => e.len(),
            _ => 0,
        };
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') => self.dash_files.list = None,
            KeyCode::Up | KeyCode::Char('k') => list.selected = list.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                list.selected = (list.selected + 1).min(n.saturating_sub(1))
            }
            KeyCode::Home => list.selected = 0,
            KeyCode::End => list.selected = n.saturating_sub(1),
            KeyCode::Enter => {
                let Some(Ok(entries)) = &list.entries else {
                    return Some(Vec::new());
                };
                let Some(e) = entries.get(list.selected) else {
                    return Some(Vec::new());
                };
                match &e.title {
                    Ok(_) => return Some(vec![Cmd::DashFile(FileOp::Open(e.path.clone()))]),
                    Err(why) => self.dash_files.notice = Some(format!("cannot open: {why}")),
                }
            }
            _ => {}
        }
        Some(Vec::new())
    }

    /// The file work's outcome.
    pub(super) fn dash_file_done(&mut self, done: FileDone) -> Vec<Cmd> {
        match done {
            FileDone::Listed { dir, result } => {
                if let Some(l) = self.dash_files.list.as_mut().filter(|l| l.dir == dir) {
                    l.selected = 0;
                    l.entries = Some(result);
                }
            }
            FileDone::Opened { path, text } => {
                let shown = path.display().to_string();
                let loaded =
                    text.and_then(|t| grafana::parse(&t, &shown).map_err(|e| e.to_string()));
                match loaded {
                    Ok(l) => {
                        self.dash_files.notice =
                            Some(format!("opened {:?} from {shown}", l.dashboard.title));
                        self.open_dashboard(Ok(l));
                        self.dash_files.opened_from = Some(path);
                        self.dash_files.list = None;
                    }
                    // The list stays open: another file may do.
                    Err(e) => self.dash_files.notice = Some(format!("cannot open: {e}")),
                }
            }
            FileDone::Saved(r) => match r {
                Ok(s) => {
                    self.dash_files.notice = Some(s.message);
                    self.dash_files.opened_from = Some(s.path);
                }
                Err(e) => self.dash_files.notice = Some(format!("not saved: {e}")),
            },
        }
        Vec::new()
    }
}
