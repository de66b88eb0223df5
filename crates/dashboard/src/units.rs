//! Value formatting with Grafana's unit ids and output
//! (`packages/grafana-data/src/valueFormats/`: `valueFormats.ts` for `toFixed`, automatic
//! decimals and `scaledUnits`; `categories.ts` for the ids; `symbolFormatters.ts` for SI and
//! binary prefixes; `dateTimeFormatters.ts` for time units; `arithmeticFormatters.ts` for
//! percent).
//!
//! - Automatic decimals (`decimals: None`) are Grafana's `getDecimalsForValue`: none for whole
//!   numbers, otherwise three significant digits (`4.2` → `4.20`, `0.0042` → `0.00420`,
//!   `123.4` → `123`), applied to the value after scaling.
//! - Numbers print as JavaScript prints them (`1e+21`, `1e-7`), rounded half up.
//! - Unknown ids are custom units written after the value (`5 widgets`), as Grafana does;
//!   `prefix:X`, `suffix:X`, `si:X` and `count:X` work as in Grafana.
//! - Non-finite values print as `NaN`, `∞` and `-∞`, without a unit.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A formatted value: `prefix + text + suffix` is what Grafana shows; panels may style the
/// parts differently (a stat panel draws the suffix smaller).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FormattedValue {
    /// Before the number (`$`).
    pub prefix: String,
    /// The number.
    pub text: String,
    /// After the number, with its leading space (` ms`, ` KiB`, `%`).
    pub suffix: String,
}

impl fmt::Display for FormattedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.prefix, self.text, self.suffix)
    }
}

impl FormattedValue {
    fn text(text: String) -> Self {
        Self {
            text,
            ..Self::default()
        }
    }

    fn with_suffix(text: String, suffix: &str) -> Self {
        Self {
            prefix: String::new(),
            text,
            suffix: suffix.to_string(),
        }
    }
}

const SI_PREFIXES: [&str; 14] = [
    "f", "p", "n", "\u{b5}", "m", "", "k", "M", "G", "T", "P", "E", "Z", "Y",
];
const SI_BASE_INDEX: i32 = 5;
const BIN_PREFIXES: [&str; 9] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"];
const SHORT: [&str; 9] = [
    "", " K", " Mil", " Bil", " Tri", " Quadr", " Quint", " Sext", " Sept",
];
const COUNT: [&str; 5] = ["", "K", "M", "B", "T"];

enum Kind {
    /// `toFixedUnit`: the value, then ` unit` (nothing for an empty unit).
    Fixed(&'static str),
    Short,
    Percent,
    PercentUnit,
    /// SI prefixes, factor 1000, starting `offset` prefixes from none.
    Si(&'static str, i32),
    /// IEC prefixes, factor 1024.
    Binary(&'static str, i32),
    /// `simpleCountUnit`: K, M, B, T then ` symbol`.
    Count(&'static str),
    Nanoseconds,
    Microseconds,
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
    Days,
}

fn kind(unit: &str) -> Option<Kind> {
    use Kind::*;
    Some(match unit {
        "" | "none" => Fixed(""),
        "short" => Short,
        "sishort" => Si("", 0),
        "percent" => Percent,
        "percentunit" => PercentUnit,
        "humidity" => Fixed("%H"),
        "dB" => Fixed("dB"),
        "pixel" => Fixed("px"),
        "celsius" => Fixed("°C"),
        "fahrenheit" => Fixed("°F"),
        "kelvin" => Fixed("K"),
        "degree" => Fixed("°"),
        // Data
        "bytes" => Binary("B", 0),
        "bits" => Binary("b", 0),
        "kbytes" => Binary("B", 1),
        "mbytes" => Binary("B", 2),
        "gbytes" => Binary("B", 3),
        "tbytes" => Binary("B", 4),
        "pbytes" => Binary("B", 5),
        "decbytes" => Si("B", 0),
        "decbits" => Si("b", 0),
        "deckbytes" => Si("B", 1),
        "decmbytes" => Si("B", 2),
        "decgbytes" => Si("B", 3),
        "dectbytes" => Si("B", 4),
        "decpbytes" => Si("B", 5),
        // Data rate
        "pps" => Si("p/s", 0),
        "binBps" => Binary("B/s", 0),
        "Bps" => Si("B/s", 0),
        "binbps" => Binary("b/s", 0),
        "bps" => Si("b/s", 0),
        "KiBs" => Binary("B/s", 1),
        "KBs" => Si("B/s", 1),
        "MiBs" => Binary("B/s", 2),
        "MBs" => Si("B/s", 2),
        "GiBs" => Binary("B/s", 3),
        "GBs" => Si("B/s", 3),
        "Kbits" => Si("b/s", 1),
        "Mbits" => Si("b/s", 2),
        "Gbits" => Si("b/s", 3),
        // Time
        "hertz" => Si("Hz", 0),
        "ns" => Nanoseconds,
        "\u{b5}s" => Microseconds,
        "ms" => Milliseconds,
        "s" => Seconds,
        "m" => Minutes,
        "h" => Hours,
        "d" => Days,
        // Throughput
        "cps" => Count("c/s"),
        "ops" => Count("ops/s"),
        "reqps" => Count("req/s"),
        "rps" => Count("rd/s"),
        "wps" => Count("wr/s"),
        "iops" => Count("io/s"),
        "eps" => Count("evt/s"),
        "mps" => Count("msg/s"),
        "cpm" => Count("c/m"),
        "opm" => Count("ops/m"),
        "reqpm" => Count("req/m"),
        // Energy and friends
        "watt" => Si("W", 0),
        "kwatt" => Si("W", 1),
        "volt" => Si("V", 0),
        "amp" => Si("A", 0),
        "joule" => Si("J", 0),
        _ => return None,
    })
}

/// Formats `v` in `unit` (a Grafana unit id) with fixed `decimals`, or Grafana's automatic
/// decimals when `None`. Decimals above 100 count as 100.
pub fn format_value(v: f64, unit: &str, decimals: Option<u32>) -> FormattedValue {
    if !v.is_finite() {
        return FormattedValue::text(non_finite(v));
    }
    let decimals = decimals.map(|d| d.min(100));
    let Some(k) = kind(unit) else {
        return custom(v, unit, decimals);
    };
    match k {
        Kind::Fixed(u) => fixed_unit(v, u, decimals),
        Kind::Short => scaled_units(v, decimals, 1000.0, &SHORT, 0),
        Kind::Percent => FormattedValue::with_suffix(to_fixed(v, decimals), "%"),
        Kind::PercentUnit => FormattedValue::with_suffix(to_fixed(100.0 * v, decimals), "%"),
        Kind::Si(u, offset) => si_prefix(v, decimals, u, offset),
        Kind::Binary(u, offset) => {
            let ext: Vec<String> = BIN_PREFIXES.iter().map(|p| format!(" {p}{u}")).collect();
            let ext: Vec<&str> = ext.iter().map(String::as_str).collect();
            scaled_units(v, decimals, 1024.0, &ext, offset)
        }
        Kind::Count(symbol) => count_unit(v, decimals, symbol),
        Kind::Nanoseconds => nanoseconds(v, decimals),
        Kind::Microseconds => microseconds(v, decimals),
        Kind::Milliseconds => milliseconds(v, decimals),
        Kind::Seconds => seconds(v, decimals),
        Kind::Minutes => minutes(v, decimals),
        Kind::Hours => hours(v, decimals),
        Kind::Days => days(v, decimals),
    }
}

/// `prefix:X`, `suffix:X`, `si:X`, `count:X`, else the id itself as a suffix.
fn custom(v: f64, unit: &str, decimals: Option<u32>) -> FormattedValue {
    if let Some((key, sub)) = unit.split_once(':').filter(|(k, _)| !k.is_empty()) {
        match key {
            "prefix" => {
                return FormattedValue {
                    prefix: sub.to_string(),
                    text: to_fixed(v, decimals),
                    suffix: String::new(),
                };
            }
            "suffix" => return fixed_unit(v, sub, decimals),
            "si" => {
                let first = sub.chars().next().map(String::from).unwrap_or_default();
                let offset = SI_PREFIXES
                    .iter()
                    .position(|p| *p == first || (first == "\u{3bc}" && *p == "\u{b5}"))
                    .map_or(0, |i| i as i32 - SI_BASE_INDEX);
                let base = if offset == 0 {
                    sub
                } else {
                    &sub[first.len()..]
                };
                return si_prefix(v, decimals, base, offset);
            }
            "count" => return count_unit(v, decimals, sub),
            _ => {}
        }
    }
    fixed_unit(v, unit, decimals)
}

fn non_finite(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v > 0.0 {
        "\u{221e}".to_string()
    } else {
        "-\u{221e}".to_string()
    }
}

fn fixed_unit(v: f64, unit: &str, decimals: Option<u32>) -> FormattedValue {
    let text = to_fixed(v, decimals);
    if unit.is_empty() {
        FormattedValue::text(text)
    } else {
        FormattedValue::with_suffix(text, &format!(" {unit}"))
    }
}

fn si_prefix(v: f64, decimals: Option<u32>, unit: &str, offset: i32) -> FormattedValue {
    let ext: Vec<String> = SI_PREFIXES.iter().map(|p| format!(" {p}{unit}")).collect();
    let ext: Vec<&str> = ext.iter().map(String::as_str).collect();
    scaled_units(v, decimals, 1000.0, &ext, SI_BASE_INDEX + offset)
}

fn count_unit(v: f64, decimals: Option<u32>, symbol: &str) -> FormattedValue {
    let mut f = scaled_units(v, decimals, 1000.0, &COUNT, 0);
    f.suffix.push(' ');
    f.suffix.push_str(symbol);
    f
}

/// Grafana's `scaledUnits`: picks `ext[offset + ⌊log_factor |v|⌋]` (clamped to the list) and
/// divides by the matching power of `factor`.
fn scaled_units(
    v: f64,
    decimals: Option<u32>,
    factor: f64,
    ext: &[&str],
    offset: i32,
) -> FormattedValue {
    if !v.is_finite() {
        return FormattedValue::text(non_finite(v));
    }
    let len = ext.len() as i32;
    let si_index = if v == 0.0 {
        0
    } else {
        let idx = (v.abs().log10() / factor.log10()).floor();
        idx.clamp(-1000.0, 1000.0) as i32
    };
    let suffix = ext
        .get((offset + si_index).clamp(0, len - 1) as usize)
        .copied()
        .unwrap_or("");
    let power = si_index.clamp(-offset, len - offset - 1);
    FormattedValue::with_suffix(to_fixed(v / factor.powi(power), decimals), suffix)
}

/// `toFixedScaled`: the text, and the unit pluralised (` mins`, ` hours`, ` days`, ` weeks`,
/// ` years`) when the scaled value is above 1 in magnitude (Grafana 10.3+).
fn to_fixed_scaled(v: f64, decimals: Option<u32>, ext: &str) -> FormattedValue {
    let plural = v.abs() > 1.0 && matches!(ext, " min" | " hour" | " day" | " week" | " year");
    let suffix = if plural {
        format!("{ext}s")
    } else {
        ext.to_string()
    };
    FormattedValue::with_suffix(to_fixed(v, decimals), &suffix)
}

fn nanoseconds(v: f64, d: Option<u32>) -> FormattedValue {
    let a = v.abs();
    if a < 1e3 {
        FormattedValue::with_suffix(to_fixed(v, d), " ns")
    } else if a < 1e6 {
        to_fixed_scaled(v / 1e3, d, " \u{b5}s")
    } else if a < 1e9 {
        to_fixed_scaled(v / 1e6, d, " ms")
    } else if a < 6e10 {
        to_fixed_scaled(v / 1e9, d, " s")
    } else if a < 3.6e12 {
        to_fixed_scaled(v / 6e10, d, " min")
    } else if a < 8.64e13 {
        to_fixed_scaled(v / 3.6e12, d, " hour")
    } else {
        to_fixed_scaled(v / 8.64e13, d, " day")
    }
}

fn microseconds(v: f64, d: Option<u32>) -> FormattedValue {
    let a = v.abs();
    if a < 1e3 {
        FormattedValue::with_suffix(to_fixed(v, d), " \u{b5}s")
    } else if a < 1e6 {
        to_fixed_scaled(v / 1e3, d, " ms")
    } else {
        to_fixed_scaled(v / 1e6, d, " s")
    }
}

fn milliseconds(v: f64, d: Option<u32>) -> FormattedValue {
    let a = v.abs();
    if a < 1e3 {
        FormattedValue::with_suffix(to_fixed(v, d), " ms")
    } else if a < 60_000.0 {
        to_fixed_scaled(v / 1e3, d, " s")
    } else if a < 3_600_000.0 {
        to_fixed_scaled(v / 60_000.0, d, " min")
    } else if a < 86_400_000.0 {
        to_fixed_scaled(v / 3_600_000.0, d, " hour")
    } else if a < 31_536_000_000.0 {
        to_fixed_scaled(v / 86_400_000.0, d, " day")
    } else {
        to_fixed_scaled(v / 31_536_000_000.0, d, " year")
    }
}

fn seconds(v: f64, d: Option<u32>) -> FormattedValue {
    let a = v.abs();
    if v == 0.0 {
        FormattedValue::with_suffix("0".to_string(), " s")
    } else if a < 1e-6 {
        to_fixed_scaled(v * 1e9, d, " ns")
    } else if a < 1e-3 {
        to_fixed_scaled(v * 1e6, d, " \u{b5}s")
    } else if a < 1.0 {
        to_fixed_scaled(v * 1e3, d, " ms")
    } else if a < 60.0 {
        FormattedValue::with_suffix(to_fixed(v, d), " s")
    } else if a < 3600.0 {
        to_fixed_scaled(v / 60.0, d, " min")
    } else if a < 86_400.0 {
        to_fixed_scaled(v / 3600.0, d, " hour")
    } else if a < 604_800.0 {
        to_fixed_scaled(v / 86_400.0, d, " day")
    } else if a < 31_536_000.0 {
        to_fixed_scaled(v / 604_800.0, d, " week")
    } else {
        to_fixed_scaled(v / 3.15569e7, d, " year")
    }
}

fn minutes(v: f64, d: Option<u32>) -> FormattedValue {
    let a = v.abs();
    if a < 60.0 {
        FormattedValue::with_suffix(to_fixed(v, d), " min")
    } else if a < 1440.0 {
        to_fixed_scaled(v / 60.0, d, " hour")
    } else if a < 10_080.0 {
        to_fixed_scaled(v / 1440.0, d, " day")
    } else if a < 604_800.0 {
        to_fixed_scaled(v / 10_080.0, d, " week")
    } else {
        to_fixed_scaled(v / 5.25948e5, d, " year")
    }
}

fn hours(v: f64, d: Option<u32>) -> FormattedValue {
    let a = v.abs();
    if a < 24.0 {
        FormattedValue::with_suffix(to_fixed(v, d), " hour")
    } else if a < 168.0 {
        to_fixed_scaled(v / 24.0, d, " day")
    } else if a < 8760.0 {
        to_fixed_scaled(v / 168.0, d, " week")
    } else {
        to_fixed_scaled(v / 8760.0, d, " year")
    }
}

fn days(v: f64, d: Option<u32>) -> FormattedValue {
    let a = v.abs();
    if a < 7.0 {
        FormattedValue::with_suffix(to_fixed(v, d), " day")
    } else if a < 365.0 {
        to_fixed_scaled(v / 7.0, d, " week")
    } else {
        to_fixed_scaled(v / 365.0, d, " year")
    }
}

/// Grafana's `toFixed`: `v` rounded half up to `decimals` (automatic when `None`), padded with
/// zeros, printed as JavaScript prints numbers.
pub fn to_fixed(v: f64, decimals: Option<u32>) -> String {
    if !v.is_finite() {
        return non_finite(v);
    }
    let d = decimals.map_or_else(|| decimals_for_value(v), |d| d.min(100));
    if v == 0.0 {
        return format!("{:.*}", d as usize, 0.0);
    }
    let factor = if d > 0 { pow10(d) } else { 1.0 };
    let scaled = v * factor;
    if !scaled.is_finite() {
        return js_number(v);
    }
    let formatted = js_number(js_round(scaled) / factor);
    if formatted.contains('e') {
        return formatted;
    }
    let precision = formatted.find('.').map_or(0, |p| formatted.len() - p - 1);
    if precision < d as usize {
        let mut out = formatted;
        if precision == 0 {
            out.push('.');
        }
        out.extend(std::iter::repeat_n('0', d as usize - precision));
        return out;
    }
    formatted
}

/// Grafana's `getDecimalsForValue`: 0 for whole numbers, else enough for three significant
/// digits (its `norm` is always above 2.25, so the "extra decimal" always applies).
fn decimals_for_value(v: f64) -> u32 {
    if v.fract() == 0.0 {
        return 0;
    }
    let abs = v.abs();
    let log10 = (abs.ln() / std::f64::consts::LN_10).floor();
    let mut dec = -log10 + 1.0;
    let magn = 10f64.powf(-dec);
    if abs / magn > 2.25 {
        dec += 1.0;
    }
    dec.clamp(0.0, 100.0) as u32
}

/// `10^d`, correctly rounded.
fn pow10(d: u32) -> f64 {
    format!("1e{d}").parse().unwrap_or(f64::INFINITY)
}

/// JavaScript's `Math.round`: half up (towards +∞).
fn js_round(x: f64) -> f64 {
    let f = x.floor();
    if x - f >= 0.5 { f + 1.0 } else { f }
}

/// JavaScript's `String(number)` for finite numbers: shortest round-trip digits, exponent
/// form from 1e21 up and below 1e-6.
fn js_number(x: f64) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    let a = x.abs();
    if (1e-6..1e21).contains(&a) {
        return format!("{x}");
    }
    let s = format!("{x:e}");
    match s.split_once('e') {
        Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64, unit: &str, decimals: Option<u32>) -> String {
        format_value(v, unit, decimals).to_string()
    }

    #[test]
    fn to_fixed_like_grafana() {
        // valueFormats.test.ts
        assert_eq!(to_fixed(100.0, None), "100");
        assert_eq!(to_fixed(100.4, None), "100");
        assert_eq!(to_fixed(100.5, None), "101");
        assert_eq!(to_fixed(100.0, Some(1)), "100.0");
        assert_eq!(to_fixed(100.37, Some(1)), "100.4");
        assert_eq!(to_fixed(100.63, Some(1)), "100.6");
        assert_eq!(to_fixed(100.4, Some(2)), "100.40");
        assert_eq!(to_fixed(100.5, Some(2)), "100.50");
        assert_eq!(to_fixed(f64::NAN, None), "NaN");
        // Automatic decimals: three significant digits.
        assert_eq!(to_fixed(4.2, None), "4.20");
        assert_eq!(to_fixed(0.0042, None), "0.00420");
        assert_eq!(to_fixed(0.5, None), "0.500");
        assert_eq!(to_fixed(123.4, None), "123");
        assert_eq!(to_fixed(12.345, None), "12.3");
        assert_eq!(to_fixed(-1.5, None), "-1.50");
        assert_eq!(to_fixed(0.0, Some(2)), "0.00");
        assert_eq!(to_fixed(-0.0001, Some(2)), "0.00");
        assert_eq!(to_fixed(-2.5, Some(0)), "-2");
        assert_eq!(to_fixed(1e21, None), "1e+21");
        assert_eq!(to_fixed(1e-7, None), "1e-7");
        assert_eq!(to_fixed(1.005, Some(2)), "1.00");
        assert_eq!(to_fixed(1e300, Some(100)), "1e+300");
    }

    #[test]
    fn grafana_test_table() {
        // valueFormats.test.ts (modern: time units pluralised since Grafana 10.3).
        assert_eq!(f(0.0024, "ms", Some(4)), "0.0024 ms");
        assert_eq!(f(100.0, "ms", Some(0)), "100 ms");
        assert_eq!(f(1250.0, "ms", Some(2)), "1.25 s");
        assert_eq!(f(10_000_086.123, "ms", Some(1)), "2.8 hours");
        assert_eq!(f(1200.0, "ms", Some(0)), "1 s");
        assert_eq!(f(10_000_000.0, "kbytes", Some(3)), "9.537 GiB");
        assert_eq!(f(10_000_000.0, "deckbytes", Some(3)), "10.000 GB");
    }

    #[test]
    fn short_and_none() {
        assert_eq!(f(0.0, "short", None), "0");
        assert_eq!(f(12.0, "short", None), "12");
        assert_eq!(f(1234.0, "short", None), "1.23 K");
        assert_eq!(f(98_765.0, "short", Some(0)), "99 K");
        assert_eq!(f(9_876_543.0, "short", None), "9.88 Mil");
        assert_eq!(f(-2_500_000_000.0, "short", None), "-2.50 Bil");
        assert_eq!(f(0.5, "short", None), "0.500");
        assert_eq!(f(5.4321, "none", None), "5.43");
        assert_eq!(f(5.4321, "", Some(3)), "5.432");
        assert_eq!(f(1e30, "short", None), "1000000 Sept");
    }

    #[test]
    fn percent_units() {
        assert_eq!(f(45.678, "percent", None), "45.7%");
        assert_eq!(f(0.4567, "percentunit", None), "45.7%");
        assert_eq!(f(0.5, "percentunit", Some(0)), "50%");
        assert_eq!(f(100.0, "percent", None), "100%");
    }

    #[test]
    fn time_units_scale_up_and_down() {
        assert_eq!(f(0.0042, "s", None), "4.20 ms");
        assert_eq!(f(0.0000042, "s", None), "4.20 \u{b5}s");
        assert_eq!(f(4.2e-9, "s", None), "4.20 ns");
        assert_eq!(f(0.0, "s", None), "0 s");
        assert_eq!(f(42.0, "s", None), "42 s");
        assert_eq!(f(90.0, "s", None), "1.50 mins");
        assert_eq!(f(60.0, "s", None), "1 min");
        assert_eq!(f(7200.0, "s", None), "2 hours");
        assert_eq!(f(3.0 * 86_400.0, "s", Some(1)), "3.0 days");
        assert_eq!(f(1_209_600.0, "s", None), "2 weeks");
        assert_eq!(f(999.0, "ms", None), "999 ms");
        assert_eq!(f(1500.0, "ms", None), "1.50 s");
        assert_eq!(f(-1500.0, "ms", None), "-1.50 s");
        assert_eq!(f(1500.0, "\u{b5}s", None), "1.50 ms");
        assert_eq!(f(2_500_000.0, "\u{b5}s", None), "2.50 s");
        assert_eq!(f(1500.0, "ns", None), "1.50 \u{b5}s");
        assert_eq!(f(90.0, "m", None), "1.50 hours");
        assert_eq!(f(36.0, "h", None), "1.50 days");
        assert_eq!(f(14.0, "d", None), "2 weeks");
    }

    #[test]
    fn data_units() {
        assert_eq!(f(0.0, "bytes", None), "0 B");
        assert_eq!(f(512.0, "bytes", None), "512 B");
        assert_eq!(f(1536.0, "bytes", None), "1.50 KiB");
        assert_eq!(f(1_048_576.0, "bytes", None), "1 MiB");
        assert_eq!(f(1500.0, "decbytes", None), "1.50 kB");
        assert_eq!(f(2_000_000.0, "decbytes", None), "2 MB");
        assert_eq!(f(0.5, "decbytes", None), "500 mB");
        assert_eq!(f(1e9, "bps", None), "1 Gb/s");
        assert_eq!(f(1500.0, "hertz", None), "1.50 kHz");
    }

    #[test]
    fn throughput_units() {
        assert_eq!(f(5.0, "reqps", None), "5 req/s");
        assert_eq!(f(1500.0, "reqps", None), "1.50K req/s");
        assert_eq!(f(2.5, "ops", None), "2.50 ops/s");
        assert_eq!(f(3e6, "ops", None), "3M ops/s");
    }

    #[test]
    fn custom_units_and_non_finite() {
        assert_eq!(f(5.0, "widgets", None), "5 widgets");
        assert_eq!(f(5.0, "prefix:$", None), "$5");
        assert_eq!(f(5.0, "suffix:req", None), "5 req");
        assert_eq!(f(1500.0, "si:mW", None), "1.50 W");
        assert_eq!(f(2000.0, "count:img", None), "2K img");
        assert_eq!(f(f64::NAN, "ms", None), "NaN");
        assert_eq!(f(f64::INFINITY, "bytes", None), "\u{221e}");
        assert_eq!(f(f64::NEG_INFINITY, "short", None), "-\u{221e}");
        let parts = format_value(1536.0, "bytes", None);
        assert_eq!(
            (
                parts.prefix.as_str(),
                parts.text.as_str(),
                parts.suffix.as_str()
            ),
            ("", "1.50", " KiB")
        );
        assert_eq!(f(1.0, "none", Some(u32::MAX)).len(), 102);
    }
}
