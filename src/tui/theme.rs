//! Colour themes: `themes/*.toml` (embedded: `default`, which uses only the terminal's 16 ANSI
//! colours, `dark`, `light`, `high-contrast`), or a TOML file by path. A theme sets named
//! colours (`"red"`, `"lightblue"`, `"#rrggbb"`, `"reset"`, an ANSI index) at the top of the
//! file or under `[colors]`; keys it leaves out keep the default's. With `NO_COLOR` set every
//! colour is dropped and selection and focus are shown by reverse video and bold instead.
//!
//! Files are read with the `toml` crate and colours with ratatui's `Color::from_str`. Uses no
//! other module of the crate.

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

/// Why `--theme` (or the configured theme) could not be used. Display gives the whole message,
/// the cause's text included; print it with Display (not by walking the sources).
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// Neither a built-in theme's name nor a readable file.
    #[error(
        "theme {name:?}: not a built-in theme ({}) and not a readable file: {source}",
        builtin_names()
    )]
    NotFound {
        name: String,
        #[source]
        source: std::io::Error,
    },
    /// A theme file that is not a valid theme: what is wrong (key, colour, TOML position).
    #[error("theme {path}: {message}")]
    Invalid { path: String, message: String },
    /// A built-in theme that is not valid (its tests keep this from happening).
    #[error("{message}")]
    InvalidBuiltin { name: String, message: String },
}

/// The built-in themes' names, comma-separated.
fn builtin_names() -> String {
    let names: Vec<&str> = BUILTIN.iter().map(|b| b.0).collect();
    names.join(", ")
}

/// A colour: a name (`"lightblue"`, `"dark-gray"`, `"reset"` or its alias `"default"`),
/// `"#rrggbb"`, or an ANSI index `"0"`..`"255"`; ratatui's `Color::from_str` reads it.
pub fn parse_color(s: &str) -> Result<Color, String> {
    if s.trim().eq_ignore_ascii_case("default") {
        return Ok(Color::Reset);
    }
    s.parse::<Color>().map_err(|_| {
        format!("unknown colour {s:?} (a name like \"lightblue\", \"#rrggbb\" or 0-255)")
    })
}

/// Where theme keys may sit: at the top of the file or in its `[colors]` table.
const COLORS_TABLE: &str = "colors";

/// The key/value pairs of a theme file: `name`, and the colour keys at the top level or in
/// `[colors]` (both are read; other tables are errors).
fn theme_entries(text: &str) -> Result<Vec<(String, toml::Value)>, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        // One line for the CLI's error: where, and what toml says is wrong.
        let message = e.message().trim_end().replace('\n', "; ");
        match e.span() {
            Some(span) => {
                let before = text.get(..span.start).unwrap_or(text);
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!("line {line}, column {column}: {message}")
            }
            None => message,
        }
    })?;
    let mut out = Vec::new();
    for (k, v) in table {
        match v {
            toml::Value::Table(inner) if k == COLORS_TABLE => out.extend(inner),
            v => out.push((k, v)),
        }
    }
    Ok(out)
}

fn one_color(key: &str, v: &toml::Value) -> Result<Color, String> {
    match v {
        toml::Value::String(s) => parse_color(s).map_err(|e| format!("{key}: {e}")),
        other => Err(format!(
            "{key}: expected one colour as a string, got a {}",
            other.type_str()
        )),
    }
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
        for (k, v) in theme_entries(text)? {
            match k.as_str() {
                "name" => match v {
                    toml::Value::String(s) => t.name = s,
                    other => {
                        return Err(format!(
                            "name: expected a string, got a {}",
                            other.type_str()
                        ))
                    }
                },
                "series" => match &v {
                    toml::Value::Array(l) if !l.is_empty() => {
                        t.series = l
                            .iter()
                            .map(|c| one_color("series", c))
                            .collect::<Result<_, _>>()?;
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
                    *slot = one_color(&k, &v)?;
                }
            }
        }
        Ok(t)
    }

    /// A built-in theme by name, or a TOML file by path.
    pub fn load(name_or_path: &str) -> Result<Theme, ThemeError> {
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Theme::from_toml(text).map_err(|message| ThemeError::InvalidBuiltin {
                name: name_or_path.to_string(),
                message,
            });
        }
        let text =
            std::fs::read_to_string(name_or_path).map_err(|source| ThemeError::NotFound {
                name: name_or_path.to_string(),
                source,
            })?;
        Theme::from_toml(&text).map_err(|message| ThemeError::Invalid {
            path: name_or_path.to_string(),
            message,
        })
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
            .to_string()
            .contains("default, dark, light, high-contrast"));
        let n = Theme::load("dark").unwrap().without_colors();
        assert_eq!(n.up, Color::Reset);
        assert!(n.selected().add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn theme_file_errors_name_the_bad_value() {
        let e = Theme::from_toml("[colors]\nseries = [\"red\", \"bleu\"]\n").unwrap_err();
        assert!(e.contains("series") && e.contains("\"bleu\""), "{e}");
        let e = Theme::from_toml("[colors]\nup = 3\n").unwrap_err();
        assert!(e.starts_with("up: expected one colour"), "{e}");
        let e = Theme::from_toml("[colors]\nup = \"red\ndown = \"blue\"\n").unwrap_err();
        assert!(e.contains("line 2"), "TOML syntax errors say where: {e}");
        assert!(!e.contains('\n'), "{e}");
        let e = Theme::from_toml("[colours]\nup = \"red\"\n").unwrap_err();
        assert!(e.contains("\"colours\""), "{e}");
        let t = Theme::from_toml("up = \"default\"\ndown = \"bright-red\"\ndim = \"244\"").unwrap();
        assert_eq!(
            (t.up, t.down, t.dim),
            (Color::Reset, Color::LightRed, Color::Indexed(244))
        );
    }
}
