//! The dashboards directory: listing its `*.json` files with the title read from each (a file
//! that cannot be read or parsed is listed with its error), and saving a dashboard into it as
//! `<title-slug>.json` without silently replacing a different dashboard: the same file, or a
//! file holding the same dashboard (same `uid`), is replaced; another dashboard's file is
//! kept and ours goes to `<slug>-2.json` (`-3`, …), the result saying so. The only file I/O of
//! the dashboards besides `load`. Uses `save` (slug, title) and `model` (parsing).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::save::{slug, title_of, to_text};

/// One file of the directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub path: PathBuf,
    /// The dashboard's title, or why the file does not open.
    pub title: Result<String, String>,
}

/// The directory's `*.json` files by name; an error when it cannot be read (a missing
/// directory is an empty list: nothing saved yet).
pub fn list(dir: &Path) -> Result<Vec<Entry>, String> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut paths: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.is_dir())
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| {
            let title = title_in(&path);
            Entry { path, title }
        })
        .collect())
}

/// A file's dashboard title, or the load error (as the loader words it).
fn title_in(path: &Path) -> Result<String, String> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    let d = super::model::Dashboard::parse(&text, &shown).map_err(|e| e.to_string())?;
    Ok(if d.title.is_empty() {
        "(untitled)".to_string()
    } else {
        d.title
    })
}

/// What saving did.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub path: PathBuf,
    /// One line for the status line.
    pub message: String,
}

/// Whether the file at `path` holds the dashboard `uid` (an unreadable file does not).
fn same_dashboard(path: &Path, uid: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return false;
    };
    let d = v.get("dashboard").filter(|d| d.is_object()).unwrap_or(&v);
    !uid.is_empty() && d["uid"].as_str() == Some(uid)
}

/// Saves `doc` into `dir` (created when missing) as `<title-slug>.json`; `opened_from` is the
/// file the dashboard was read from (replacing it is no surprise).
pub fn save(dir: &Path, doc: &Value, opened_from: Option<&Path>) -> Result<Saved, String> {
    let title = title_of(doc).unwrap_or_default();
    let uid = doc["uid"].as_str().unwrap_or_default();
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let base = slug(&title);
    let text = to_text(doc);
    let mut taken = Vec::new();
    for n in 1..1000 {
        let name = if n == 1 {
            format!("{base}.json")
        } else {
            format!("{base}-{n}.json")
        };
        let path = dir.join(&name);
        let exists = path.exists();
        let ours = exists
            && (opened_from.is_some_and(|o| same_file(o, &path)) || same_dashboard(&path, uid));
        if exists && !ours {
            taken.push(name);
            continue;
        }
        std::fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut message = format!("saved {:?} to {}", title, path.display());
        if exists {
            message.push_str(" (replacing its previous version)");
        }
        if let Some(first) = taken.first() {
            message.push_str(&format!(
                "; {first} holds another dashboard and was left as it was"
            ));
        }
        return Ok(Saved { path, message });
    }
    Err(format!(
        "{}: {base}.json to {base}-999.json all hold other dashboards",
        dir.display()
    ))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// File work the TUI asks its loop for (`Cmd::DashFile`).
#[derive(Debug, Clone, PartialEq)]
pub enum FileOp {
    /// List the dashboards directory.
    List(PathBuf),
    /// Read a dashboard file.
    Open(PathBuf),
    /// Save a dashboard's JSON into the directory `dir`.
    Save {
        dir: PathBuf,
        doc: Value,
        opened_from: Option<PathBuf>,
    },
}

/// What the file work gave (`Msg::DashFile`).
#[derive(Debug, Clone, PartialEq)]
pub enum FileDone {
    Listed {
        dir: PathBuf,
        result: Result<Vec<Entry>, String>,
    },
    /// The file's text, or why it could not be read.
    Opened {
        path: PathBuf,
        text: Result<String, String>,
    },
    Saved(Result<Saved, String>),
}

/// Does the file work.
pub fn run(op: FileOp) -> FileDone {
    match op {
        FileOp::List(dir) => FileDone::Listed {
            result: list(&dir),
            dir,
        },
        FileOp::Open(path) => FileDone::Opened {
            text: std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display())),
            path,
        },
        FileOp::Save {
            dir,
            doc,
            opened_from,
        } => FileDone::Saved(save(&dir, &doc, opened_from.as_deref())),
    }
}
