//! Colour themes: `themes/*.toml` (embedded: `default`, which uses only the terminal's 16 ANSI
//! colours, `dark`, `light`, `high-contrast`), or a TOML file by path. A theme sets named
//! colours (`"red"`, `"lightblue"`, `"#rrggbb"`, `"reset"`); keys it leaves out keep the
//! default's. With `NO_COLOR` set every colour is dropped and selection and focus are shown by
//! reverse video and bold instead.
//!
//! The TOML read here is the subset themes need: `key = "value"`, `key = ["a", "b"]`,
//! `[section]` headers (ignored) and `#` comments.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};

/// Every colour the UI uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub no_color: bool,
    pub text: Color,
    pub dim: Color,
    pub border: Color,
    pub border_focus: Color,
    pub title: Color,
    pub selection_fg: Color,
    pub selection_bg: Color,
    pub metric: Color,
    pub function: Color,
    pub keyword: Color,
    pub label: Color,
    pub string: Color,
    pub number: Color,
    pub duration: Color,
    pub operator: Color,
    pub comment: Color,
    pub error: Color,
    pub warning: Color,
    pub up: Color,
    pub down: Color,
    pub unknown: Color,
    pub firing: Color,
    pub pending: Color,
    pub inactive: Color,
    pub series: Vec<Color>,
}

pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// A colour name or `#rrggbb`.
pub fn parse_color(s: &str) -> Result<Color, String> {
    let c = match s.to_ascii_lowercase().replace(['-', '_', ' '], "").as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        hex if hex.len() == 7 && hex.starts_with('#') => {
            let v = u32::from_str_radix(&hex[1..], 16).map_err(|_| format!("bad colour {s:?}"))?;
            Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8)
        }
        _ => {
            return Err(format!(
                "unknown colour {s:?} (a name like \"lightblue\" or \"#rrggbb\")"
            ))
        }
    };
    Ok(c)
}

/// A TOML value as themes use them.
#[derive(Debug, Clone, PartialEq)]
enum TomlValue {
    Str(String),
    List(Vec<String>),
}

fn parse_toml(text: &str) -> Result<BTreeMap<String, TomlValue>, String> {
    let mut out = BTreeMap::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty()
            || line.starts_with('#')
            || (line.starts_with('[') && line.ends_with(']') && !line.contains('='))
        {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected key = value", n + 1))?;
        let k = k.trim().trim_matches('"').to_string();
        let v = v.trim();
        let v = v
            .find(" #")
            .filter(|i| !v[..*i].contains('"') || v[..*i].matches('"').count() % 2 == 0)
            .map_or(v, |i| v[..i].trim());
        let unq = |s: &str| -> Result<String, String> {
            let s = s.trim();
            s.strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .map(str::to_string)
                .ok_or_else(|| format!("line {}: expected a quoted string, got {s}", n + 1))
        };
        let value = if let Some(list) = v.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
            TomlValue::List(
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(unq)
                    .collect::<Result<_, _>>()?,
            )
        } else {
            TomlValue::Str(unq(v)?)
        };
        out.insert(k, value);
    }
    Ok(out)
}

impl Theme {
    fn base() -> Theme {
        Theme {
            name: "default".into(),
            no_color: false,
            text: Color::Reset,
            dim: Color::DarkGray,
            border: Color::DarkGray,
            border_focus: Color::Cyan,
            title: Color::Reset,
            selection_fg: Color::Black,
            selection_bg: Color::Cyan,
            metric: Color::Reset,
            function: Color::Blue,
            keyword: Color::Magenta,
            label: Color::Cyan,
            string: Color::Green,
            number: Color::Yellow,
            duration: Color::Yellow,
            operator: Color::Reset,
            comment: Color::DarkGray,
            error: Color::Red,
            warning: Color::Yellow,
            up: Color::Green,
            down: Color::Red,
            unknown: Color::DarkGray,
            firing: Color::Red,
            pending: Color::Yellow,
            inactive: Color::Green,
            series: vec![
                Color::Cyan,
                Color::Yellow,
                Color::Magenta,
                Color::Green,
                Color::Blue,
                Color::Red,
                Color::LightCyan,
                Color::LightYellow,
            ],
        }
    }

    /// Reads a theme's TOML over the default; unknown keys and bad colours are errors.
    pub fn from_toml(text: &str) -> Result<Theme, String> {
        let mut t = Theme::base();
        for (k, v) in parse_toml(text)? {
            let one = |v: &TomlValue| -> Result<Color, String> {
                match v {
                    TomlValue::Str(s) => parse_color(s).map_err(|e| format!("{k}: {e}")),
                    TomlValue::List(_) => Err(format!("{k}: expected one colour")),
                }
            };
            match k.as_str() {
                "name" => {
                    if let TomlValue::Str(s) = v {
                        t.name = s;
                    }
                }
                "series" => match &v {
                    TomlValue::List(l) if !l.is_empty() => {
                        t.series = l.iter().map(|s| parse_color(s)).collect::<Result<_, _>>()?;
                    }
                    _ => return Err("series: expected a non-empty list of colours".into()),
                },
                _ => {
                    let slot = match k.as_str() {
                        "text" => &mut t.text,
                        "dim" => &mut t.dim,
                        "border" => &mut t.border,
                        "border_focus" => &mut t.border_focus,
                        "title" => &mut t.title,
                        "selection_fg" => &mut t.selection_fg,
                        "selection_bg" => &mut t.selection_bg,
                        "metric" => &mut t.metric,
                        "function" => &mut t.function,
                        "keyword" => &mut t.keyword,
                        "label" => &mut t.label,
                        "string" => &mut t.string,
                        "number" => &mut t.number,
                        "duration" => &mut t.duration,
                        "operator" => &mut t.operator,
                        "comment" => &mut t.comment,
                        "error" => &mut t.error,
                        "warning" => &mut t.warning,
                        "up" => &mut t.up,
                        "down" => &mut t.down,
                        "unknown" => &mut t.unknown,
                        "firing" => &mut t.firing,
                        "pending" => &mut t.pending,
                        "inactive" => &mut t.inactive,
                        other => return Err(format!("unknown theme key {other:?}")),
                    };
                    *slot = one(&v)?;
                }
            }
        }
        Ok(t)
    }

    /// A built-in theme by name, or a TOML file by path.
    pub fn load(name_or_path: &str) -> Result<Theme, String> {
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Theme::from_toml(text);
        }
        let text = std::fs::read_to_string(name_or_path).map_err(|e| {
            let names: Vec<&str> = BUILTIN.iter().map(|b| b.0).collect();
            format!(
                "theme {name_or_path:?}: not a built-in theme ({}) and not a readable file: {e}",
                names.join(", ")
            )
        })?;
        Theme::from_toml(&text).map_err(|e| format!("theme {name_or_path}: {e}"))
    }

    /// Drops every colour (`NO_COLOR`).
    pub fn without_colors(mut self) -> Theme {
        self.no_color = true;
        for c in [
            &mut self.text,
            &mut self.dim,
            &mut self.border,
            &mut self.border_focus,
            &mut self.title,
            &mut self.selection_fg,
            &mut self.selection_bg,
            &mut self.metric,
            &mut self.function,
            &mut self.keyword,
            &mut self.label,
            &mut self.string,
            &mut self.number,
            &mut self.duration,
            &mut self.operator,
            &mut self.comment,
            &mut self.error,
            &mut self.warning,
            &mut self.up,
            &mut self.down,
            &mut self.unknown,
            &mut self.firing,
            &mut self.pending,
            &mut self.inactive,
        ] {
            *c = Color::Reset;
        }
        self.series = vec![Color::Reset];
        self
    }

    pub fn fg(&self, c: Color) -> Style {
        Style::default().fg(c)
    }

    /// The highlighted row or item: colours, or reverse video without them.
    pub fn selected(&self) -> Style {
        if self.no_color {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default().fg(self.selection_fg).bg(self.selection_bg)
        }
    }

    /// A pane's border: the focused one stands out (bold without colours).
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            Style::default()
                .fg(self.border_focus)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(self.border)
        }
    }

    pub fn series_color(&self, i: usize) -> Color {
        self.series[i % self.series.len().max(1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_themes_load_and_differ() {
        let mut seen = Vec::new();
        for (name, _) in BUILTIN {
            let t = Theme::load(name).unwrap();
            assert_eq!(&t.name, name);
            assert!(!t.series.is_empty());
            seen.push(t);
        }
        assert_ne!(seen[0], seen[1]);
        // The default uses only the 16 ANSI colours.
        let d = &seen[0];
        let all = [
            d.text,
            d.border,
            d.border_focus,
            d.metric,
            d.function,
            d.up,
            d.down,
        ]
        .into_iter()
        .chain(d.series.iter().copied());
        for c in all {
            assert!(!matches!(c, Color::Rgb(..) | Color::Indexed(_)), "{c:?}");
        }
    }

    #[test]
    fn theme_files_and_errors() {
        let t = Theme::from_toml(
            "name = \"mine\"\n[colors]\nup = \"#00ff00\" # bright\nseries = [\"red\", \"blue\"]\n",
        )
        .unwrap();
        assert_eq!(t.up, Color::Rgb(0, 255, 0));
        assert_eq!(t.series, vec![Color::Red, Color::Blue]);
        assert_eq!(t.down, Color::Red, "unset keys keep the default");
        assert!(Theme::from_toml("up = \"chartreuse\"")
            .unwrap_err()
            .contains("chartreuse"));
        assert!(Theme::from_toml("upp = \"red\"")
            .unwrap_err()
            .contains("upp"));
        assert!(Theme::load("no-such-theme")
            .unwrap_err()
            .contains("default, dark, light, high-contrast"));
        let n = Theme::load("dark").unwrap().without_colors();
        assert_eq!(n.up, Color::Reset);
        assert!(n.selected().add_modifier.contains(Modifier::REVERSED));
    }
}
