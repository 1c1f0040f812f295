//! The dashboard's shared time controls: the range every panel shows (the dashboard's own
//! `time`, a preset, or an absolute range once zoomed or panned) and the time cursor drawn
//! across every time series panel. Keys: `+`/`-` zoom in/out around the centre, `[`/`]` pan
//! by half the range, `0` back to the dashboard's range, `t` the next preset; `,`/`.` move
//! the cursor one data point back/forward (it appears at the newest point), `x` hides it.
//! The view (`app::grafana`) re-sends the panels when the range changes.
//! Uses `grafana::timerange` (reading and changing ranges) and `grafana::model`.

use crossterm::event::KeyCode;

use crate::tui::grafana::model::Dashboard;
use crate::tui::grafana::timerange::{
    next_preset, pan, resolve, week_start, zoom, TimeRange, Zone,
};

/// The range shown when the dashboard's own cannot be read (seconds): Grafana's 6 hours.
pub const FALLBACK_SPAN: f64 = 6.0 * 3600.0;

/// What a time key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeKey {
    /// Not a time key.
    NotMine,
    /// The cursor moved, or nothing changed.
    Moved,
    /// The range changed: the panels are asked again.
    Range,
}

/// The range and the cursor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeCtl {
    /// The range chosen with the keys; `None`: the dashboard's `time`.
    pub range: Option<TimeRange>,
    /// The cursor's time (unix seconds); `None`: hidden.
    pub cursor: Option<f64>,
}

impl TimeCtl {
    /// The range at `now` (unix seconds): the chosen one, else the dashboard's, read in its
    /// zone and week start; why it cannot be read otherwise.
    pub fn range(&self, d: &Dashboard, now: f64) -> Result<(f64, f64), String> {
        let (from, to) = match &self.range {
            Some(TimeRange::Absolute { start, end }) => return Ok((*start, *end)),
            Some(TimeRange::Relative { from, to }) => (from.as_str(), to.as_str()),
            None => (d.time_from.as_str(), d.time_to.as_str()),
        };
        resolve(
            from,
            to,
            now,
            Zone::of_dashboard(&d.timezone),
            week_start(&d.week_start),
        )
    }

    /// The range as the title line shows it: as written while it moves with now, `None`
    /// once absolute (the view writes the times).
    pub fn written(&self, d: &Dashboard) -> Option<String> {
        match &self.range {
            Some(TimeRange::Absolute { .. }) => None,
            Some(TimeRange::Relative { from, to }) => Some(format!("{from} to {to}")),
            None => Some(format!("{} to {}", d.time_from, d.time_to)),
        }
    }

    /// A key. `current` is the range now shown, `data` the times of the data points drawn
    /// (to start the cursor at the newest), `step` one data point column (seconds).
    pub fn key(
        &mut self,
        code: KeyCode,
        current: (f64, f64),
        newest: Option<f64>,
        step: f64,
    ) -> TimeKey {
        let absolute = |(start, end): (f64, f64)| Some(TimeRange::Absolute { start, end });
        let before = self.range.clone();
        match code {
            KeyCode::Char('+') => self.range = absolute(zoom(current, 0.5)),
            KeyCode::Char('-') => self.range = absolute(zoom(current, 2.0)),
            KeyCode::Char('[') => self.range = absolute(pan(current, false)),
            KeyCode::Char(']') => self.range = absolute(pan(current, true)),
            KeyCode::Char('0') => self.range = None,
            KeyCode::Char('t') => self.range = Some(next_preset(current.1 - current.0)),
            KeyCode::Char(',' | '.') => {
                let by = if code == KeyCode::Char(',') {
                    -step
                } else {
                    step
                };
                let (lo, hi) = current;
                self.cursor = Some(match self.cursor {
                    None => newest.unwrap_or(hi).clamp(lo, hi),
                    Some(c) => (c + by).clamp(lo, hi),
                });
                return TimeKey::Moved;
            }
            KeyCode::Char('x') => {
                self.cursor = None;
                return TimeKey::Moved;
            }
            _ => return TimeKey::NotMine,
        }
        if self.range == before {
            return TimeKey::Moved;
        }
        TimeKey::Range
    }

    /// After the range changed to `window`: a cursor outside it is hidden.
    pub fn keep_cursor_in(&mut self, (start, end): (f64, f64)) {
        if self.cursor.is_some_and(|c| c < start || c > end) {
            self.cursor = None;
        }
    }
}

/// One data point column: the smallest gap between neighbouring points of any series.
pub fn data_step<'a>(series: impl IntoIterator<Item = &'a [(f64, f64)]>) -> Option<f64> {
    series
        .into_iter()
        .flat_map(|s| s.windows(2).map(|w| w[1].0 - w[0].0))
        .filter(|g| *g > 0.0)
        .fold(None, |m: Option<f64>, g| Some(m.map_or(g, |m| m.min(g))))
}

/// A series' value at the cursor `t`: its nearest point within half a column (its own, or
/// `step` when wider), `None` when it has no point there.
pub fn value_at(points: &[(f64, f64)], t: f64, step: f64) -> Option<f64> {
    let own = data_step([points]).unwrap_or(0.0);
    let tolerance = own.max(step) / 2.0 + 1e-6;
    points
        .iter()
        .filter(|p| (p.0 - t).abs() <= tolerance)
        .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
        .map(|p| p.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dash(from: &str, to: &str) -> Dashboard {
        let text = format!(
            r#"{{"title": "t", "timezone": "utc", "time": {{"from": "{from}", "to": "{to}"}}, "panels": []}}"#
        );
        Dashboard::parse(&text, "d").unwrap()
    }

    #[test]
    fn zoom_pan_preset_and_back_to_the_dashboards_range() {
        let d = dash("now-1h", "now");
        let now = 1_800_000_000.0;
        let mut c = TimeCtl::default();
        let r = c.range(&d, now).unwrap();
        assert_eq!(r, (now - 3600.0, now));
        assert_eq!(c.written(&d).as_deref(), Some("now-1h to now"));
        assert_eq!(c.key(KeyCode::Char('+'), r, None, 15.0), TimeKey::Range);
        let z = c.range(&d, now + 100.0).unwrap();
        // Absolute: it no longer moves with now.
        assert_eq!(z, (now - 2700.0, now - 900.0));
        assert_eq!(c.written(&d), None);
        assert_eq!(c.key(KeyCode::Char(']'), z, None, 15.0), TimeKey::Range);
        assert_eq!(c.range(&d, now).unwrap(), (now - 1800.0, now));
        c.key(KeyCode::Char('-'), c.range(&d, now).unwrap(), None, 15.0);
        assert_eq!(c.range(&d, now).unwrap(), (now - 2700.0, now + 900.0));
        assert_eq!(c.key(KeyCode::Char('0'), r, None, 15.0), TimeKey::Range);
        assert_eq!(c.range, None);
        // Already there: nothing to send.
        assert_eq!(c.key(KeyCode::Char('0'), r, None, 15.0), TimeKey::Moved);
        assert_eq!(c.key(KeyCode::Char('t'), r, None, 15.0), TimeKey::Range);
        assert_eq!(c.written(&d).as_deref(), Some("now-6h to now"));
        assert_eq!(c.key(KeyCode::Char('q'), r, None, 15.0), TimeKey::NotMine);
    }

    #[test]
    fn a_rounded_or_absolute_dashboard_range_is_read() {
        // 1_800_000_000 is 2027-01-15T08:00:00Z.
        let now = 1_800_000_000.0;
        let today = TimeCtl::default()
            .range(&dash("now/d", "now/d"), now)
            .unwrap();
        assert_eq!(today, (1_799_971_200.0, 1_800_057_599.999));
        let fixed = dash("1799971200000", "2027-01-15T12:00:00Z");
        assert_eq!(
            TimeCtl::default().range(&fixed, now),
            Ok((1_799_971_200.0, 1_800_014_400.0))
        );
        let bad = TimeCtl::default().range(&dash("now-1fortnight", "now"), now);
        assert!(bad.unwrap_err().contains("now-1fortnight"));
    }

    #[test]
    fn the_cursor_starts_at_the_newest_point_and_moves_by_one_column() {
        let mut c = TimeCtl::default();
        let w = (1000.0, 2000.0);
        assert_eq!(
            c.key(KeyCode::Char(','), w, Some(1980.0), 20.0),
            TimeKey::Moved
        );
        assert_eq!(c.cursor, Some(1980.0));
        c.key(KeyCode::Char(','), w, Some(1980.0), 20.0);
        assert_eq!(c.cursor, Some(1960.0));
        c.key(KeyCode::Char('.'), w, Some(1980.0), 20.0);
        c.key(KeyCode::Char('.'), w, Some(1980.0), 20.0);
        c.key(KeyCode::Char('.'), w, Some(1980.0), 20.0);
        // Never out of the window.
        assert_eq!(c.cursor, Some(2000.0));
        c.keep_cursor_in((0.0, 1500.0));
        assert_eq!(c.cursor, None);
        c.key(KeyCode::Char('.'), w, None, 20.0);
        assert_eq!(c.cursor, Some(2000.0));
        c.key(KeyCode::Char('x'), w, None, 20.0);
        assert_eq!(c.cursor, None);
    }

    #[test]
    fn values_at_the_cursor_are_the_nearest_point_within_half_a_column() {
        let pts = [(100.0, 1.0), (120.0, 2.0), (140.0, 3.0), (200.0, 9.0)];
        assert_eq!(
            data_step([&pts[..], &[(0.0, 0.0), (15.0, 0.0)][..]]),
            Some(15.0)
        );
        assert_eq!(value_at(&pts, 120.0, 20.0), Some(2.0));
        assert_eq!(value_at(&pts, 128.0, 20.0), Some(2.0));
        assert_eq!(value_at(&pts, 131.0, 20.0), Some(3.0));
        // A gap (no point near 170): nothing.
        assert_eq!(value_at(&pts, 170.0, 20.0), None);
        assert_eq!(value_at(&[], 170.0, 20.0), None);
    }
}
