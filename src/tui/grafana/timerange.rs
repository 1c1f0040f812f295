//! A dashboard's time range as Grafana reads and changes it.
//!
//! Reading (Grafana's `dateMath.parse`): `now` with math after it — `-6h`, `+1d`, and `/d`
//! rounding to the start of the unit for `from` and to its end (the last millisecond) for `to`
//! (`now/d` to `now/d` is today, `now-1d/d` to `now-1d/d` yesterday, `now/w` this week from
//! the dashboard's week start, Monday unless `weekStart` says otherwise, `now-1M/M` last
//! month); units `y`, `Q`, `M`, `w`, `d`, `h`, `m`, `s`. Calendar units (`y Q M w d`) move and
//! round on the wall clock of the dashboard's time zone (`utc`, else the machine's), months
//! keeping the day where they can (Jan 31 + 1M is the end of February); `h m s` move the
//! instant. Absolute times: epoch milliseconds (as a JSON number or string), ISO 8601 dates
//! with or without a zone (without: in the dashboard's zone), and `date||math`.
//!
//! Changing (Grafana's time picker): zoom out doubles the range around its centre and zoom in
//! halves it; pan shifts it by half its length; both leave an absolute range. The presets `t`
//! cycles through. Pure, but for the local time zone's offset (`format::local_offset`).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};

/// Whose wall clock rounds days and weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Utc,
    /// The machine's zone (Grafana's "browser").
    Local,
    /// A fixed offset east of UTC in seconds (tests, and zones given as offsets).
    Fixed(i64),
}

impl Zone {
    /// The dashboard's `timezone` field: `utc` is UTC, anything else the machine's.
    pub fn of_dashboard(timezone: &str) -> Zone {
        if timezone.trim().eq_ignore_ascii_case("utc") {
            Zone::Utc
        } else {
            Zone::Local
        }
    }

    /// Seconds east of UTC at unix second `t`.
    fn offset(self, t: i64) -> i64 {
        match self {
            Zone::Utc => 0,
            Zone::Fixed(o) => o,
            Zone::Local => crate::tui::format::local_offset(t as f64),
        }
    }
}

/// The dashboard's `weekStart` (`monday`, `sunday`, `saturday`); empty or unknown is Monday,
/// Grafana's default.
pub fn week_start(name: &str) -> Weekday {
    match name.trim().to_ascii_lowercase().as_str() {
        "sunday" => Weekday::Sun,
        "saturday" => Weekday::Sat,
        _ => Weekday::Mon,
    }
}

/// A range as the view holds it: as written (moves with now), or fixed instants.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeRange {
    Relative {
        from: String,
        to: String,
    },
    /// Unix seconds.
    Absolute {
        start: f64,
        end: f64,
    },
}

/// The presets `t` cycles through: (`from`, length in seconds); `to` is `now`.
pub const PRESETS: [(&str, f64); 8] = [
    ("now-5m", 300.0),
    ("now-15m", 900.0),
    ("now-1h", 3600.0),
    ("now-6h", 21600.0),
    ("now-12h", 43200.0),
    ("now-24h", 86400.0),
    ("now-2d", 172800.0),
    ("now-7d", 604800.0),
];

/// The shortest range zooming in reaches (seconds).
pub const MIN_SPAN: f64 = 60.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
}

impl Unit {
    fn of(c: char) -> Option<Unit> {
        Some(match c {
            'y' => Unit::Year,
            'Q' => Unit::Quarter,
            'M' => Unit::Month,
            'w' => Unit::Week,
            'd' => Unit::Day,
            'h' => Unit::Hour,
            'm' => Unit::Minute,
            's' => Unit::Second,
            _ => return None,
        })
    }

    /// Milliseconds of the units that move the instant.
    fn fixed_ms(self) -> Option<i64> {
        match self {
            Unit::Hour => Some(3_600_000),
            Unit::Minute => Some(60_000),
            Unit::Second => Some(1_000),
            _ => None,
        }
    }
}

fn wall(ms: i64, zone: Zone) -> Result<NaiveDateTime, String> {
    let off = zone.offset(ms.div_euclid(1000));
    DateTime::from_timestamp_millis(ms + off * 1000)
        .map(|d| d.naive_utc())
        .ok_or_else(|| format!("{ms} ms is out of the calendar's range"))
}

fn instant(w: NaiveDateTime, zone: Zone) -> i64 {
    let guess = w.and_utc().timestamp_millis();
    // The offset at the instant itself (twice: once to get near it, once to settle).
    let first = guess - zone.offset(guess.div_euclid(1000)) * 1000;
    guess - zone.offset(first.div_euclid(1000)) * 1000
}

fn add_months(w: NaiveDateTime, n: i64) -> Option<NaiveDateTime> {
    let m = chrono::Months::new(u32::try_from(n.unsigned_abs()).ok()?);
    if n >= 0 {
        w.checked_add_months(m)
    } else {
        w.checked_sub_months(m)
    }
}

fn add_calendar(w: NaiveDateTime, n: i64, unit: Unit) -> Option<NaiveDateTime> {
    match unit {
        Unit::Year => add_months(w, n.checked_mul(12)?),
        Unit::Quarter => add_months(w, n.checked_mul(3)?),
        Unit::Month => add_months(w, n),
        Unit::Week => w.checked_add_signed(Duration::try_days(n.checked_mul(7)?)?),
        Unit::Day => w.checked_add_signed(Duration::try_days(n)?),
        Unit::Hour => w.checked_add_signed(Duration::try_hours(n)?),
        Unit::Minute => w.checked_add_signed(Duration::try_minutes(n)?),
        Unit::Second => w.checked_add_signed(Duration::try_seconds(n)?),
    }
}

fn start_of(w: NaiveDateTime, unit: Unit, week: Weekday) -> Option<NaiveDateTime> {
    let d = w.date();
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
    use chrono::Timelike;
    match unit {
        Unit::Second => w.with_nanosecond(0),
        Unit::Minute => d.and_hms_opt(w.hour(), w.minute(), 0),
        Unit::Hour => d.and_hms_opt(w.hour(), 0, 0),
        Unit::Day => midnight(d),
        Unit::Week => {
            let back = (7 + d.weekday().num_days_from_monday() - week.num_days_from_monday()) % 7;
            midnight(d.checked_sub_signed(Duration::try_days(i64::from(back))?)?)
        }
        Unit::Month => midnight(d.with_day(1)?),
        Unit::Quarter => midnight(NaiveDate::from_ymd_opt(
            d.year(),
            (d.month() - 1) / 3 * 3 + 1,
            1,
        )?),
        Unit::Year => midnight(NaiveDate::from_ymd_opt(d.year(), 1, 1)?),
    }
}

/// Applies `math` (`-1d/d`, `+2h`, `/w`) to `ms`, rounding up (to the end of a unit) when
/// `round_up`.
fn apply_math(
    mut ms: i64,
    math: &str,
    round_up: bool,
    zone: Zone,
    week: Weekday,
) -> Result<i64, String> {
    let chars: Vec<char> = math.trim().chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let op = chars[i];
        i += 1;
        if !matches!(op, '/' | '+' | '-') {
            return Err(format!("{op:?} where +, - or / was expected"));
        }
        let mut n: i64 = 1;
        if op != '/' {
            let digits: String = chars[i..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            i += digits.len();
            if !digits.is_empty() {
                n = digits
                    .parse()
                    .map_err(|_| format!("{digits} is too large a number"))?;
            }
            if op == '-' {
                n = -n;
            }
        }
        let c = chars
            .get(i)
            .copied()
            .ok_or("a unit is missing at the end")?;
        i += 1;
        let unit = Unit::of(c)
            .ok_or_else(|| format!("{c:?} is not a time unit (y, Q, M, w, d, h, m, s)"))?;
        let too_far = || "the time is out of the calendar's range".to_string();
        ms = if op == '/' {
            let start = start_of(wall(ms, zone)?, unit, week).ok_or_else(too_far)?;
            if round_up {
                let next = add_calendar(start, 1, unit).ok_or_else(too_far)?;
                instant(next, zone) - 1
            } else {
                instant(start, zone)
            }
        } else if let Some(unit_ms) = unit.fixed_ms() {
            n.checked_mul(unit_ms)
                .and_then(|d| ms.checked_add(d))
                .ok_or_else(too_far)?
        } else {
            instant(
                add_calendar(wall(ms, zone)?, n, unit).ok_or_else(too_far)?,
                zone,
            )
        };
    }
    Ok(ms)
}

/// An absolute time: epoch milliseconds, an ISO 8601 date (a zone-less one in `zone`).
fn parse_absolute(s: &str, zone: Zone) -> Result<i64, String> {
    let s = s.trim();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        return s
            .parse()
            .map_err(|_| format!("{s} is too large for epoch milliseconds"));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(d.timestamp_millis());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(w) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(instant(w, zone));
        }
    }
    if let Some(w) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
    {
        return Ok(instant(w, zone));
    }
    Err("not a time: write now-6h, now/d, an ISO date or epoch milliseconds".into())
}

/// One end of a range (`from`: `round_up` false; `to`: true) at `now_ms`, in milliseconds.
pub fn parse_point(
    text: &str,
    now_ms: i64,
    round_up: bool,
    zone: Zone,
    week: Weekday,
) -> Result<i64, String> {
    let t = text.trim();
    let out = if let Some(math) = t.strip_prefix("now") {
        apply_math(now_ms, math, round_up, zone, week)
    } else if let Some((date, math)) = t.split_once("||") {
        parse_absolute(date, zone).and_then(|ms| apply_math(ms, math, round_up, zone, week))
    } else {
        parse_absolute(t, zone)
    };
    out.map_err(|e| format!("time {t:?}: {e}"))
}

/// The (start, end) in unix seconds of `from`–`to` at `now` (unix seconds).
pub fn resolve(
    from: &str,
    to: &str,
    now: f64,
    zone: Zone,
    week: Weekday,
) -> Result<(f64, f64), String> {
    let now_ms = (now * 1000.0).round() as i64;
    let f = parse_point(from, now_ms, false, zone, week)?;
    let t = parse_point(to, now_ms, true, zone, week)?;
    if f >= t {
        return Err(format!(
            "time range {from:?} to {to:?}: the start is not before the end"
        ));
    }
    Ok((f as f64 / 1000.0, t as f64 / 1000.0))
}

/// Whether `text` moves with now (`now…`).
pub fn is_relative(text: &str) -> bool {
    text.trim().starts_with("now")
}

/// `range` zoomed around its centre: `factor` 2 is Grafana's zoom out, 0.5 zoom in (never
/// shorter than `MIN_SPAN`).
pub fn zoom((start, end): (f64, f64), factor: f64) -> (f64, f64) {
    let span = ((end - start) * factor).max(MIN_SPAN);
    let centre = (start + end) / 2.0;
    (centre - span / 2.0, centre + span / 2.0)
}

/// `range` moved by half its length: back (`forward` false) or forward.
pub fn pan((start, end): (f64, f64), forward: bool) -> (f64, f64) {
    let half = (end - start) / 2.0;
    let by = if forward { half } else { -half };
    (start + by, end + by)
}

/// The preset after a range `span` seconds long: the first longer one, back to the first
/// after the last.
pub fn next_preset(span: f64) -> TimeRange {
    let (from, _) = PRESETS
        .iter()
        .find(|(_, s)| *s > span + 0.5)
        .unwrap_or(&PRESETS[0]);
    TimeRange::Relative {
        from: (*from).to_string(),
        to: "now".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix milliseconds of an RFC 3339 time.
    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    /// Sunday 2026-12-06, 03:26:09.5 UTC.
    fn now() -> i64 {
        at("2026-12-06T03:26:09.500Z")
    }

    fn point(text: &str, round_up: bool) -> i64 {
        parse_point(text, now(), round_up, Zone::Utc, Weekday::Mon).unwrap()
    }

    #[test]
    fn relative_times_move_the_instant() {
        assert_eq!(point("now", false), now());
        assert_eq!(point("now-6h", false), now() - 6 * 3_600_000);
        assert_eq!(point("now+90s", true), now() + 90_000);
        assert_eq!(point("now-1d", false), at("2026-12-05T03:26:09.500Z"));
        // Months keep the day where they can.
        assert_eq!(
            parse_point(
                "2026-01-31T10:00:00Z||+1M",
                0,
                false,
                Zone::Utc,
                Weekday::Mon
            ),
            Ok(at("2026-02-28T10:00:00Z"))
        );
    }

    #[test]
    fn rounding_goes_to_the_start_for_from_and_the_end_for_to() {
        // Today, yesterday.
        assert_eq!(point("now/d", false), at("2026-12-06T00:00:00Z"));
        assert_eq!(point("now/d", true), at("2026-12-06T23:59:59.999Z"));
        assert_eq!(point("now-1d/d", false), at("2026-12-05T00:00:00Z"));
        assert_eq!(point("now-1d/d", true), at("2026-12-05T23:59:59.999Z"));
        // This week from Monday (Grafana's default week start); 2026-12-06 is a Sunday.
        assert_eq!(point("now/w", false), at("2026-11-30T00:00:00Z"));
        assert_eq!(point("now/w", true), at("2026-12-06T23:59:59.999Z"));
        // A week starting on Sunday.
        let sunday = |t, up| parse_point(t, now(), up, Zone::Utc, week_start("sunday")).unwrap();
        assert_eq!(sunday("now/w", false), at("2026-12-06T00:00:00Z"));
        assert_eq!(sunday("now/w", true), at("2026-12-12T23:59:59.999Z"));
        // Last month, this year, this hour, the quarter.
        assert_eq!(point("now-1M/M", false), at("2026-11-01T00:00:00Z"));
        assert_eq!(point("now-1M/M", true), at("2026-11-30T23:59:59.999Z"));
        assert_eq!(point("now/y", false), at("2026-01-01T00:00:00Z"));
        assert_eq!(point("now/y", true), at("2026-12-31T23:59:59.999Z"));
        assert_eq!(point("now/h", false), at("2026-12-06T03:00:00Z"));
        assert_eq!(point("now/Q", false), at("2026-10-01T00:00:00Z"));
        // Math after rounding: the day before yesterday's end.
        assert_eq!(point("now/d-1d", true), at("2026-12-05T23:59:59.999Z"));
    }

    #[test]
    fn days_round_on_the_dashboards_wall_clock() {
        let plus2 = Zone::Fixed(2 * 3600);
        assert_eq!(
            parse_point("now/d", now(), false, plus2, Weekday::Mon),
            Ok(at("2026-12-06T00:00:00+02:00"))
        );
        // 23:00 UTC on the 5th is already the 6th at +02:00.
        let late = at("2026-12-05T23:00:00Z");
        assert_eq!(
            parse_point("now/d", late, false, plus2, Weekday::Mon),
            Ok(at("2026-12-06T00:00:00+02:00"))
        );
        assert_eq!(Zone::of_dashboard("utc"), Zone::Utc);
        assert_eq!(Zone::of_dashboard("browser"), Zone::Local);
    }

    #[test]
    fn absolute_times_are_iso_dates_or_epoch_milliseconds() {
        let r = resolve(
            "2026-12-01T00:00:00.000Z",
            "1796169600000",
            0.0,
            Zone::Utc,
            Weekday::Mon,
        );
        assert_eq!(
            r,
            Ok((
                at("2026-12-01T00:00:00Z") as f64 / 1000.0,
                at("2026-12-02T00:00:00Z") as f64 / 1000.0
            ))
        );
        // A zone-less date is in the dashboard's zone.
        assert_eq!(
            parse_point(
                "2026-12-01 06:00:00",
                0,
                false,
                Zone::Fixed(3600),
                Weekday::Mon
            ),
            Ok(at("2026-12-01T05:00:00Z"))
        );
        assert_eq!(
            parse_point("2026-12-01", 0, false, Zone::Utc, Weekday::Mon),
            Ok(at("2026-12-01T00:00:00Z"))
        );
    }

    #[test]
    fn bad_times_say_what_is_wrong() {
        let e = parse_point("now-1x", now(), false, Zone::Utc, Weekday::Mon).unwrap_err();
        assert!(e.contains("now-1x") && e.contains("'x'"), "{e}");
        let e = parse_point("yesterday", now(), false, Zone::Utc, Weekday::Mon).unwrap_err();
        assert!(e.contains("yesterday") && e.contains("ISO"), "{e}");
        let e = parse_point("now-", now(), false, Zone::Utc, Weekday::Mon).unwrap_err();
        assert!(e.contains("unit is missing"), "{e}");
        let e = resolve("now", "now-1h", 1e9, Zone::Utc, Weekday::Mon).unwrap_err();
        assert!(e.contains("not before"), "{e}");
    }

    #[test]
    fn zoom_and_pan_keep_or_move_the_centre() {
        let r = (1000.0, 4600.0);
        // Zoom out doubles around the centre (2800), zoom in halves.
        assert_eq!(zoom(r, 2.0), (-800.0, 6400.0));
        assert_eq!(zoom(r, 0.5), (1900.0, 3700.0));
        assert_eq!(zoom(zoom(r, 0.5), 2.0), r);
        // Never shorter than a minute.
        assert_eq!(zoom((0.0, 100.0), 0.5), (20.0, 80.0));
        // Pan by half the range.
        assert_eq!(pan(r, false), (-800.0, 2800.0));
        assert_eq!(pan(r, true), (2800.0, 6400.0));
    }

    #[test]
    fn presets_cycle_to_the_next_longer_one() {
        let from = |r: TimeRange| match r {
            TimeRange::Relative { from, to } => {
                assert_eq!(to, "now");
                from
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(from(next_preset(3600.0)), "now-6h");
        assert_eq!(from(next_preset(1800.0)), "now-1h");
        assert_eq!(from(next_preset(604800.0)), "now-5m");
    }
}
