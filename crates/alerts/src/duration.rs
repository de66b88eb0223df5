//! The durations legacy alerts are written with.
//!
//! - `for`, the condition's `from`/`to` and a channel's reminder `frequency` are Go durations
//!   (`time.ParseDuration`: `5m`, `1h30m`, `1.5h`, `300ms`; Grafana's
//!   `pkg/services/alerting/conditions/query.go` `validateFromValue`/`validateToValue`,
//!   `extractor.go` for `for`). Prometheus' `d`, `w` and `y` read too (a superset).
//! - a rule's `frequency` is Grafana's `getTimeDurationStringToSeconds`
//!   (`pkg/services/alerting/rule.go`): leading digits with `s`, `m`, `h` or `d`, a bare number
//!   meaning seconds, zero refused. Lookout reads a full duration first, so `1m30s` is 90 s
//!   where Grafana's regex would read "1" with the unit "s".

/// Milliseconds of a Go-style duration (`5m`, `1h30m`, `1.5h`, `250ms`, `0`); no sign.
pub fn parse_go_duration(text: &str) -> Result<i64, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration".to_string());
    }
    if s == "0" {
        return Ok(0);
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total: f64 = 0.0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        if start == i {
            return Err(format!("{text:?} is not a duration (expected a number)"));
        }
        let number: f64 = s[start..i]
            .parse()
            .map_err(|_| format!("{text:?} is not a duration (bad number)"))?;
        let unit_start = i;
        while i < bytes.len() && !(bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let unit = &s[unit_start..i];
        let ms: f64 = match unit {
            "ns" => 1e-6,
            "us" | "µs" | "μs" => 1e-3,
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            "w" => 604_800_000.0,
            "y" => 31_536_000_000.0,
            "" => return Err(format!("{text:?} is not a duration (missing unit)")),
            other => {
                return Err(format!(
                    "{text:?} is not a duration (unknown unit {other:?})"
                ));
            }
        };
        total += number * ms;
    }
    if !total.is_finite() || total > 9.0e15 {
        return Err(format!("{text:?} is too long a duration"));
    }
    Ok(total.round() as i64)
}

/// Milliseconds of a rule's `frequency` (see the module docs); positive.
pub fn parse_frequency(text: &str) -> Result<i64, String> {
    let s = text.trim();
    let ms = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse::<i64>()
            .map_err(|_| format!("{text:?} is too large"))?
            .checked_mul(1_000)
            .ok_or_else(|| format!("{text:?} is too large"))?
    } else {
        parse_go_duration(s)?
    };
    if ms <= 0 {
        return Err("\"evaluate every\" cannot be zero or below".to_string());
    }
    Ok(ms)
}

/// A condition's `from` (`5m` or `now-5m`): how far back the range starts.
pub fn parse_from(text: &str) -> Result<i64, String> {
    let s = text.trim();
    parse_go_duration(s.strip_prefix("now-").unwrap_or(s))
}

/// A condition's `to` (`now`, `now-1m` or `1m`): how far back the range ends.
pub fn parse_to(text: &str) -> Result<i64, String> {
    let s = text.trim();
    if s == "now" {
        return Ok(0);
    }
    parse_go_duration(s.strip_prefix("now-").unwrap_or(s))
}

/// A duration as Grafana writes one: the largest whole unit (`15m`, `1h`, `90s`).
pub fn format_duration(ms: i64) -> String {
    if ms <= 0 {
        return "0s".to_string();
    }
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// Epoch milliseconds as RFC 3339 in UTC (`2023-11-14T22:13:20Z`, milliseconds when not whole
/// seconds), as Alertmanager's API reads times.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1_000);
    let millis = ms.rem_euclid(1_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3_600, rem % 3_600 / 60, rem % 60);
    if millis == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{millis:03}Z")
    }
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("5m"), Ok(300_000));
        assert_eq!(parse_go_duration("0m"), Ok(0));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_go_duration("1.5h"), Ok(5_400_000));
        assert_eq!(parse_go_duration("250ms"), Ok(250));
        assert_eq!(parse_go_duration("2d"), Ok(172_800_000));
        assert!(parse_go_duration("").is_err());
        assert!(parse_go_duration("5").is_err());
        assert!(parse_go_duration("m").is_err());
        assert!(parse_go_duration("5x").is_err());
        assert!(parse_go_duration("-5m").is_err());
    }

    #[test]
    fn frequencies_and_ranges() {
        assert_eq!(parse_frequency("60s"), Ok(60_000));
        assert_eq!(parse_frequency("1m"), Ok(60_000));
        assert_eq!(parse_frequency("10"), Ok(10_000));
        assert_eq!(parse_frequency("1m30s"), Ok(90_000));
        assert!(parse_frequency("0s").is_err());
        assert!(parse_frequency("soon").is_err());
        assert_eq!(parse_from("5m"), Ok(300_000));
        assert_eq!(parse_from("now-10m"), Ok(600_000));
        assert_eq!(parse_to("now"), Ok(0));
        assert_eq!(parse_to("now-1m"), Ok(60_000));
        assert_eq!(parse_to("1m"), Ok(60_000));
        assert!(parse_to("later").is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(900_000), "15m");
        assert_eq!(format_duration(90_000), "90s");
        assert_eq!(format_duration(86_400_000), "1d");
        assert_eq!(format_duration(1_500), "1500ms");
        assert_eq!(rfc3339(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
    }
}
