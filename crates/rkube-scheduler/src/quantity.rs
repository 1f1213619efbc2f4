//! Kubernetes resource quantities (`100m`, `1Gi`, `1e3`, `.5`) parsed
//! exactly and converted the way `resource.Quantity.Value()` and
//! `MilliValue()` do: rounded up, saturating at the `i64` range.

/// Why a quantity string could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The string does not follow the quantity grammar.
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {0:?}"
    )]
    Format(String),
    /// More significant digits than can be represented exactly.
    #[error("quantity {0:?} has too many significant digits")]
    Precision(String),
}

/// A parsed quantity: `mantissa × 10^exp10 × 2^exp2`, exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    mantissa: i128,
    exp10: i32,
    exp2: u32,
}

/// Digits an `i128` always holds.
const MAX_DIGITS: usize = 37;

impl Quantity {
    /// Parses the Kubernetes quantity grammar.
    pub fn parse(s: &str) -> Result<Quantity, QuantityError> {
        let err = || QuantityError::Format(s.to_string());
        let (negative, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_len);
        let (int_part, frac_part) = match number.split_once('.') {
            Some((i, f)) => (i, f),
            None => (number, ""),
        };
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            return Err(err());
        }
        let digits = format!("{int_part}{frac_part}");
        let significant = digits.trim_start_matches('0');
        if significant.len() > MAX_DIGITS {
            return Err(QuantityError::Precision(s.to_string()));
        }
        let mut mantissa: i128 = 0;
        for b in significant.bytes() {
            mantissa = mantissa * 10 + i128::from(b - b'0');
        }
        if negative {
            mantissa = -mantissa;
        }
        let frac_len = i32::try_from(frac_part.len()).map_err(|_| err())?;
        let (exp10, exp2) = suffix_exponents(suffix).ok_or_else(err)?;
        Ok(Quantity {
            mantissa,
            exp10: exp10 - frac_len,
            exp2,
        })
    }

    /// The value rounded up to an integer (`Quantity.Value()`).
    pub fn value(&self) -> i64 {
        self.scaled(0)
    }

    /// The value in thousandths rounded up (`Quantity.MilliValue()`).
    pub fn milli_value(&self) -> i64 {
        self.scaled(3)
    }

    /// `value × 10^shift`, rounded away from zero, saturating.
    fn scaled(&self, shift: i32) -> i64 {
        if self.mantissa == 0 {
            return 0;
        }
        let saturated = if self.mantissa > 0 {
            i64::MAX
        } else {
            i64::MIN
        };
        let Some(mut m) = 2i128
            .checked_pow(self.exp2)
            .and_then(|p| self.mantissa.checked_mul(p))
        else {
            return saturated;
        };
        let exp = self.exp10.saturating_add(shift);
        if exp >= 0 {
            let Some(v) = u32::try_from(exp)
                .ok()
                .and_then(|e| 10i128.checked_pow(e))
                .and_then(|p| m.checked_mul(p))
            else {
                return saturated;
            };
            m = v;
        } else {
            let Some(divisor) = u32::try_from(-i64::from(exp))
                .ok()
                .and_then(|e| 10i128.checked_pow(e))
            else {
                return m.signum() as i64;
            };
            let (q, r) = (m / divisor, m % divisor);
            m = if r == 0 { q } else { q + m.signum() };
        }
        i64::try_from(m).unwrap_or(saturated)
    }
}

/// Decimal and binary exponents of a suffix, or `None` when it is not one.
fn suffix_exponents(suffix: &str) -> Option<(i32, u32)> {
    let decimal = |e: i32| Some((e, 0));
    let binary = |e: u32| Some((0, e));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let exp = suffix.strip_prefix(['e', 'E'])?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Exponents beyond this range saturate or vanish anyway.
            let clamped: i64 =
                exp.parse::<i64>()
                    .unwrap_or(if exp.starts_with('-') { -1000 } else { 1000 });
            decimal(clamped.clamp(-1000, 1000) as i32)
        }
    }
}

/// Milli-units of a quantity string (CPU), or the parse error.
pub fn milli_value(s: &str) -> Result<i64, QuantityError> {
    Ok(Quantity::parse(s)?.milli_value())
}

/// Units of a quantity string rounded up (bytes, counts), or the parse error.
pub fn value(s: &str) -> Result<i64, QuantityError> {
    Ok(Quantity::parse(s)?.value())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> i64 {
        value(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }
    fn m(s: &str) -> i64 {
        milli_value(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn decimal_suffixes() {
        assert_eq!(m("100m"), 100);
        assert_eq!(m("1"), 1000);
        assert_eq!(m("2.5"), 2500);
        assert_eq!(m(".5"), 500);
        assert_eq!(m("5."), 5000);
        assert_eq!(v("1k"), 1000);
        assert_eq!(v("1M"), 1_000_000);
        assert_eq!(v("1G"), 1_000_000_000);
        assert_eq!(v("1T"), 1_000_000_000_000);
        assert_eq!(v("1P"), 1_000_000_000_000_000);
        assert_eq!(v("1E"), 1_000_000_000_000_000_000);
        assert_eq!(m("500u"), 1);
        assert_eq!(m("1000000n"), 1);
    }

    #[test]
    fn binary_suffixes() {
        assert_eq!(v("1Ki"), 1024);
        assert_eq!(v("1Mi"), 1 << 20);
        assert_eq!(v("1Gi"), 1 << 30);
        assert_eq!(v("0.5Gi"), 1 << 29);
        assert_eq!(v("1.5Ki"), 1536);
        assert_eq!(v("1Ti"), 1 << 40);
        assert_eq!(v("1Pi"), 1 << 50);
        assert_eq!(v("1Ei"), 1 << 60);
    }

    #[test]
    fn exponents() {
        assert_eq!(v("1e3"), 1000);
        assert_eq!(v("1E3"), 1000);
        assert_eq!(v("1e+3"), 1000);
        assert_eq!(m("1e-3"), 1);
        assert_eq!(v("12e-1"), 2);
        assert_eq!(v("1e-1000"), 1);
        assert_eq!(v("1e1000"), i64::MAX);
    }

    #[test]
    fn rounds_up_and_saturates() {
        assert_eq!(m("0.0001"), 1);
        assert_eq!(v("1m"), 1);
        assert_eq!(v("1001m"), 2);
        assert_eq!(v("0"), 0);
        assert_eq!(m("-1m"), -1);
        assert_eq!(v("-1.5"), -2);
        assert_eq!(v("16Ei"), i64::MAX);
        assert_eq!(m("9223372036854775807"), i64::MAX);
        assert_eq!(v("+7"), 7);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "", "abc", "1.2.3", "1Qi", "1e", "1e+", ".", "-", "1 ", "1ki", "1mm", "e3",
        ] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} should not parse");
        }
        assert!(matches!(
            Quantity::parse("1234567890123456789012345678901234567890"),
            Err(QuantityError::Precision(_))
        ));
    }
}
