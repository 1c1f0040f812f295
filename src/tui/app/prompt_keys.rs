//! Keys in the prompt: Ctrl-R history search, the completion popup, then the line editor
//! (history on Up/Down at the first/last line, Tab to complete, Enter to run).
//! Uses `app::{actions, completion}` and `highlight`.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Cmd, Focus};
use crate::tui::highlight::{context, Context};

impl App {
    pub(super) fn prompt_key(&mut self, k: KeyEvent, ctrl: bool, alt: bool) -> Vec<Cmd> {
        // Reverse search mode.
        if let Some((needle, hit)) = self.search.clone() {
            match k.code {
                KeyCode::Char('r') if ctrl => {
                    let before = hit.unwrap_or(self.history.entries().len());
                    let found = self.history.search(&needle, before).map(|x| x.0);
                    self.search = Some((needle, found.or(hit)));
                }
                KeyCode::Char('g') if ctrl => self.search = None,
                KeyCode::Esc => self.search = None,
                KeyCode::Enter | KeyCode::Right | KeyCode::Left => {
                    if let Some(e) = hit.and_then(|i| self.history.entries().get(i)).cloned() {
                        self.editor.set(&e);
                        self.check_syntax();
                    }
                    self.search = None;
                }
                KeyCode::Backspace => {
                    let mut n = needle;
                    n.pop();
                    let found = self
                        .history
                        .search(&n, self.history.entries().len())
                        .map(|x| x.0);
                    self.search = Some((n, found));
                }
                KeyCode::Char(c) if !ctrl => {
                    let mut n = needle;
                    n.push(c);
                    let found = self
                        .history
                        .search(&n, self.history.entries().len())
                        .map(|x| x.0);
                    self.search = Some((n, found));
                }
                _ => {}
            }
            return Vec::new();
        }
        // The completion popup.
        if let Some(p) = &mut self.popup {
            match k.code {
                KeyCode::Up => {
                    p.selected = p.selected.saturating_sub(1);
                    return Vec::new();
                }
                KeyCode::Down => {
                    p.selected = (p.selected + 1).min(p.items.len().saturating_sub(1));
                    return Vec::new();
                }
                KeyCode::Tab | KeyCode::Enter => {
                    if let Some(c) = p.items.get(p.selected).cloned() {
                        let start = p.start;
                        self.editor.replace_before_cursor(start, &c.insert);
                        self.check_syntax();
                    }
                    self.popup = None;
                    return Vec::new();
                }
                KeyCode::Esc => {
                    self.popup = None;
                    return Vec::new();
                }
                _ => {}
            }
        }
        let mut cmds = Vec::new();
        let mut edited = true;
        match k.code {
            KeyCode::Enter if alt => self.editor.insert('\n'),
            KeyCode::Enter => return self.submit(),
            KeyCode::Tab => {
                let ctx = context(self.editor.text(), self.editor.cursor());
                if ctx == Context::None {
                    self.move_focus(true);
                    return Vec::new();
                }
                cmds.extend(self.data_for(&ctx));
                self.open_popup(&ctx, true);
                return cmds;
            }
            KeyCode::Esc => {
                self.focus = Focus::Results;
                return Vec::new();
            }
            KeyCode::Up => {
                edited = false;
                if self.editor.on_first_line() {
                    if let Some(h) = self.history.older(self.editor.text()) {
                        self.editor.set(&h);
                        self.check_syntax();
                    }
                } else {
                    self.editor.vertical(false);
                }
            }
            KeyCode::Down => {
                edited = false;
                if self.editor.on_last_line() {
                    if let Some(h) = self.history.newer() {
                        self.editor.set(&h);
                        self.check_syntax();
                    }
                } else {
                    self.editor.vertical(true);
                }
            }
            KeyCode::Char('r') if ctrl => {
                self.search = Some((String::new(), None));
                return Vec::new();
            }
            KeyCode::Char('a') if ctrl => self.editor.home(),
            KeyCode::Char('e') if ctrl => self.editor.end(),
            KeyCode::Char('w') if ctrl => self.editor.kill_word(),
            KeyCode::Char('u') if ctrl => self.editor.kill_to_start(),
            KeyCode::Char('k') if ctrl => self.editor.kill_to_end(),
            KeyCode::Char('d') if ctrl => self.editor.delete(),
            KeyCode::Char('b') if alt => self.editor.word_left(),
            KeyCode::Char('f') if alt => self.editor.word_right(),
            KeyCode::Home => self.editor.home(),
            KeyCode::End => self.editor.end(),
            KeyCode::Left => {
                self.editor.left();
                edited = false;
            }
            KeyCode::Right => {
                self.editor.right();
                edited = false;
            }
            KeyCode::Backspace => self.editor.backspace(),
            KeyCode::Delete => self.editor.delete(),
            KeyCode::Char(c) if !ctrl && !alt => self.editor.insert(c),
            _ => edited = false,
        }
        if edited {
            self.history.reset_browse();
            self.check_syntax();
        }
        if self.popup.is_some() {
            let ctx = context(self.editor.text(), self.editor.cursor());
            if ctx == Context::None {
                self.popup = None;
            } else {
                cmds.extend(self.data_for(&ctx));
                self.open_popup(&ctx, false);
            }
        }
        cmds
    }
}
