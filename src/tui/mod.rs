//! The terminal workbench: a PromQL prompt, results as a table or a braille chart, target
//! health, alerts, rules and a metrics explorer, over any `client::Source` (promterm in process
//! under `promterm serve`, or any Prometheus-compatible server with `promterm tui --url`).
//!
//! Structure: `app` holds the state and turns keys and fetched data into new state and work
//! (`Cmd`); `render` lays out the screen and `view` draws each panel; this module owns the
//! terminal (raw mode, alternate screen, restored on exit, Ctrl-C and panic) and the event
//! loop that runs `Cmd`s against the Source. `prompt` (line editor, history), `highlight`
//! (tokens, completion context), `complete` (candidates), `vocabulary` (PromQL function
//! names), `dashboard` (the overview's panels: built in or from `overview.toml`), `grafana`
//! (Grafana dashboard files, the model of the view `--dashboard FILE` opens), `data` (API
//! JSON to view models), `heatmap` (histogram results as heatmap grids), `format` (numbers, sparklines, times; the CLI uses it too), `theme`,
//! and `term_events` (terminal input on a thread, noticing the terminal going away) support
//! them. From the top, each using only those after it:
//! render → view → app → complete → dashboard → highlight → vocabulary; view and app also use
//! prompt, theme, format, grafana (→ dashboard, format) and heatmap → data. Uses `client` (the Source), and `promql` to check the
//! syntax.

pub mod app;
pub mod complete;
pub mod dashboard;
pub mod data;
pub mod format;
pub mod grafana;
pub mod heatmap;
pub mod highlight;
pub mod prompt;
pub mod render;
pub mod term_events;
pub mod theme;
pub mod view;
pub mod vocabulary;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::client::Source;
use app::{App, Cmd, Msg};

/// How the TUI starts.
#[derive(Debug, Clone)]
pub struct Options {
    pub theme: theme::Theme,
    pub mouse: bool,
    pub history: Option<PathBuf>,
    /// Shown in the status line (the server's URL, or "promterm (local)").
    pub source_name: String,
    /// A Grafana dashboard file to open (`--dashboard`).
    pub dashboard: Option<PathBuf>,
    /// Where dashboards are listed and saved (`--dashboards`, else `dashboards_dir()`).
    pub dashboards: Option<PathBuf>,
}

/// Picks the theme: `--theme` (a built-in name or a file), else the default; `NO_COLOR`
/// (set and non-empty) drops the colours.
pub fn pick_theme(name: Option<&str>) -> Result<theme::Theme, theme::ThemeError> {
    let t = theme::Theme::load(name.unwrap_or("default"))?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Ok(if no_color { t.without_colors() } else { t })
}

/// promterm's config dir: `$XDG_CONFIG_HOME/promterm` (`~/.config/promterm`).
pub fn config_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(dir.join("promterm"))
}

/// The default dashboards directory: `$XDG_CONFIG_HOME/promterm/dashboards`
/// (`~/.config/promterm/dashboards`).
pub fn dashboards_dir() -> Option<PathBuf> {
    Some(config_dir()?.join("dashboards"))
}

/// The `theme` set in `$XDG_CONFIG_HOME/promterm/tui.toml` (`~/.config/promterm/tui.toml`).
pub fn configured_theme() -> Option<String> {
    let text = std::fs::read_to_string(config_dir()?.join("tui.toml")).ok()?;
    let table: toml::Table = text.parse().ok()?;
    table.get("theme")?.as_str().map(str::to_string)
}

/// Whether the TUI can run here (stdin and stdout are terminals).
pub fn terminal_available() -> bool {
    std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

/// Where the TUI writes logs while it owns the terminal, for `promterm tui`:
/// `$XDG_STATE_HOME/promterm/tui.log` (or `~/.local/state/promterm/tui.log`).
pub fn state_log_path() -> PathBuf {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("promterm")
        .join("tui.log")
}

/// Restores the terminal when dropped (normal exit, error, or unwinding).
struct TerminalGuard {
    mouse: bool,
}

fn restore_terminal(mouse: bool) {
    let mut out = std::io::stdout();
    if mouse {
        let _ = execute!(out, crossterm::event::DisableMouseCapture);
    }
    let _ = execute!(out, LeaveAlternateScreen, crossterm::cursor::Show);
    let _ = disable_raw_mode();
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal(self.mouse);
    }
}

/// Runs one command against the source and turns the answer into a message.
pub async fn execute_cmd(source: &dyn Source, cmd: Cmd) -> Msg {
    let err = |e: crate::client::ClientError| e.to_string();
    match cmd {
        Cmd::Query {
            id,
            expr,
            time,
            range,
        } => {
            let started = Instant::now();
            let r = match range {
                Some((s, e, step)) => source.query_range_with(&expr, s, e, step, true).await,
                None => source.query_with(&expr, Some(time), true).await,
            };
            let stats = r
                .as_ref()
                .ok()
                .and_then(|a| crate::client::stats::Stats::from_data(&a.data));
            let result = r.map_err(err).map(|a| {
                let mut notes = a.warnings.clone();
                notes.extend(a.infos.iter().cloned());
                (data::query_data(&a.data), notes)
            });
            Msg::Query {
                id,
                result,
                seconds: started.elapsed().as_secs_f64(),
                stats,
            }
        }
        Cmd::Targets => Msg::Targets(
            source
                .targets()
                .await
                .map_err(err)
                .map(|a| data::targets_data(&a.data)),
        ),
        Cmd::RelabelSteps { pool, labels } => {
            let params = [
                ("scrapePool", pool.clone()),
                ("labels", serde_json::to_string(&labels).unwrap_or_default()),
            ];
            let result = source
                .get("/api/v1/targets/relabel_steps", &params)
                .await
                .map_err(err)
                .map(|a| data::relabel_steps(&a.data));
            Msg::RelabelSteps {
                pool,
                labels,
                result,
            }
        }
        Cmd::Rules => Msg::Rules(
            source
                .rules()
                .await
                .map_err(err)
                .map(|a| data::rules(&a.data)),
        ),
        Cmd::Metadata => Msg::Metadata(
            source
                .metadata()
                .await
                .map(|a| data::metadata(&a.data))
                .unwrap_or_default(),
        ),
        Cmd::MetricNames => Msg::MetricNames(
            source
                .labels(Some("__name__"), &[])
                .await
                .map(|a| data::strings(&a.data))
                .unwrap_or_default(),
        ),
        Cmd::SeriesCounts => {
            let r = source
                .query("count by (__name__) ({__name__=~\".+\"})", None)
                .await;
            let mut counts = BTreeMap::new();
            if let Ok(a) = r {
                if let data::QueryData::Vector(v) = data::query_data(&a.data) {
                    for s in v {
                        if let (Some(n), Some(p)) = (s.labels.get("__name__"), s.points.first()) {
                            counts.insert(n.clone(), p.1 as usize);
                        }
                    }
                }
            }
            Msg::SeriesCounts(counts)
        }
        Cmd::LabelNames { metric } => {
            let m: Vec<String> = if metric.is_empty() {
                Vec::new()
            } else {
                vec![metric.clone()]
            };
            let names = source
                .labels(None, &m)
                .await
                .map(|a| data::strings(&a.data))
                .unwrap_or_default();
            Msg::LabelNames { metric, names }
        }
        Cmd::Panel { index, expr, range } => Msg::Panel {
            index,
            range,
            result: source
                .query_range(&expr, range.0, range.1, range.2)
                .await
                .map_err(err)
                .map(|a| data::query_data(&a.data)),
        },
        Cmd::DashQuery {
            round,
            key,
            expr,
            time,
            range,
        } => {
            let r = match range {
                Some((s, e, step)) => source.query_range(&expr, s, e, step).await,
                None => source.query(&expr, Some(time)).await,
            };
            Msg::DashQuery {
                round,
                key,
                result: r.map_err(err).map(|a| data::query_data(&a.data)),
                expr,
            }
        }
        Cmd::DashVar {
            index,
            query,
            request,
        } => {
            use grafana::vars::VarRequest;
            let matches = |m: &[String]| -> Vec<(&'static str, String)> {
                m.iter().map(|x| ("match[]", x.clone())).collect()
            };
            let (path, params) = match &request {
                VarRequest::LabelValues {
                    label,
                    matches: m,
                    start,
                    end,
                } => {
                    let mut p = matches(m);
                    p.push(("start", start.to_string()));
                    p.push(("end", end.to_string()));
                    (format!("/api/v1/label/{label}/values"), p)
                }
                VarRequest::LabelNames {
                    matches: m,
                    start,
                    end,
                } => {
                    let mut p = matches(m);
                    p.push(("start", start.to_string()));
                    p.push(("end", end.to_string()));
                    ("/api/v1/labels".to_string(), p)
                }
                VarRequest::Series {
                    matches: m,
                    start,
                    end,
                } => {
                    let mut p = matches(m);
                    p.push(("start", start.to_string()));
                    p.push(("end", end.to_string()));
                    ("/api/v1/series".to_string(), p)
                }
                VarRequest::Query { expr, time } => (
                    "/api/v1/query".to_string(),
                    vec![("query", expr.clone()), ("time", time.to_string())],
                ),
            };
            Msg::DashVar {
                index,
                query,
                result: source
                    .get(&path, &params)
                    .await
                    .map_err(err)
                    .map(|a| a.data),
            }
        }
        Cmd::DashFile(op) => Msg::DashFile(grafana::files::run(op)),
        Cmd::RemoteWrite => Msg::RemoteWrite(
            source
                .get("/api/v1/status/remote_write", &[])
                .await
                .map(|a| data::senders(&a.data))
                .unwrap_or_default(),
        ),
        // A server without exemplar storage (404, an error) has none to show.
        Cmd::Exemplars { id, expr, range } => Msg::Exemplars {
            id,
            exemplars: source
                .query_exemplars(&expr, Some(range.0), Some(range.1))
                .await
                .map(|a| data::exemplars(&a.data))
                .unwrap_or_default(),
        },
        Cmd::Explain { id, expr, time } => Msg::Explain {
            id,
            lines: crate::client::explain::explain_empty(source, &expr, Some(time)).await,
        },
        Cmd::LabelValues { metric, label } => {
            let m: Vec<String> = if metric.is_empty() {
                Vec::new()
            } else {
                vec![metric.clone()]
            };
            let values = source
                .labels(Some(&label), &m)
                .await
                .map(|a| data::strings(&a.data))
                .unwrap_or_default();
            Msg::LabelValues {
                metric,
                label,
                values,
            }
        }
    }
}

/// Why the TUI ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The user left (`q`, Ctrl-C) or the shutdown token fired.
    Quit,
    /// The terminal went away under the TUI (hangup, end of file, read error).
    TerminalGone,
}

/// Runs the TUI until the user quits, the terminal goes away or `shutdown` fires; the terminal
/// is restored either way (as far as it is still there).
pub async fn run(
    source: Arc<dyn Source>,
    opts: Options,
    shutdown: CancellationToken,
) -> anyhow::Result<Exit> {
    // Restore the terminal before a panic message is printed.
    let mouse = opts.mouse;
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal(mouse);
        prev(info);
    }));
    enable_raw_mode()?;
    let _guard = TerminalGuard { mouse };
    let mut out = std::io::stdout();
    execute!(out, EnterAlternateScreen)?;
    if mouse {
        execute!(out, crossterm::event::EnableMouseCapture)?;
    }
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    terminal.clear()?;

    // Keys come from a thread reading the terminal; it also tells when the terminal is gone.
    let (key_tx, mut key_rx) = mpsc::unbounded_channel::<term_events::Input>();
    let stop_keys = Arc::new(std::sync::atomic::AtomicBool::new(false));
    term_events::spawn(key_tx, stop_keys.clone());
    let (msg_tx, mut msg_rx) = mpsc::unbounded_channel::<Msg>();
    let history = prompt::History::load(opts.history.clone());
    let mut app = App::new(opts.theme.clone(), history, &opts.source_name);
    // Arrive on the overview: the user's `overview.toml`, else the built-in panels.
    let overview_file = config_dir().map(|d| d.join("overview.toml"));
    app.arrive(dashboard::load(overview_file.as_deref()));
    app.dash_files.dir = opts.dashboards.clone().or_else(dashboards_dir);
    if let Some(path) = &opts.dashboard {
        app.open_dashboard(grafana::load(path).map_err(|e| e.to_string()));
        app.dash_files.opened_from = Some(path.clone());
    }
    let spawn = |cmds: Vec<Cmd>| {
        for c in cmds {
            let (s, tx) = (source.clone(), msg_tx.clone());
            tokio::spawn(async move {
                let m = execute_cmd(s.as_ref(), c).await;
                let _ = tx.send(m);
            });
        }
    };
    spawn(app.start());
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_panels = Instant::now();
    let result: anyhow::Result<Exit> = loop {
        let size = match terminal.size() {
            Ok(s) => s,
            Err(_) if term_events::terminal_gone() => break Ok(Exit::TerminalGone),
            Err(e) => break Err(e.into()),
        };
        app.set_wide(render::is_wide(ratatui::layout::Rect::new(
            0,
            0,
            size.width,
            size.height,
        )));
        if let Some(d) = app.grafana.as_mut() {
            d.size = (size.width, size.height);
        }
        if let Err(e) = terminal.draw(|f| render::render(&app, f)) {
            if term_events::terminal_gone() {
                break Ok(Exit::TerminalGone);
            }
            break Err(e.into());
        }
        tokio::select! {
            _ = shutdown.cancelled() => break Ok(Exit::Quit),
            ev = key_rx.recv() => match ev.map(|i| match i {
                term_events::Input::Event(e) => Some(e),
                term_events::Input::Gone => None,
            }) {
                Some(None) | None => break Ok(Exit::TerminalGone),
                Some(Some(Event::Key(k))) if k.kind != KeyEventKind::Release => spawn(app.key(k)),
                Some(Some(Event::Mouse(m))) if mouse => {
                    use crossterm::event::{MouseButton, MouseEventKind};
                    let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
                    let hit = render::hit_at(&app, area, m.column, m.row);
                    let kind = match m.kind {
                        MouseEventKind::ScrollDown => Some(app::Mouse::Wheel(true)),
                        MouseEventKind::ScrollUp => Some(app::Mouse::Wheel(false)),
                        MouseEventKind::Down(MouseButton::Left) => Some(app::Mouse::Down),
                        MouseEventKind::Drag(MouseButton::Left) => Some(app::Mouse::Drag),
                        MouseEventKind::Up(MouseButton::Left) => Some(app::Mouse::Up),
                        _ => None,
                    };
                    if let Some(kind) = kind {
                        spawn(app.mouse(hit, kind));
                    }
                }
                Some(Some(_)) => {}
            },
            Some(m) = msg_rx.recv() => spawn(app.msg(m)),
            _ = tick.tick() => {
                let due = last_panels.elapsed().as_secs_f64() >= app::PANELS_EVERY;
                if due {
                    last_panels = Instant::now();
                }
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                spawn(app.tick(now, due));
            }
        }
        if app.quit {
            break Ok(Exit::Quit);
        }
    };
    stop_keys.store(true, std::sync::atomic::Ordering::Relaxed);
    if matches!(result, Ok(Exit::TerminalGone)) || term_events::terminal_gone() {
        // ratatui's `Terminal` shows a hidden cursor when dropped and reports a failure with
        // `eprintln!`, which panics when stderr is the dead terminal: skip its drop (it owns
        // nothing but buffers; the process is about to end).
        std::mem::forget(terminal);
    } else {
        drop(terminal);
    }
    result
}

#[cfg(test)]
mod tests;
