//! Grafana colour names (`green`, `dark-red`, `semi-dark-orange`, `#rrggbb`, …) as terminal
//! colours, for thresholds and value mappings in the dashboard's panels. Uses only ratatui.

use ratatui::style::Color;

/// A Grafana colour name (or `#rrggbb`) as a terminal colour.
pub fn grafana_color(name: &str) -> Option<Color> {
    let n = name.trim().to_ascii_lowercase();
    if let Some(hex) = n.strip_prefix('#').filter(|h| h.len() == 6) {
        let v = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    let base = n
        .trim_start_matches("dark-")
        .trim_start_matches("semi-dark-")
        .trim_start_matches("light-")
        .trim_start_matches("super-light-");
    Some(match base {
        "green" => Color::Green,
        "red" => Color::Red,
        "yellow" => Color::Yellow,
        "orange" => Color::LightRed,
        "blue" => Color::Blue,
        "purple" => Color::Magenta,
        "text" | "white" => Color::Reset,
        _ => return None,
    })
}
