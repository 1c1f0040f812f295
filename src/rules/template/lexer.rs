//! Lexing: splits template text into text pieces and actions (`{{ ... }}`, with `{{-`/`-}}`
//! trimming and comments removed), and an action into tokens.
//!
//! Uses nothing else.

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    /// `$` or `$name`.
    Var(String),
    /// `.name` (a field step); a lone `.` is `Dot`.
    Field(String),
    Dot,
    Str(String),
    Num(String),
    Bool(bool),
    Nil,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    /// Whether whitespace separates it from the previous token.
    pub(super) spaced: bool,
}

/// A raw piece of the template: text, or an action's tokens with its line.
pub(super) enum Piece {
    Text(String),
    Action(Vec<Token>, usize),
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

pub(super) fn lex(text: &str) -> Result<Vec<Piece>, (usize, String)> {
    let b = text.as_bytes();
    let mut pieces = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let mut trim_next = false;
    while i < b.len() {
        let start = i;
        let open = text[i..].find("{{").map(|p| p + i);
        let end_text = open.unwrap_or(b.len());
        let mut t = &text[start..end_text];
        if trim_next {
            t = t.trim_start_matches(|c: char| c.is_ascii_whitespace());
        }
        trim_next = false;
        line += text[start..end_text].matches('\n').count();
        let Some(open) = open else {
            if !t.is_empty() {
                pieces.push(Piece::Text(t.to_string()));
            }
            break;
        };
        let mut j = open + 2;
        if b.get(j) == Some(&b'-') && b.get(j + 1).is_some_and(|&c| is_space(c)) {
            t = t.trim_end_matches(|c: char| c.is_ascii_whitespace());
            j += 2;
        }
        if !t.is_empty() {
            pieces.push(Piece::Text(t.to_string()));
        }
        let action_line = line;
        // Comments.
        let rest = &text[j..];
        let rest_trim = rest.trim_start();
        if rest_trim.starts_with("/*") {
            let Some(close) = rest.find("*/") else {
                return Err((action_line, "unclosed comment".into()));
            };
            let after = &rest[close + 2..];
            let (skip, trim) = if let Some(a) = after.strip_prefix(" -}}") {
                (after.len() - a.len(), true)
            } else if after.starts_with("}}") {
                (2, false)
            } else {
                return Err((action_line, "comment ends before closing delimiter".into()));
            };
            line += text[j..j + close + 2 + skip].matches('\n').count();
            i = j + close + 2 + skip;
            trim_next = trim;
            continue;
        }
        let mut toks = Vec::new();
        let mut spaced = true;
        loop {
            let Some(&c) = b.get(j) else {
                return Err((action_line, "unclosed action".into()));
            };
            if c == b'}' && b.get(j + 1) == Some(&b'}') {
                j += 2;
                break;
            }
            if is_space(c) {
                if c == b'\n' {
                    line += 1;
                }
                // ` -}}` closes and trims.
                if b.get(j + 1) == Some(&b'-') && text[j + 2..].starts_with("}}") {
                    j += 4;
                    trim_next = true;
                    break;
                }
                spaced = true;
                j += 1;
                continue;
            }
            let push = |toks: &mut Vec<Token>, tok: Tok, spaced: &mut bool| {
                toks.push(Token {
                    tok,
                    spaced: *spaced,
                });
                *spaced = false;
            };
            match c {
                b'|' => {
                    push(&mut toks, Tok::Pipe, &mut spaced);
                    j += 1;
                }
                b'(' => {
                    push(&mut toks, Tok::LParen, &mut spaced);
                    j += 1;
                }
                b')' => {
                    push(&mut toks, Tok::RParen, &mut spaced);
                    j += 1;
                }
                b',' => {
                    push(&mut toks, Tok::Comma, &mut spaced);
                    j += 1;
                }
                b':' if b.get(j + 1) == Some(&b'=') => {
                    push(&mut toks, Tok::Declare, &mut spaced);
                    j += 2;
                }
                b'=' => {
                    push(&mut toks, Tok::Assign, &mut spaced);
                    j += 1;
                }
                b'"' => {
                    let mut s = String::new();
                    let mut k = j + 1;
                    loop {
                        let Some(&d) = b.get(k) else {
                            return Err((line, "unterminated quoted string".into()));
                        };
                        match d {
                            b'"' => break,
                            b'\n' => return Err((line, "unterminated quoted string".into())),
                            b'\\' => {
                                let e = b.get(k + 1).copied().unwrap_or(b'\\');
                                match e {
                                    b'n' => s.push('\n'),
                                    b't' => s.push('\t'),
                                    b'r' => s.push('\r'),
                                    b'\\' => s.push('\\'),
                                    b'"' => s.push('"'),
                                    b'\'' => s.push('\''),
                                    b'a' => s.push('\x07'),
                                    b'b' => s.push('\x08'),
                                    b'f' => s.push('\x0c'),
                                    b'v' => s.push('\x0b'),
                                    b'x' => {
                                        let h = text.get(k + 2..k + 4).unwrap_or("");
                                        let v = u8::from_str_radix(h, 16)
                                            .map_err(|_| (line, format!("bad escape \\x{h}")))?;
                                        s.push(char::from(v));
                                        k += 2;
                                    }
                                    other => {
                                        return Err((
                                            line,
                                            format!("unknown escape sequence \\{}", other as char),
                                        ))
                                    }
                                }
                                k += 2;
                                continue;
                            }
                            _ => {
                                let ch = text[k..].chars().next().unwrap_or(' ');
                                s.push(ch);
                                k += ch.len_utf8();
                                continue;
                            }
                        }
                    }
                    push(&mut toks, Tok::Str(s), &mut spaced);
                    j = k + 1;
                }
                b'`' => {
                    let Some(close) = text[j + 1..].find('`') else {
                        return Err((line, "unterminated raw quoted string".into()));
                    };
                    let s = &text[j + 1..j + 1 + close];
                    line += s.matches('\n').count();
                    push(&mut toks, Tok::Str(s.to_string()), &mut spaced);
                    j += close + 2;
                }
                b'$' => {
                    let mut k = j + 1;
                    while b
                        .get(k)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    {
                        k += 1;
                    }
                    push(&mut toks, Tok::Var(text[j..k].to_string()), &mut spaced);
                    j = k;
                }
                b'.' if b
                    .get(j + 1)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') =>
                {
                    let mut k = j + 1;
                    while b
                        .get(k)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    {
                        k += 1;
                    }
                    push(
                        &mut toks,
                        Tok::Field(text[j + 1..k].to_string()),
                        &mut spaced,
                    );
                    j = k;
                }
                b'.' if !b.get(j + 1).is_some_and(u8::is_ascii_digit) => {
                    push(&mut toks, Tok::Dot, &mut spaced);
                    j += 1;
                }
                c if c.is_ascii_digit()
                    || c == b'.'
                    || ((c == b'-' || c == b'+')
                        && b.get(j + 1)
                            .is_some_and(|d| d.is_ascii_digit() || *d == b'.')) =>
                {
                    let mut k = j + 1;
                    while b.get(k).is_some_and(|d| {
                        d.is_ascii_alphanumeric()
                            || *d == b'.'
                            || *d == b'_'
                            || ((*d == b'-' || *d == b'+')
                                && matches!(b[k - 1], b'e' | b'E' | b'p' | b'P'))
                    }) {
                        k += 1;
                    }
                    push(&mut toks, Tok::Num(text[j..k].to_string()), &mut spaced);
                    j = k;
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let mut k = j + 1;
                    while b
                        .get(k)
                        .is_some_and(|d| d.is_ascii_alphanumeric() || *d == b'_')
                    {
                        k += 1;
                    }
                    let w = &text[j..k];
                    let tok = match w {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        _ => Tok::Ident(w.to_string()),
                    };
                    push(&mut toks, tok, &mut spaced);
                    j = k;
                }
                other => {
                    let ch = text[j..].chars().next().unwrap_or(other as char);
                    return Err((line, format!("unexpected {ch:?} in command")));
                }
            }
        }
        pieces.push(Piece::Action(toks, action_line));
        i = j;
    }
    Ok(pieces)
}
