//! Time ranges in Grafana's syntax, the time picker's presets, zoom out, refresh choices, and
//! Prometheus durations.
//!
//! A [`TimeRange`] holds the two raw expressions of Grafana's time picker (`now-6h`, `now`,
//! `now/d`, epoch milliseconds, RFC 3339); [`TimeRange::resolve`] turns them into epoch
//! milliseconds against a `now_ms` the caller passes (no clock here). The expression grammar
//! follows Grafana's `packages/grafana-data/src/datetime/datemath.ts` (`parseDateMath`):
//! `now` followed by any number of `+N<unit>`, `-N<unit>` (N defaults to 1) and `/<unit>`
//! (round to the start of the unit, or to its end for the range's `to`), units `s m h d w M Q
//! y`; months, quarters and years are calendar units (UTC), the day of month clamped like
//! moment.js does.

use serde::{Deserialize, Serialize};

/// One second in milliseconds.
pub const SECOND_MS: i64 = 1_000;
/// One minute in milliseconds.
pub const MINUTE_MS: i64 = 60 * SECOND_MS;
/// One hour in milliseconds.
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// One week in milliseconds.
pub const WEEK_MS: i64 = 7 * DAY_MS;
/// Prometheus' year: 365 days.
pub const YEAR_MS: i64 = 365 * DAY_MS;

/// The shortest automatic refresh: Grafana's default `min_refresh_interval` (5s); shorter
/// choices are raised to it.
pub const MIN_REFRESH_MS: i64 = 5 * SECOND_MS;

/// The refresh picker's choices (`off` first).
pub const REFRESH_CHOICES: &[&str] = &["off", "5s", "10s", "30s", "1m", "5m"];

/// Errors of time expressions, ranges and durations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The expression is empty.
    #[error("empty time expression")]
    Empty,
    /// The expression is not `now…`, epoch milliseconds or RFC 3339.
    #[error("invalid time expression {expr:?}: {reason}")]
    InvalidExpr {
        /// The expression as written.
        expr: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `from` does not resolve to a time before `to`.
    #[error("the time range is empty or reversed: from {from_ms} ms is not before to {to_ms} ms")]
    NotIncreasing {
        /// Resolved start.
        from_ms: i64,
        /// Resolved end.
        to_ms: i64,
    },
    /// Not a Prometheus duration (`1h30m`, `15s`, `500ms`).
    #[error("invalid duration {0:?}: expected e.g. 15s, 1h30m, 500ms")]
    InvalidDuration(String),
    /// Not `off` or a positive duration.
    #[error("invalid refresh interval {0:?}: expected off or a duration such as 30s")]
    InvalidRefresh(String),
    /// The arithmetic left the representable range of epoch milliseconds.
    #[error("time out of range")]
    Overflow,
}

/// A dashboard or notebook time range as the time picker writes it: `from` and `to` are
/// expressions (`now-1h`, `now`, `now/d`, `1700000000000`, `2024-01-02T03:04:05Z`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeRange {
    /// Start expression.
    pub from: String,
    /// End expression.
    pub to: String,
}

impl Default for TimeRange {
    /// The last hour, Grafana Explore's default (`now-1h` to `now`).
    fn default() -> Self {
        Self::new("now-1h", "now")
    }
}

impl TimeRange {
    /// A range from two expressions.
    pub fn new(from: &str, to: &str) -> Self {
        Self {
            from: from.to_string(),
            to: to.to_string(),
        }
    }

    /// An absolute range in epoch milliseconds.
    pub fn absolute(from_ms: i64, to_ms: i64) -> Self {
        Self {
            from: from_ms.to_string(),
            to: to_ms.to_string(),
        }
    }

    /// Resolves both ends against `now_ms`: `from` rounds down (`now/d` = start of day), `to`
    /// rounds up (`now/d` = the day's last millisecond), as Grafana does. Errors when either
    /// end is invalid or `from` is not before `to`.
    pub fn resolve(&self, now_ms: i64) -> Result<(i64, i64), TimeError> {
        let from_ms = parse_time(&self.from, now_ms, false)?;
        let to_ms = parse_time(&self.to, now_ms, true)?;
        if from_ms >= to_ms {
            return Err(TimeError::NotIncreasing { from_ms, to_ms });
        }
        Ok((from_ms, to_ms))
    }

    /// Whether either end is relative to `now` (the range moves with time and refreshes make
    /// sense).
    pub fn is_relative(&self) -> bool {
        self.from.contains("now") || self.to.contains("now")
    }

    /// The preset's label when this range is one of [`PRESETS`].
    pub fn preset_label(&self) -> Option<&'static str> {
        PRESETS
            .iter()
            .find(|p| p.from == self.from && p.to == self.to)
            .map(|p| p.label)
    }
}

/// One quick range of the time picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Preset {
    /// Start expression.
    pub from: &'static str,
    /// End expression.
    pub to: &'static str,
    /// What the picker shows.
    pub label: &'static str,
}

/// The picker's relative presets, labelled as Grafana labels them
/// (`packages/grafana-data/src/datetime/rangeutil.ts`, `getBaseRangeOptions`).
pub const PRESETS: &[Preset] = &[
    Preset {
        from: "now-5m",
        to: "now",
        label: "Last 5 minutes",
    },
    Preset {
        from: "now-15m",
        to: "now",
        label: "Last 15 minutes",
    },
    Preset {
        from: "now-30m",
        to: "now",
        label: "Last 30 minutes",
    },
    Preset {
        from: "now-1h",
        to: "now",
        label: "Last 1 hour",
    },
    Preset {
        from: "now-3h",
        to: "now",
        label: "Last 3 hours",
    },
    Preset {
        from: "now-6h",
        to: "now",
        label: "Last 6 hours",
    },
    Preset {
        from: "now-12h",
        to: "now",
        label: "Last 12 hours",
    },
    Preset {
        from: "now-24h",
        to: "now",
        label: "Last 24 hours",
    },
    Preset {
        from: "now-2d",
        to: "now",
        label: "Last 2 days",
    },
    Preset {
        from: "now-7d",
        to: "now",
        label: "Last 7 days",
    },
];

/// Zooms out around the centre by Grafana's factor 2 (`getZoomedTimeRange` in
/// `public/app/core/utils/timePicker.ts`; a zero-length range becomes 30 s). Unlike Grafana,
/// the result never reaches past `now_ms` when the range did not: it is then shifted back to
/// end at `now_ms`, keeping the doubled length.
pub fn zoom_out(start_ms: i64, end_ms: i64, now_ms: i64) -> (i64, i64) {
    let span = end_ms.saturating_sub(start_ms).max(0);
    let new_span = if span == 0 {
        30 * SECOND_MS
    } else {
        span.saturating_mul(2)
    };
    // centre = end - span/2, new ends = centre ± new_span/2 (span/2 padding on each side).
    let pad = (new_span - span) / 2;
    let mut from = start_ms.saturating_sub(pad);
    let mut to = from.saturating_add(new_span);
    if to > now_ms && end_ms <= now_ms {
        to = now_ms;
        from = now_ms.saturating_sub(new_span);
    }
    (from, to)
}

/// Parses a refresh choice: `""` or `off` → `None`; a duration → its milliseconds, at least
/// [`MIN_REFRESH_MS`] (Grafana raises shorter refreshes to `min_refresh_interval`).
pub fn parse_refresh(s: &str) -> Result<Option<i64>, TimeError> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    match parse_duration(s) {
        Ok(ms) if ms > 0 => Ok(Some(ms.max(MIN_REFRESH_MS))),
        _ => Err(TimeError::InvalidRefresh(s.to_string())),
    }
}

/// Parses a Prometheus duration into milliseconds: units `y w d h m s ms` in that order, each
/// at most once (`1h30m`, `15s`, `500ms`, `0`), `y` = 365 d, as Prometheus'
/// `model.ParseDuration`. A bare number (`15`, `1.5`) is seconds, as Grafana's interval fields
/// read it (`describeInterval` in `rangeutil.ts`).
pub fn parse_duration(s: &str) -> Result<i64, TimeError> {
    let bad = || TimeError::InvalidDuration(s.to_string());
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if t == "0" {
        return Ok(0);
    }
    if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let secs: f64 = t.parse().map_err(|_| bad())?;
        let ms = (secs * 1000.0).round();
        if !ms.is_finite() || ms > i64::MAX as f64 / 2.0 {
            return Err(bad());
        }
        return Ok(ms as i64);
    }
    // Units from largest to smallest; each may appear once, in this order.
    const UNITS: [(&str, i64); 7] = [
        ("y", YEAR_MS),
        ("w", WEEK_MS),
        ("d", DAY_MS),
        ("h", HOUR_MS),
        ("m", MINUTE_MS),
        ("s", SECOND_MS),
        ("ms", 1),
    ];
    let bytes = t.as_bytes();
    let mut i = 0;
    let mut next_unit = 0;
    let mut total: i64 = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 18 {
            return Err(bad());
        }
        let n: i64 = t[start..i].parse().map_err(|_| bad())?;
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &t[unit_start..i];
        let pos = UNITS[next_unit..]
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(bad)?;
        let (_, mult) = UNITS[next_unit + pos];
        next_unit += pos + 1;
        total = n
            .checked_mul(mult)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    Ok(total)
}

/// Formats milliseconds as the shortest Prometheus duration, as `model.Duration.String()`
/// does: `90000` → `1m30s`, `0` → `0s`, years and weeks only when exact (`90d`, not `12w6d`).
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut rest = ms.unsigned_abs();
    let mut out = String::new();
    if ms < 0 {
        out.push('-');
    }
    let units: [(&str, u64, bool); 7] = [
        ("y", YEAR_MS as u64, true),
        ("w", WEEK_MS as u64, true),
        ("d", DAY_MS as u64, false),
        ("h", HOUR_MS as u64, false),
        ("m", MINUTE_MS as u64, false),
        ("s", SECOND_MS as u64, false),
        ("ms", 1, false),
    ];
    for (unit, mult, exact) in units {
        if exact && !rest.is_multiple_of(mult) {
            continue;
        }
        let v = rest / mult;
        if v > 0 {
            out.push_str(&v.to_string());
            out.push_str(unit);
            rest -= v * mult;
        }
    }
    out
}

/// Applies a panel's time overrides to a resolved range, as Grafana's
/// `applyPanelTimeOverrides` (`public/app/features/dashboard/utils/panel.ts`): a relative time
/// (`1h` or `now-1h`) replaces the range with `now-1h` to `now`; a time shift (`1h`) moves both
/// ends back by that much.
pub fn apply_panel_overrides(
    range: (i64, i64),
    relative_time: Option<&str>,
    time_shift: Option<&str>,
    now_ms: i64,
) -> Result<(i64, i64), TimeError> {
    let (mut from, mut to) = range;
    if let Some(rel) = relative_time.map(str::trim).filter(|s| !s.is_empty()) {
        let expr = if rel.starts_with("now") {
            rel.to_string()
        } else {
            format!("now-{rel}")
        };
        from = parse_time(&expr, now_ms, false)?;
        to = now_ms;
    }
    if let Some(shift) = time_shift.map(str::trim).filter(|s| !s.is_empty()) {
        let ms = parse_duration(shift)?;
        from = from.checked_sub(ms).ok_or(TimeError::Overflow)?;
        to = to.checked_sub(ms).ok_or(TimeError::Overflow)?;
    }
    if from >= to {
        return Err(TimeError::NotIncreasing {
            from_ms: from,
            to_ms: to,
        });
    }
    Ok((from, to))
}

/// Resolves one time expression against `now_ms`. `round_up` selects the end of a rounded unit
/// (`now/d` → 23:59:59.999) instead of its start, as Grafana does for a range's `to`.
pub fn parse_time(expr: &str, now_ms: i64, round_up: bool) -> Result<i64, TimeError> {
    let stripped: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
    if stripped.is_empty() {
        return Err(TimeError::Empty);
    }
    let invalid = |reason| TimeError::InvalidExpr {
        expr: expr.to_string(),
        reason,
    };
    if let Some(math) = stripped.strip_prefix("now") {
        return apply_math(math, now_ms, round_up).map_err(|e| match e {
            MathError::Overflow => TimeError::Overflow,
            MathError::Invalid(reason) => invalid(reason),
        });
    }
    if stripped.bytes().all(|b| b.is_ascii_digit()) {
        return stripped
            .parse::<i64>()
            .map_err(|_| invalid("epoch milliseconds out of range"));
    }
    parse_rfc3339(expr.trim())
        .ok_or_else(|| invalid("expected now…, epoch milliseconds or RFC 3339"))
}

enum MathError {
    Invalid(&'static str),
    Overflow,
}

fn apply_math(math: &str, mut t: i64, round_up: bool) -> Result<i64, MathError> {
    let b = math.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let op = b[i];
        i += 1;
        if !matches!(op, b'/' | b'+' | b'-') {
            return Err(MathError::Invalid("expected +, - or / after now"));
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i - start > 9 {
            return Err(MathError::Invalid("number too long"));
        }
        let n: i64 = if i == start {
            1
        } else {
            math[start..i]
                .parse()
                .map_err(|_| MathError::Invalid("bad number"))?
        };
        let Some(&unit) = b.get(i) else {
            return Err(MathError::Invalid("missing unit"));
        };
        i += 1;
        // Grafana's fiscal units (`fQ`, `fy`) use a fiscal year starting in January here.
        let unit = if unit == b'f' {
            let Some(&u) = b.get(i) else {
                return Err(MathError::Invalid("missing unit"));
            };
            i += 1;
            if !matches!(u, b'Q' | b'y') {
                return Err(MathError::Invalid("unknown fiscal unit"));
            }
            u
        } else {
            unit
        };
        if !matches!(unit, b's' | b'm' | b'h' | b'd' | b'w' | b'M' | b'Q' | b'y') {
            return Err(MathError::Invalid("unknown unit (s m h d w M Q y)"));
        }
        t = match op {
            b'/' => {
                if n != 1 {
                    return Err(MathError::Invalid("rounding takes a single unit (now/d)"));
                }
                round_to_unit(t, unit, round_up).ok_or(MathError::Overflow)?
            }
            b'+' => add_units(t, n, unit).ok_or(MathError::Overflow)?,
            _ => add_units(t, -n, unit).ok_or(MathError::Overflow)?,
        };
    }
    Ok(t)
}

fn fixed_unit_ms(unit: u8) -> Option<i64> {
    match unit {
        b's' => Some(SECOND_MS),
        b'm' => Some(MINUTE_MS),
        b'h' => Some(HOUR_MS),
        b'd' => Some(DAY_MS),
        b'w' => Some(WEEK_MS),
        _ => None,
    }
}

fn add_units(t: i64, n: i64, unit: u8) -> Option<i64> {
    if let Some(ms) = fixed_unit_ms(unit) {
        return t.checked_add(n.checked_mul(ms)?);
    }
    let months = match unit {
        b'M' => n,
        b'Q' => n.checked_mul(3)?,
        _ => n.checked_mul(12)?,
    };
    add_months(t, months)
}

/// Adds calendar months in UTC, clamping the day to the target month's length (moment.js).
fn add_months(t: i64, months: i64) -> Option<i64> {
    let days = t.div_euclid(DAY_MS);
    let ms_of_day = t.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    let total = y.checked_mul(12)?.checked_add(m - 1)?.checked_add(months)?;
    let ny = total.div_euclid(12);
    let nm = total.rem_euclid(12) + 1;
    let nd = d.min(days_in_month(ny, nm));
    days_from_civil(ny, nm, nd)
        .checked_mul(DAY_MS)?
        .checked_add(ms_of_day)
}

fn round_to_unit(t: i64, unit: u8, round_up: bool) -> Option<i64> {
    let start = match unit {
        b's' | b'm' | b'h' | b'd' => {
            let ms = fixed_unit_ms(unit)?;
            t.div_euclid(ms).checked_mul(ms)?
        }
        b'w' => {
            // ISO weeks start on Monday; 1970-01-01 was a Thursday (day 0 → weekday 3).
            let days = t.div_euclid(DAY_MS);
            let weekday = (days + 3).rem_euclid(7);
            (days - weekday).checked_mul(DAY_MS)?
        }
        _ => {
            let (y, m, _) = civil_from_days(t.div_euclid(DAY_MS));
            let first_month = match unit {
                b'M' => m,
                b'Q' => (m - 1) / 3 * 3 + 1,
                _ => 1,
            };
            days_from_civil(y, first_month, 1).checked_mul(DAY_MS)?
        }
    };
    if !round_up {
        return Some(start);
    }
    let next = match unit {
        b'M' => add_months(start, 1)?,
        b'Q' => add_months(start, 3)?,
        b'y' => add_months(start, 12)?,
        b'w' => start.checked_add(WEEK_MS)?,
        _ => start.checked_add(fixed_unit_ms(unit)?)?,
    };
    next.checked_sub(1)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fff][Z|±HH:MM]` → epoch milliseconds.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60
    {
        return None;
    }
    let mut i = 19;
    let mut ms = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &s[start..i.min(start + 3)];
        ms = frac.parse::<i64>().ok()? * 10_i64.pow(3 - frac.len() as u32);
    }
    let offset_ms = match s.get(i..)? {
        "Z" | "z" => 0,
        rest if rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':' =>
        {
            let oh = num(i + 1, 2)?;
            let om = num(i + 4, 2)?;
            let off = (oh * 60 + om) * MINUTE_MS;
            if rest.starts_with('-') { -off } else { off }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some(days * DAY_MS + h * HOUR_MS + mi * MINUTE_MS + sec * SECOND_MS + ms - offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-03-15T12:34:56.789Z
    const NOW: i64 = 1_710_506_096_789;

    #[test]
    fn relative_expressions() {
        assert_eq!(parse_time("now", NOW, false).unwrap(), NOW);
        assert_eq!(
            parse_time("now-5m", NOW, false).unwrap(),
            NOW - 5 * MINUTE_MS
        );
        assert_eq!(parse_time("now-6h", NOW, false).unwrap(), NOW - 6 * HOUR_MS);
        assert_eq!(parse_time("now-7d", NOW, false).unwrap(), NOW - 7 * DAY_MS);
        assert_eq!(parse_time("now-1w", NOW, false).unwrap(), NOW - WEEK_MS);
        assert_eq!(
            parse_time("now+30s", NOW, false).unwrap(),
            NOW + 30 * SECOND_MS
        );
        assert_eq!(parse_time("now-h", NOW, false).unwrap(), NOW - HOUR_MS);
        assert_eq!(parse_time(" now - 1h ", NOW, false).unwrap(), NOW - HOUR_MS);
        // Calendar month: 2024-03-15 → 2024-02-15, same time of day.
        let feb15 = parse_rfc3339("2024-02-15T12:34:56.789Z").unwrap();
        assert_eq!(parse_time("now-1M", NOW, false).unwrap(), feb15);
        let y2023 = parse_rfc3339("2023-03-15T12:34:56.789Z").unwrap();
        assert_eq!(parse_time("now-1y", NOW, false).unwrap(), y2023);
    }

    #[test]
    fn month_arithmetic_clamps_the_day() {
        let mar31 = parse_rfc3339("2024-03-31T00:00:00Z").unwrap();
        let feb29 = parse_rfc3339("2024-02-29T00:00:00Z").unwrap();
        assert_eq!(parse_time("now-1M", mar31, false).unwrap(), feb29);
    }

    #[test]
    fn rounding() {
        let day = parse_rfc3339("2024-03-15T00:00:00Z").unwrap();
        assert_eq!(parse_time("now/d", NOW, false).unwrap(), day);
        assert_eq!(parse_time("now/d", NOW, true).unwrap(), day + DAY_MS - 1);
        let hour = parse_rfc3339("2024-03-15T12:00:00Z").unwrap();
        assert_eq!(parse_time("now/h", NOW, false).unwrap(), hour);
        // 2024-03-15 is a Friday; the ISO week started on Monday 2024-03-11.
        let monday = parse_rfc3339("2024-03-11T00:00:00Z").unwrap();
        assert_eq!(parse_time("now/w", NOW, false).unwrap(), monday);
        let month = parse_rfc3339("2024-03-01T00:00:00Z").unwrap();
        let april = parse_rfc3339("2024-04-01T00:00:00Z").unwrap();
        assert_eq!(parse_time("now/M", NOW, false).unwrap(), month);
        assert_eq!(parse_time("now/M", NOW, true).unwrap(), april - 1);
        let yesterday = day - DAY_MS;
        assert_eq!(parse_time("now-1d/d", NOW, false).unwrap(), yesterday);
        assert!(parse_time("now/2d", NOW, false).is_err());
    }

    #[test]
    fn absolute_expressions() {
        assert_eq!(
            parse_time("1700000000000", NOW, false).unwrap(),
            1_700_000_000_000
        );
        assert_eq!(parse_time("1970-01-01T00:00:00Z", NOW, false).unwrap(), 0);
        assert_eq!(
            parse_time("2024-03-15T12:34:56.789Z", NOW, false).unwrap(),
            NOW
        );
        assert_eq!(
            parse_time("2024-03-15T14:34:56.789+02:00", NOW, false).unwrap(),
            NOW
        );
        assert_eq!(
            parse_time("2024-03-15T12:34:56.7Z", NOW, false).unwrap(),
            NOW - 89
        );
    }

    #[test]
    fn invalid_expressions() {
        for bad in [
            "",
            "tomorrow",
            "now-",
            "now-5x",
            "now*2",
            "now-99999999999h",
            "2024-13-01T00:00:00Z",
            "99999999999999999999",
        ] {
            assert!(parse_time(bad, NOW, false).is_err(), "{bad:?} should fail");
        }
        assert_eq!(
            parse_time(&format!("{}", i64::MAX), i64::MAX, false).unwrap(),
            i64::MAX
        );
        assert_eq!(
            parse_time("now+1y", i64::MAX - 1, false),
            Err(TimeError::Overflow)
        );
    }

    #[test]
    fn resolve_requires_increasing() {
        let r = TimeRange::new("now-1h", "now");
        assert_eq!(r.resolve(NOW).unwrap(), (NOW - HOUR_MS, NOW));
        assert!(matches!(
            TimeRange::new("now", "now-1h").resolve(NOW),
            Err(TimeError::NotIncreasing { .. })
        ));
        assert!(TimeRange::new("now", "now").resolve(NOW).is_err());
        // now/d .. now/d covers the whole day.
        let (a, b) = TimeRange::new("now/d", "now/d").resolve(NOW).unwrap();
        assert_eq!(b - a, DAY_MS - 1);
    }

    #[test]
    fn presets_are_valid_and_labelled() {
        assert_eq!(PRESETS.len(), 10);
        for p in PRESETS {
            let (a, b) = TimeRange::new(p.from, p.to).resolve(NOW).unwrap();
            assert!(a < b);
        }
        assert_eq!(
            TimeRange::new("now-24h", "now").preset_label(),
            Some("Last 24 hours")
        );
        assert_eq!(TimeRange::new("now-4h", "now").preset_label(), None);
    }

    #[test]
    fn zoom_out_doubles_around_the_centre() {
        assert_eq!(zoom_out(1_000, 2_000, 10_000), (500, 2_500));
        // Would reach past now: shifted back to end at now, length doubled.
        assert_eq!(zoom_out(NOW - HOUR_MS, NOW, NOW), (NOW - 2 * HOUR_MS, NOW));
        // Zero length → 30 s.
        assert_eq!(zoom_out(100_000, 100_000, NOW), (85_000, 115_000));
    }

    #[test]
    fn refresh_choices() {
        assert_eq!(parse_refresh("off").unwrap(), None);
        assert_eq!(parse_refresh("").unwrap(), None);
        let parsed: Vec<Option<i64>> = REFRESH_CHOICES
            .iter()
            .map(|c| parse_refresh(c).unwrap())
            .collect();
        assert_eq!(
            parsed,
            vec![
                None,
                Some(5_000),
                Some(10_000),
                Some(30_000),
                Some(60_000),
                Some(300_000)
            ]
        );
        assert_eq!(parse_refresh("1s").unwrap(), Some(MIN_REFRESH_MS));
        assert!(parse_refresh("soon").is_err());
        assert!(parse_refresh("0s").is_err());
    }

    #[test]
    fn durations_parse_like_prometheus() {
        assert_eq!(parse_duration("1h30m").unwrap(), 90 * MINUTE_MS);
        assert_eq!(parse_duration("15s").unwrap(), 15_000);
        assert_eq!(parse_duration("500ms").unwrap(), 500);
        assert_eq!(parse_duration("1y").unwrap(), 365 * DAY_MS);
        assert_eq!(parse_duration("2w1d").unwrap(), 15 * DAY_MS);
        assert_eq!(parse_duration("1m1ms").unwrap(), 60_001);
        assert_eq!(parse_duration("0").unwrap(), 0);
        assert_eq!(parse_duration("15").unwrap(), 15_000);
        assert_eq!(parse_duration("1.5").unwrap(), 1_500);
        for bad in [
            "",
            "m",
            "1x",
            "1m1h",
            "1s1s",
            "-1s",
            "1.5s",
            "1h 30m",
            "999999999999999999y",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn durations_format_shortest() {
        assert_eq!(format_duration(90_000), "1m30s");
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(500), "500ms");
        assert_eq!(format_duration(15_000), "15s");
        assert_eq!(format_duration(DAY_MS), "1d");
        assert_eq!(format_duration(WEEK_MS), "1w");
        assert_eq!(format_duration(90 * DAY_MS), "90d");
        assert_eq!(format_duration(YEAR_MS), "1y");
        assert_eq!(format_duration(HOUR_MS + 1), "1h1ms");
        assert_eq!(format_duration(-61_000), "-1m1s");
        for ms in [1, 999, 61_001, 3 * DAY_MS + 7, 123_456_789] {
            assert_eq!(parse_duration(&format_duration(ms)).unwrap(), ms);
        }
    }

    #[test]
    fn panel_overrides() {
        let r = (NOW - 6 * HOUR_MS, NOW);
        assert_eq!(
            apply_panel_overrides(r, Some("1h"), None, NOW).unwrap(),
            (NOW - HOUR_MS, NOW)
        );
        assert_eq!(
            apply_panel_overrides(r, Some("now-2h"), Some("1d"), NOW).unwrap(),
            (NOW - 2 * HOUR_MS - DAY_MS, NOW - DAY_MS)
        );
        assert_eq!(apply_panel_overrides(r, Some(""), None, NOW).unwrap(), r);
        assert!(apply_panel_overrides(r, None, Some("later"), NOW).is_err());
    }
}
