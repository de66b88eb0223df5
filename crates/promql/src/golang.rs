//! Go's semantics where Prometheus 2.42 (Go 1.19, linux/amd64, as Debian builds it) leans on
//! them and Rust's standard library differs: `math.Max`/`math.Min` (NaN wins, `±0` ordered),
//! float-to-int64 conversion (NaN and overflow give `math.MinInt64` on amd64), `sort.Sort`
//! (Go 1.19's pdqsort: unstable, so ties and NaN land where Go puts them),
//! `sort.Search`, `strconv.ParseFloat`, `fmt`'s `%v`/`%f` for floats, and the civil-time
//! arithmetic of package `time` behind the date functions.

/// Go's `math.Max`: `+Inf` if either is `+Inf`, else NaN if either is NaN; `Max(+0, -0) = +0`.
pub fn max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { y } else { x };
    }
    if x > y { x } else { y }
}

/// Go's `math.Min`: `-Inf` if either is `-Inf`, else NaN if either is NaN; `Min(-0, +0) = -0`.
pub fn min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { x } else { y };
    }
    if x < y { x } else { y }
}

/// Go's `int64(f)` on amd64 (`CVTTSD2SQ`): truncation toward zero; NaN and values outside
/// the int64 range give `math.MinInt64` (Rust's `as` saturates and maps NaN to 0).
pub fn f64_to_i64(f: f64) -> i64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || !(-TWO63..TWO63).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// Go's `sort.Search(n, f)`: the smallest index in `[0, n)` at which `f` is true (`n` if
/// none), by Go's own bisection, which matters when `f` is not monotonic (NaN).
pub fn search(n: usize, f: impl Fn(usize) -> bool) -> usize {
    let (mut i, mut j) = (0usize, n);
    while i < j {
        let h = i + (j - i) / 2;
        if !f(h) {
            i = h + 1;
        } else {
            j = h;
        }
    }
    i
}

/// Go 1.19's `sort.Sort` (pattern-defeating quicksort, not stable) over `data` with Go's
/// `Less(i, j)` as `less(&data[i], &data[j])`. With an inconsistent `less` (NaN), elements
/// end up exactly where Go leaves them.
pub fn sort<T>(data: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let n = data.len();
    if n <= 1 {
        return;
    }
    let limit = bits_len(n);
    let mut s = Sorter { data, less: &less };
    s.pdqsort(0, n, limit);
}

/// `bits.Len(uint(n))`: the number of bits needed to represent `n`.
fn bits_len(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()) as usize
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hint {
    Unknown,
    Increasing,
    Decreasing,
}

struct Sorter<'a, T, F: Fn(&T, &T) -> bool> {
    data: &'a mut [T],
    less: &'a F,
}

impl<T, F: Fn(&T, &T) -> bool> Sorter<'_, T, F> {
    fn less(&self, i: usize, j: usize) -> bool {
        (self.less)(&self.data[i], &self.data[j])
    }

    fn swap(&mut self, i: usize, j: usize) {
        self.data.swap(i, j);
    }

    fn insertion_sort(&mut self, a: usize, b: usize) {
        for i in a + 1..b {
            let mut j = i;
            while j > a && self.less(j, j - 1) {
                self.swap(j, j - 1);
                j -= 1;
            }
        }
    }

    fn sift_down(&mut self, lo: usize, hi: usize, first: usize) {
        let mut root = lo;
        loop {
            let mut child = 2 * root + 1;
            if child >= hi {
                break;
            }
            if child + 1 < hi && self.less(first + child, first + child + 1) {
                child += 1;
            }
            if !self.less(first + root, first + child) {
                return;
            }
            self.swap(first + root, first + child);
            root = child;
        }
    }

    fn heap_sort(&mut self, a: usize, b: usize) {
        let first = a;
        let hi = b - a;
        let mut i = (hi as isize - 1) / 2;
        while i >= 0 {
            self.sift_down(i as usize, hi, first);
            i -= 1;
        }
        let mut i = hi as isize - 1;
        while i >= 0 {
            self.swap(first, first + i as usize);
            self.sift_down(0, i as usize, first);
            i -= 1;
        }
    }

    fn pdqsort(&mut self, mut a: usize, mut b: usize, mut limit: usize) {
        const MAX_INSERTION: usize = 12;
        let mut was_balanced = true;
        let mut was_partitioned = true;
        loop {
            let length = b - a;
            if length <= MAX_INSERTION {
                self.insertion_sort(a, b);
                return;
            }
            if limit == 0 {
                self.heap_sort(a, b);
                return;
            }
            if !was_balanced {
                self.break_patterns(a, b);
                limit -= 1;
            }
            let (mut pivot, mut hint) = self.choose_pivot(a, b);
            if hint == Hint::Decreasing {
                self.reverse_range(a, b);
                pivot = (b - 1) - (pivot - a);
                hint = Hint::Increasing;
            }
            if was_balanced
                && was_partitioned
                && hint == Hint::Increasing
                && self.partial_insertion_sort(a, b)
            {
                return;
            }
            if a > 0 && !self.less(a - 1, pivot) {
                let mid = self.partition_equal(a, b, pivot);
                a = mid;
                continue;
            }
            let (mid, already) = self.partition(a, b, pivot);
            was_partitioned = already;
            let (left_len, right_len) = (mid - a, b - mid);
            let balance_threshold = length / 8;
            if left_len < right_len {
                was_balanced = left_len >= balance_threshold;
                self.pdqsort(a, mid, limit);
                a = mid + 1;
            } else {
                was_balanced = right_len >= balance_threshold;
                self.pdqsort(mid + 1, b, limit);
                b = mid;
            }
        }
    }

    fn partition(&mut self, a: usize, b: usize, pivot: usize) -> (usize, bool) {
        self.swap(a, pivot);
        // i and j are inclusive; j may step below a + 1 (to a), never below a.
        let (mut i, mut j) = (a + 1, b - 1);
        while i <= j && self.less(i, a) {
            i += 1;
        }
        while i <= j && !self.less(j, a) {
            j -= 1;
        }
        if i > j {
            self.swap(j, a);
            return (j, true);
        }
        self.swap(i, j);
        i += 1;
        j -= 1;
        loop {
            while i <= j && self.less(i, a) {
                i += 1;
            }
            while i <= j && !self.less(j, a) {
                j -= 1;
            }
            if i > j {
                break;
            }
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
        self.swap(j, a);
        (j, false)
    }

    fn partition_equal(&mut self, a: usize, b: usize, pivot: usize) -> usize {
        self.swap(a, pivot);
        let (mut i, mut j) = (a + 1, b - 1);
        loop {
            while i <= j && !self.less(a, i) {
                i += 1;
            }
            while i <= j && self.less(a, j) {
                j -= 1;
            }
            if i > j {
                break;
            }
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
        i
    }

    fn partial_insertion_sort(&mut self, a: usize, b: usize) -> bool {
        const MAX_STEPS: usize = 5;
        const SHORTEST_SHIFTING: usize = 50;
        let mut i = a + 1;
        for _ in 0..MAX_STEPS {
            while i < b && !self.less(i, i - 1) {
                i += 1;
            }
            if i == b {
                return true;
            }
            if b - a < SHORTEST_SHIFTING {
                return false;
            }
            self.swap(i, i - 1);
            // Shift the smaller one to the left.
            if i - a >= 2 {
                let mut j = i - 1;
                while j >= 1 {
                    if !self.less(j, j - 1) {
                        break;
                    }
                    self.swap(j, j - 1);
                    j -= 1;
                }
            }
            // Shift the greater one to the right.
            if b - i >= 2 {
                let mut j = i + 1;
                while j < b {
                    if !self.less(j, j - 1) {
                        break;
                    }
                    self.swap(j, j - 1);
                    j += 1;
                }
            }
        }
        false
    }

    fn break_patterns(&mut self, a: usize, b: usize) {
        let length = b - a;
        if length >= 8 {
            // Go 1.19's xorshift, seeded with the length.
            let mut random = length as u64;
            let modulus = 1usize << bits_len(length);
            let start = a + (length / 4) * 2 - 1;
            for idx in start..=a + (length / 4) * 2 + 1 {
                random ^= random << 13;
                random ^= random >> 17;
                random ^= random << 5;
                let mut other = (random as usize) & (modulus - 1);
                if other >= length {
                    other -= length;
                }
                self.swap(idx, a + other);
            }
        }
    }

    fn choose_pivot(&mut self, a: usize, b: usize) -> (usize, Hint) {
        const SHORTEST_NINTHER: usize = 50;
        const MAX_SWAPS: usize = 4 * 3;
        let l = b - a;
        let mut swaps = 0usize;
        let mut i = a + l / 4;
        let mut j = a + l / 4 * 2;
        let mut k = a + l / 4 * 3;
        if l >= 8 {
            if l >= SHORTEST_NINTHER {
                i = self.median(i - 1, i, i + 1, &mut swaps);
                j = self.median(j - 1, j, j + 1, &mut swaps);
                k = self.median(k - 1, k, k + 1, &mut swaps);
            }
            j = self.median(i, j, k, &mut swaps);
        }
        match swaps {
            0 => (j, Hint::Increasing),
            MAX_SWAPS => (j, Hint::Decreasing),
            _ => (j, Hint::Unknown),
        }
    }

    fn order2(&self, a: usize, b: usize, swaps: &mut usize) -> (usize, usize) {
        if self.less(b, a) {
            *swaps += 1;
            (b, a)
        } else {
            (a, b)
        }
    }

    fn median(&self, a: usize, b: usize, c: usize, swaps: &mut usize) -> usize {
        let (a, b) = self.order2(a, b, swaps);
        let (b, _c) = self.order2(b, c, swaps);
        let (_a, b) = self.order2(a, b, swaps);
        b
    }

    fn reverse_range(&mut self, a: usize, b: usize) {
        let (mut i, mut j) = (a, b - 1);
        while i < j {
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
    }
}

/// Go's `strconv.ParseFloat(s, 64)` where it succeeds (`None` for a syntax or range error):
/// `inf`/`infinity`/`nan` in any case (a sign only before the infinities), decimal with
/// `_` between digits, hexadecimal mantissas with a mandatory `p` exponent; an overflow to
/// ±Inf is an error.
pub fn parse_float(s: &str) -> Option<f64> {
    if let Some(v) = special(s) {
        return Some(v);
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut neg = false;
    match b.first() {
        Some(b'+') => i += 1,
        Some(b'-') => {
            neg = true;
            i += 1;
        }
        Some(_) => {}
        None => return None,
    }
    let hex = i + 2 < b.len() && b[i] == b'0' && b[i + 1].eq_ignore_ascii_case(&b'x');
    let body_start = i;
    if hex {
        i += 2;
    }
    let (base, max_mant_digits, exp_char) = if hex {
        (16u64, 16usize, b'p')
    } else {
        (10, 19, b'e')
    };
    let mut underscores = false;
    let (mut sawdot, mut sawdigits) = (false, false);
    let (mut nd, mut nd_mant, mut dp): (i64, i64, i64) = (0, 0, 0);
    let mut mantissa: u64 = 0;
    let mut trunc = false;
    while i < b.len() {
        let c = b[i];
        let lower = c.to_ascii_lowercase();
        if c == b'_' {
            underscores = true;
        } else if c == b'.' {
            if sawdot {
                break;
            }
            sawdot = true;
            dp = nd;
        } else if c.is_ascii_digit() {
            sawdigits = true;
            if c == b'0' && nd == 0 {
                dp -= 1;
                i += 1;
                continue;
            }
            nd += 1;
            if (nd_mant as usize) < max_mant_digits {
                mantissa = mantissa * base + u64::from(c - b'0');
                nd_mant += 1;
            } else if c != b'0' {
                trunc = true;
            }
        } else if base == 16 && (b'a'..=b'f').contains(&lower) {
            sawdigits = true;
            nd += 1;
            if (nd_mant as usize) < max_mant_digits {
                mantissa = mantissa * 16 + u64::from(lower - b'a' + 10);
                nd_mant += 1;
            } else {
                trunc = true;
            }
        } else {
            break;
        }
        i += 1;
    }
    if !sawdigits {
        return None;
    }
    if !sawdot {
        dp = nd;
    }
    if base == 16 {
        dp *= 4;
        nd_mant *= 4;
    }
    if i < b.len() && b[i].to_ascii_lowercase() == exp_char {
        i += 1;
        if i >= b.len() {
            return None;
        }
        let mut esign = 1;
        if b[i] == b'+' {
            i += 1;
        } else if b[i] == b'-' {
            i += 1;
            esign = -1;
        }
        if i >= b.len() || !b[i].is_ascii_digit() {
            return None;
        }
        let mut e: i64 = 0;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            if b[i] == b'_' {
                underscores = true;
            } else if e < 10000 {
                e = e * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        dp += e * esign;
    } else if base == 16 {
        return None;
    }
    if i != b.len() || (underscores && !underscore_ok(&s[..i])) {
        return None;
    }
    let v = if hex {
        let exp = if mantissa != 0 { dp - nd_mant } else { 0 };
        atof_hex(mantissa, exp, neg, trunc)?
    } else {
        // The syntax is Go's; the value of the same digits, correctly rounded, is Rust's.
        let digits: String = s[body_start..].chars().filter(|&c| c != '_').collect();
        let v: f64 = digits.parse().ok()?;
        if v.is_infinite() {
            return None; // ErrRange
        }
        if neg { -v } else { v }
    };
    Some(v)
}

/// `strconv`'s `special`: infinities and NaN, only when they are the whole string.
fn special(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let (sign, rest) = match b.first()? {
        b'+' => (1.0, &s[1..]),
        b'-' => (-1.0, &s[1..]),
        b'n' | b'N' => {
            return s.eq_ignore_ascii_case("nan").then_some(f64::NAN);
        }
        _ => (1.0, s),
    };
    (rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity"))
        .then_some(sign * f64::INFINITY)
}

/// `strconv`'s `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    let mut saw = b'^';
    if let Some(b'+' | b'-') = b.first() {
        b = &b[1..];
    }
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&c.to_ascii_lowercase())) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `strconv`'s `atofHex` for float64; `None` on overflow (ErrRange).
fn atof_hex(mut mantissa: u64, exp: i64, neg: bool, trunc: bool) -> Option<f64> {
    const MANTBITS: i64 = 52;
    const EXPBITS: i64 = 11;
    const BIAS: i64 = -1023;
    let max_exp = (1 << EXPBITS) + BIAS - 2;
    let min_exp = BIAS + 1;
    let mut exp = exp + MANTBITS;
    while mantissa != 0 && mantissa >> (MANTBITS + 2) == 0 {
        mantissa <<= 1;
        exp -= 1;
    }
    if trunc {
        mantissa |= 1;
    }
    while mantissa >> (1 + MANTBITS + 2) != 0 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    while mantissa > 1 && exp < min_exp - 2 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    let mut round = mantissa & 3;
    mantissa >>= 2;
    round |= mantissa & 1;
    exp += 2;
    if round == 3 {
        mantissa += 1;
        if mantissa == 1 << (1 + MANTBITS) {
            mantissa >>= 1;
            exp += 1;
        }
    }
    if mantissa >> MANTBITS == 0 {
        exp = BIAS;
    }
    if exp > max_exp {
        return None;
    }
    let mut bits = mantissa & ((1 << MANTBITS) - 1);
    bits |= (((exp - BIAS) & ((1 << EXPBITS) - 1)) as u64) << MANTBITS;
    if neg {
        bits |= 1 << 63;
    }
    Some(f64::from_bits(bits))
}

/// `fmt.Sprintf("%v", f)` for a float64: `%g` with the shortest digits (exponent form below
/// 1e-4 and from 1e6 up, as `1e+06`), `+Inf`, `-Inf`, `NaN`.
pub fn fmt_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let e = format!("{f:e}"); // shortest round-trip digits: "-1.5e-7"
    let (mant, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// `fmt.Sprintf("%f", f)`: six decimals, `+Inf`, `-Inf`, `NaN`.
pub fn fmt_f(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{f:.6}")
    }
}

/// A Unix time in seconds read as Go's `time.Unix(sec, 0).UTC()` does, for any `sec`
/// (Go's arithmetic wraps rather than fails, so even `MinInt64` has a date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
    /// 1–366.
    pub year_day: u32,
    pub hour: u32,
    pub minute: u32,
    /// 0 = Sunday.
    pub weekday: u32,
}

const SECONDS_PER_DAY: u64 = 86_400;
const DAYS_PER_400_YEARS: u64 = 365 * 400 + 97;
const DAYS_PER_100_YEARS: u64 = 365 * 100 + 24;
const DAYS_PER_4_YEARS: u64 = 365 * 4 + 1;
const ABSOLUTE_ZERO_YEAR: i64 = -292_277_022_399;
/// `unixToInternal + internalToAbsolute`.
const UNIX_TO_ABSOLUTE: u64 = 9_223_372_028_715_321_600;
const DAYS_BEFORE: [u64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Go's `absDate`: (year, month, day, yday) with yday from 0.
fn abs_date(abs: u64) -> (i64, u32, u32, u32) {
    let mut d = abs / SECONDS_PER_DAY;
    let mut n = d / DAYS_PER_400_YEARS;
    let mut y = 400 * n;
    d -= DAYS_PER_400_YEARS * n;
    n = d / DAYS_PER_100_YEARS;
    n -= n >> 2;
    y += 100 * n;
    d -= DAYS_PER_100_YEARS * n;
    n = d / DAYS_PER_4_YEARS;
    y += 4 * n;
    d -= DAYS_PER_4_YEARS * n;
    n = d / 365;
    n -= n >> 2;
    y += n;
    d -= 365 * n;
    let year = (y as i64).wrapping_add(ABSOLUTE_ZERO_YEAR);
    let yday = d as u32;
    let mut day = u64::from(yday);
    if is_leap(year) {
        if day > 31 + 29 - 1 {
            day -= 1;
        } else if day == 31 + 29 - 1 {
            return (year, 2, 29, yday);
        }
    }
    let mut month = (day / 31) as usize;
    let end = DAYS_BEFORE[month + 1];
    let begin = if day >= end {
        month += 1;
        end
    } else {
        DAYS_BEFORE[month]
    };
    ((year), month as u32 + 1, (day - begin + 1) as u32, yday)
}

/// Go's `daysSinceEpoch`: days from the absolute epoch to 1 January of `year`.
fn days_since_epoch(year: i64) -> u64 {
    let mut y = year.wrapping_sub(ABSOLUTE_ZERO_YEAR) as u64;
    let mut n = y / 400;
    y -= 400 * n;
    let mut d = DAYS_PER_400_YEARS.wrapping_mul(n);
    n = y / 100;
    y -= 100 * n;
    d = d.wrapping_add(DAYS_PER_100_YEARS * n);
    n = y / 4;
    y -= 4 * n;
    d = d.wrapping_add(DAYS_PER_4_YEARS * n);
    d.wrapping_add(365 * y)
}

impl Civil {
    pub fn from_unix(sec: i64) -> Self {
        let abs = (sec as u64).wrapping_add(UNIX_TO_ABSOLUTE);
        let (year, month, day, yday) = abs_date(abs);
        let in_day = abs % SECONDS_PER_DAY;
        // January 1 of the absolute year was a Monday.
        let weekday = (abs.wrapping_add(SECONDS_PER_DAY) % (7 * SECONDS_PER_DAY)) / SECONDS_PER_DAY;
        Civil {
            year,
            month,
            day,
            year_day: yday + 1,
            hour: (in_day / 3600) as u32,
            minute: ((abs % 3600) / 60) as u32,
            weekday: weekday as u32,
        }
    }

    /// Prometheus' `days_in_month`: `32 - time.Date(year, month, 32, 0, 0, 0, 0, UTC).Day()`.
    pub fn days_in_month(&self) -> u32 {
        let mut d = days_since_epoch(self.year).wrapping_add(DAYS_BEFORE[self.month as usize - 1]);
        if is_leap(self.year) && self.month >= 3 {
            d = d.wrapping_add(1);
        }
        d = d.wrapping_add(31);
        let (_, _, day, _) = abs_date(d.wrapping_mul(SECONDS_PER_DAY));
        32 - day
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_min_follow_go() {
        assert!(max(f64::NAN, 1.0).is_nan() && max(1.0, f64::NAN).is_nan());
        assert_eq!(max(f64::INFINITY, f64::NAN), f64::INFINITY);
        assert_eq!(min(f64::NEG_INFINITY, f64::NAN), f64::NEG_INFINITY);
        assert!(min(f64::NAN, 1.0).is_nan());
        assert!(max(0.0, -0.0).is_sign_positive() && max(-0.0, 0.0).is_sign_positive());
        assert!(min(0.0, -0.0).is_sign_negative() && min(-0.0, 0.0).is_sign_negative());
        assert_eq!(max(2.0, 3.0), 3.0);
        assert_eq!(min(2.0, 3.0), 2.0);
    }

    #[test]
    fn float_to_int_like_amd64() {
        assert_eq!(f64_to_i64(f64::NAN), i64::MIN);
        assert_eq!(f64_to_i64(f64::INFINITY), i64::MIN);
        assert_eq!(f64_to_i64(1e19), i64::MIN);
        assert_eq!(f64_to_i64(-9_223_372_036_854_775_808.0), i64::MIN);
        assert_eq!(f64_to_i64(-1.9), -1);
        assert_eq!(f64_to_i64(1.9), 1);
    }

    #[test]
    fn sort_is_gos_pdqsort() {
        // Stable for a strict order on small inputs; NaN (Less true against anything) moves
        // to the front in reverse order, as Go's insertion sort leaves it.
        let mut v = vec![(f64::NAN, 'a'), (1.0, 'b'), (f64::NAN, 'c'), (0.5, 'd')];
        sort(&mut v, |a, b| a.0.is_nan() || a.0 < b.0);
        let order: String = v.iter().map(|x| x.1).collect();
        assert_eq!(order, "cadb");
        // Larger inputs take the quicksort path and still sort.
        let mut w: Vec<u64> = (0..500u64).map(|i| (i * 7919) % 503).collect();
        sort(&mut w, |a, b| a < b);
        assert!(w.windows(2).all(|p| p[0] <= p[1]));
        let mut r: Vec<u64> = (0..300u64).rev().collect();
        sort(&mut r, |a, b| a < b);
        assert!(r.windows(2).all(|p| p[0] <= p[1]));
    }

    #[test]
    fn sort_never_panics_and_sorts_what_it_can() {
        // Random lengths and values (few distinct, many ties, some NaN) through every path:
        // insertion sort, pdqsort with pattern breaking, heapsort fallback.
        let mut x: u64 = 1;
        let mut rnd = |m: u64| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) % m
        };
        for round in 0..400 {
            let n = rnd(if round % 4 == 0 { 2000 } else { 80 }) as usize;
            let distinct = 1 + rnd(20);
            let mut v = Vec::with_capacity(n);
            for i in 0..n {
                let f = match round % 3 {
                    0 => i as f64,
                    1 => (n - i) as f64,
                    _ => rnd(distinct) as f64,
                };
                v.push(if rnd(7) == 0 { f64::NAN } else { f });
            }
            let mut w = v.clone();
            sort(&mut w, |a, b| a.is_nan() || a < b);
            assert_eq!(w.len(), v.len());
            let nans = v.iter().filter(|f| f.is_nan()).count();
            assert!(w[..nans].iter().all(|f| f.is_nan()), "NaN first");
            assert!(w[nans..].windows(2).all(|p| p[0] <= p[1]), "then ascending");
            let mut u: Vec<f64> = v.iter().copied().filter(|f| !f.is_nan()).collect();
            sort(&mut u, |a, b| a > b);
            assert!(u.windows(2).all(|p| p[0] >= p[1]));
        }
    }

    #[test]
    fn parse_float_is_strconv() {
        assert_eq!(parse_float("1_0"), Some(10.0));
        assert_eq!(parse_float("0x1p-2"), Some(0.25));
        assert_eq!(parse_float("0x10"), None, "hex needs a p exponent");
        assert_eq!(parse_float("1e400"), None, "overflow is a range error");
        assert_eq!(parse_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_float("-infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_float("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_float("+nan"), None);
        assert_eq!(parse_float("_1"), None);
        assert_eq!(parse_float(""), None);
        assert_eq!(parse_float(".5"), Some(0.5));
        assert_eq!(parse_float("5."), Some(5.0));
        assert_eq!(parse_float("1e"), None);
        assert_eq!(parse_float("-0x1.8p1"), Some(-3.0));
    }

    #[test]
    fn fmt_like_go() {
        assert_eq!(fmt_v(1e19), "1e+19");
        assert_eq!(fmt_v(123456.0), "123456");
        assert_eq!(fmt_v(1234567.0), "1.234567e+06");
        assert_eq!(fmt_v(0.0001), "0.0001");
        assert_eq!(fmt_v(0.00001), "1e-05");
        assert_eq!(
            fmt_v(-9_223_372_036_854_775_808.0),
            "-9.223372036854776e+18"
        );
        assert_eq!(fmt_v(f64::INFINITY), "+Inf");
        assert_eq!(fmt_f(f64::NEG_INFINITY), "-Inf");
        assert_eq!(fmt_f(0.5), "0.500000");
    }

    #[test]
    fn civil_time_matches_go() {
        let c = Civil::from_unix(0);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.weekday),
            (1970, 1, 1, 0, 4)
        );
        let c = Civil::from_unix(-1);
        assert_eq!((c.year, c.hour, c.minute), (1969, 23, 59));
        // 2024-02-29 23:59:59 UTC.
        let c = Civil::from_unix(1_709_251_199);
        assert_eq!(
            (c.month, c.day, c.days_in_month(), c.year_day),
            (2, 29, 29, 60)
        );
        // What Prometheus 2.42 answers for year(vector(NaN)).
        assert_eq!(Civil::from_unix(i64::MIN).year, 292_277_026_596);
    }
}
