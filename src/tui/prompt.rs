//! The PromQL prompt's line editor (readline keys, multi-line) and its persistent history
//! (one JSON string per line in `$XDG_DATA_HOME/promterm/history`, newest last, with Up/Down
//! recall and Ctrl-R reverse search).

use std::io::Write as _;
use std::path::PathBuf;

/// Text and a cursor (a byte offset on a char boundary).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Editor {
    text: String,
    cursor: usize,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == ':'
}

impl Editor {
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Replaces the text, cursor at the end.
    pub fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = self.text.len();
    }

    pub fn clear(&mut self) {
        self.set("");
    }

    pub fn insert(&mut self, c: char) {
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }

    pub fn insert_str(&mut self, s: &str) {
        self.text.insert_str(self.cursor, s);
        self.cursor += s.len();
    }

    fn prev_boundary(&self, at: usize) -> usize {
        self.text[..at]
            .char_indices()
            .next_back()
            .map_or(0, |(i, _)| i)
    }

    fn next_boundary(&self, at: usize) -> usize {
        self.text[at..]
            .chars()
            .next()
            .map_or(at, |c| at + c.len_utf8())
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            let p = self.prev_boundary(self.cursor);
            self.text.replace_range(p..self.cursor, "");
            self.cursor = p;
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.text.len() {
            let n = self.next_boundary(self.cursor);
            self.text.replace_range(self.cursor..n, "");
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.prev_boundary(self.cursor);
    }

    pub fn right(&mut self) {
        self.cursor = self.next_boundary(self.cursor);
    }

    fn line_start(&self) -> usize {
        self.text[..self.cursor].rfind('\n').map_or(0, |i| i + 1)
    }

    fn line_end(&self) -> usize {
        self.text[self.cursor..]
            .find('\n')
            .map_or(self.text.len(), |i| self.cursor + i)
    }

    /// Ctrl-A: start of the line.
    pub fn home(&mut self) {
        self.cursor = self.line_start();
    }

    /// Ctrl-E: end of the line.
    pub fn end(&mut self) {
        self.cursor = self.line_end();
    }

    /// Alt-B: back to the start of a word.
    pub fn word_left(&mut self) {
        let mut i = self.cursor;
        while i > 0 && !is_word(self.text[..i].chars().next_back().unwrap_or(' ')) {
            i = self.prev_boundary(i);
        }
        while i > 0 && is_word(self.text[..i].chars().next_back().unwrap_or(' ')) {
            i = self.prev_boundary(i);
        }
        self.cursor = i;
    }

    /// Alt-F: forward past the end of a word.
    pub fn word_right(&mut self) {
        let mut i = self.cursor;
        while i < self.text.len() && !is_word(self.text[i..].chars().next().unwrap_or(' ')) {
            i = self.next_boundary(i);
        }
        while i < self.text.len() && is_word(self.text[i..].chars().next().unwrap_or(' ')) {
            i = self.next_boundary(i);
        }
        self.cursor = i;
    }

    /// Ctrl-W: deletes the word before the cursor (and the spaces after it).
    pub fn kill_word(&mut self) {
        let end = self.cursor;
        self.word_left();
        self.text.replace_range(self.cursor..end, "");
    }

    /// Ctrl-U: deletes from the start of the line to the cursor.
    pub fn kill_to_start(&mut self) {
        let s = self.line_start();
        self.text.replace_range(s..self.cursor, "");
        self.cursor = s;
    }

    /// Ctrl-K: deletes from the cursor to the end of the line.
    pub fn kill_to_end(&mut self) {
        let e = self.line_end();
        self.text.replace_range(self.cursor..e, "");
    }

    /// Whether the cursor is on the first / last line (Up/Down recall history there).
    pub fn on_first_line(&self) -> bool {
        !self.text[..self.cursor].contains('\n')
    }

    pub fn on_last_line(&self) -> bool {
        !self.text[self.cursor..].contains('\n')
    }

    /// Moves up or down a line keeping the column where possible.
    pub fn vertical(&mut self, down: bool) {
        let col = self.text[self.line_start()..self.cursor].chars().count();
        let target_start = if down {
            let e = self.line_end();
            if e >= self.text.len() {
                return;
            }
            e + 1
        } else {
            let s = self.line_start();
            if s == 0 {
                return;
            }
            self.text[..s - 1].rfind('\n').map_or(0, |i| i + 1)
        };
        let line_end = self.text[target_start..]
            .find('\n')
            .map_or(self.text.len(), |i| target_start + i);
        let mut pos = target_start;
        for _ in 0..col {
            if pos >= line_end {
                break;
            }
            pos = self.next_boundary(pos);
        }
        self.cursor = pos;
    }

    /// (line, column in chars) of the cursor.
    pub fn cursor_line_col(&self) -> (usize, usize) {
        let before = &self.text[..self.cursor];
        let line = before.matches('\n').count();
        let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
            .chars()
            .count();
        (line, col)
    }

    /// Replaces `start..cursor` with `with` (accepting a completion).
    pub fn replace_before_cursor(&mut self, start: usize, with: &str) {
        let start = start.min(self.cursor);
        self.text.replace_range(start..self.cursor, with);
        self.cursor = start + with.len();
    }
}

/// Queries run so far, oldest first, saved to a file when there is one.
#[derive(Debug, Default)]
pub struct History {
    entries: Vec<String>,
    /// Index being shown while browsing with Up/Down.
    pos: Option<usize>,
    /// What was typed before browsing started.
    draft: String,
    path: Option<PathBuf>,
}

/// Most entries kept.
const MAX_HISTORY: usize = 5000;

/// `$XDG_DATA_HOME/promterm/history` (or `~/.local/share/promterm/history`).
pub fn default_history_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("promterm").join("history"))
}

impl History {
    /// Loads the history file (a missing or unreadable file is an empty history).
    pub fn load(path: Option<PathBuf>) -> History {
        let entries = path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|t| {
                t.lines()
                    .filter_map(|l| serde_json::from_str::<String>(l).ok())
                    .collect()
            })
            .unwrap_or_default();
        History {
            entries,
            pos: None,
            draft: String::new(),
            path,
        }
    }

    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Adds a query (not twice in a row) and appends it to the file.
    pub fn push(&mut self, q: &str) {
        self.pos = None;
        let q = q.trim();
        if q.is_empty() || self.entries.last().is_some_and(|l| l == q) {
            return;
        }
        self.entries.push(q.to_string());
        if self.entries.len() > MAX_HISTORY {
            self.entries.drain(..self.entries.len() - MAX_HISTORY);
        }
        if let Some(p) = &self.path {
            let _ = std::fs::create_dir_all(p.parent().unwrap_or(std::path::Path::new(".")));
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
            {
                let _ = writeln!(f, "{}", serde_json::Value::String(q.to_string()));
            }
        }
    }

    /// Up: the previous entry (`current` is kept to come back to).
    pub fn older(&mut self, current: &str) -> Option<String> {
        let i = match self.pos {
            None => {
                self.draft = current.to_string();
                self.entries.len().checked_sub(1)?
            }
            Some(0) => return None,
            Some(i) => i - 1,
        };
        self.pos = Some(i);
        self.entries.get(i).cloned()
    }

    /// Down: the next entry, or what was typed before browsing.
    pub fn newer(&mut self) -> Option<String> {
        let i = self.pos?;
        if i + 1 >= self.entries.len() {
            self.pos = None;
            return Some(std::mem::take(&mut self.draft));
        }
        self.pos = Some(i + 1);
        self.entries.get(i + 1).cloned()
    }

    /// Reverse search: the newest entry containing `needle` older than index `before`.
    pub fn search(&self, needle: &str, before: usize) -> Option<(usize, &str)> {
        self.entries[..before.min(self.entries.len())]
            .iter()
            .enumerate()
            .rev()
            .find(|(_, e)| e.contains(needle))
            .map(|(i, e)| (i, e.as_str()))
    }

    pub fn reset_browse(&mut self) {
        self.pos = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ed(text: &str, cursor: usize) -> Editor {
        let mut e = Editor::default();
        e.set(text);
        e.cursor = cursor;
        e
    }

    #[test]
    fn readline_keys() {
        let mut e = ed("rate(http_requests_total[5m])", 24);
        e.kill_word();
        assert_eq!((e.text(), e.cursor()), ("rate([5m])", 5));
        e.insert_str("http_requests_total");
        e.word_left();
        assert_eq!(e.cursor(), 5);
        e.word_right();
        assert_eq!(e.cursor(), 24);
        e.word_right();
        assert_eq!(e.cursor(), 27, "past the punctuation to the end of `5m`");
        e.kill_to_end();
        assert_eq!(e.text(), "rate(http_requests_total[5m");
        e.home();
        e.insert_str("sum(");
        e.end();
        e.insert(')');
        assert_eq!(e.text(), "sum(rate(http_requests_total[5m)");
        e.left();
        e.kill_to_start();
        assert_eq!((e.text(), e.cursor()), (")", 0));
        e.delete();
        assert_eq!(e.text(), "");
        e.backspace();
        assert_eq!(e.text(), "");
    }

    #[test]
    fn multi_line_editing() {
        let mut e = Editor::default();
        e.insert_str("sum by (job) (");
        e.insert('\n');
        e.insert_str("  rate(x[5m])\n)");
        assert_eq!(e.cursor_line_col(), (2, 1));
        assert!(e.on_last_line() && !e.on_first_line());
        e.vertical(false);
        assert_eq!(e.cursor_line_col(), (1, 1));
        e.home();
        assert_eq!(e.cursor_line_col(), (1, 0));
        e.end();
        assert_eq!(e.cursor_line_col(), (1, 13));
        e.kill_to_start();
        assert_eq!(e.text(), "sum by (job) (\n\n)");
        e.insert('é');
        e.left();
        e.right();
        assert_eq!(e.text(), "sum by (job) (\né\n)");
        assert_eq!(e.cursor_line_col(), (1, 1));
    }

    #[test]
    fn history_recall_search_and_persistence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("history");
        let mut h = History::load(Some(path.clone()));
        h.push("up");
        h.push("up");
        h.push("sum(rate(x[5m]))\nby (job)");
        h.push("  ");
        assert_eq!(h.entries().len(), 2);
        assert_eq!(
            h.older("typed").as_deref(),
            Some("sum(rate(x[5m]))\nby (job)")
        );
        assert_eq!(h.older("").as_deref(), Some("up"));
        assert_eq!(h.older(""), None);
        assert_eq!(h.newer().as_deref(), Some("sum(rate(x[5m]))\nby (job)"));
        assert_eq!(h.newer().as_deref(), Some("typed"));
        assert_eq!(h.search("rate", 2).map(|x| x.0), Some(1));
        assert_eq!(h.search("u", 1).map(|x| x.1), Some("up"));
        assert_eq!(h.search("nothing", 2), None);
        let again = History::load(Some(path));
        assert_eq!(
            again.entries(),
            h.entries(),
            "multi-line entries survive the file"
        );
    }
}
