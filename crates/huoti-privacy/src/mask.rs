//! Masking of personal data for display, and redaction for logs (R1, "no leaks").
//!
//! R1: when people see their own data, **ID numbers and bank accounts are always shown
//! masked**. The same masks serve staff consoles. Every function here fails closed: input that
//! does not look like what the function expects is masked *entirely* (one `*` per character),
//! never returned as is.
//!
//! | data | input | shown |
//! |---|---|---|
//! | ID number (18 or 15 characters) | `110101199003071234` | `110***********1234` |
//! | mobile number (11 digits) | `13812345678` | `138****5678` |
//! | bank card | `6222 0212 3456 1234` | `**** 1234` |
//! | name | `张三丰` | `张**` |
//! | e-mail | `alice@example.com` | `a***@example.com` |
//!
//! [`Redacted`] wraps any value whose `Debug` and `Display` must never show it (log lines,
//! error messages, panics).

use std::fmt;

fn stars(n: usize) -> String {
    "*".repeat(n)
}

/// Masks a mainland-China resident ID number: first 3 and last 4 characters kept, the rest
/// (birth date included) starred. 18-character numbers (last may be `X`) and 15-digit
/// first-generation numbers are accepted; anything else is starred entirely.
#[must_use]
pub fn id_number(id: &str) -> String {
    let chars: Vec<char> = id.trim().chars().collect();
    let valid = match chars.len() {
        18 => {
            chars[..17].iter().all(char::is_ascii_digit)
                && (chars[17].is_ascii_digit() || chars[17] == 'X' || chars[17] == 'x')
        }
        15 => chars.iter().all(char::is_ascii_digit),
        _ => false,
    };
    if !valid {
        return stars(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", stars(chars.len() - 7))
}

/// Masks a mainland mobile number: `13812345678` → `138****5678`. A `+86`/`86` prefix and
/// spaces or dashes are dropped first; anything else is starred entirely.
#[must_use]
pub fn phone(phone: &str) -> String {
    let digits: String = phone.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = digits
        .strip_prefix("+86")
        .or_else(|| digits.strip_prefix("86").filter(|d| d.len() == 11))
        .unwrap_or(&digits);
    if digits.len() == 11 && digits.starts_with('1') && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}****{}", &digits[..3], &digits[7..])
    } else {
        stars(phone.chars().count())
    }
}

/// Masks a bank card or account number to its last four digits: `**** 1234`. Spaces and
/// dashes are ignored; fewer than 8 digits, or any other character, gives `****`.
#[must_use]
pub fn bank_card(card: &str) -> String {
    let digits: String = card.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() >= 8 && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("**** {}", &digits[digits.len() - 4..])
    } else {
        "****".to_string()
    }
}

/// Masks a name: first character kept, one `*` for each other character (`张三` → `张*`,
/// `Alice` → `A****`). A one-character name is shown as `*`.
#[must_use]
pub fn name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_string(),
        n => format!("{}{}", chars[0], stars(n - 1)),
    }
}

/// Masks an e-mail address: first character of the local part, `***`, then the domain
/// (`alice@example.com` → `a***@example.com`). Without a single `@` and a non-empty local part
/// and domain, `***` is returned.
#[must_use]
pub fn email(email: &str) -> String {
    let email = email.trim();
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            let first = local.chars().next().expect("non-empty");
            format!("{first}***@{domain}")
        }
        _ => "***".to_string(),
    }
}

/// A value that must never be printed: `Debug` and `Display` show `[REDACTED]`.
///
/// Use it for personal data that travels through code that logs (request structs, errors).
/// The value is reachable only through the explicit [`expose`](Self::expose) /
/// [`into_inner`](Self::into_inner). It implements no `serde` traits, so it cannot be
/// serialised into a log or a response by accident.
///
/// ```
/// use huoti_privacy::Redacted;
/// let id = Redacted::new("110101199003071234".to_string());
/// assert_eq!(format!("{id:?} {id}"), "[REDACTED] [REDACTED]");
/// assert_eq!(id.expose(), "110101199003071234");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Redacted<T>(T);

impl<T> Redacted<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Redacted<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl<T> fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn r1_id_number_masked() {
        assert_eq!(id_number("110101199003071234"), "110***********1234");
        assert_eq!(id_number("11010119900307123X"), "110***********123X");
        assert_eq!(id_number("110101900307123"), "110********7123");
        assert_eq!(id_number("110101199003071234").chars().count(), 18);
        // Birth date never shown.
        assert!(!id_number("110101199003071234").contains("19900307"));
    }

    #[test]
    fn r1_malformed_id_number_fully_masked() {
        assert_eq!(id_number("1101011990030712"), "****************");
        assert_eq!(id_number("11010119900307123Y"), "******************");
        assert_eq!(id_number(""), "");
    }

    #[test]
    fn r1_phone_masked() {
        assert_eq!(phone("13812345678"), "138****5678");
        assert_eq!(phone("+86 138-1234-5678"), "138****5678");
        assert_eq!(phone("8613812345678"), "138****5678");
        assert_eq!(phone("1234"), "****");
        assert_eq!(phone("2381234567x"), "***********");
    }

    #[test]
    fn r1_bank_card_masked() {
        assert_eq!(bank_card("6222021234561234"), "**** 1234");
        assert_eq!(bank_card("6222 0212 3456 1234"), "**** 1234");
        assert_eq!(bank_card("6222021234561234567"), "**** 4567");
        assert_eq!(bank_card("1234"), "****");
        assert_eq!(bank_card("6222abcd34561234"), "****");
    }

    #[test]
    fn r1_name_masked() {
        assert_eq!(name("张三"), "张*");
        assert_eq!(name("欧阳娜娜"), "欧***");
        assert_eq!(name("Alice"), "A****");
        assert_eq!(name("李"), "*");
        assert_eq!(name(""), "");
    }

    #[test]
    fn r1_email_masked() {
        assert_eq!(email("alice@example.com"), "a***@example.com");
        assert_eq!(email("a@example.com"), "a***@example.com");
        assert_eq!(email("not-an-email"), "***");
        assert_eq!(email("@example.com"), "***");
        assert_eq!(email("a@b@c"), "***");
    }

    #[test]
    fn s2_redacted_never_prints_inner_value() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Request {
            subject: &'static str,
            id_number: Redacted<String>,
        }
        let r = Request {
            subject: "subj-1",
            id_number: Redacted::new("110101199003071234".into()),
        };
        let printed = format!("{r:?} {r:#?} {}", r.id_number);
        assert!(!printed.contains("1101"));
        assert!(printed.contains("[REDACTED]"));
        assert_eq!(r.id_number.expose(), "110101199003071234");
    }

    proptest! {
        #[test]
        fn r1_prop_id_number_mask_never_reveals_middle(id in "[0-9]{17}[0-9X]") {
            let masked = id_number(&id);
            prop_assert_eq!(masked.chars().count(), 18);
            prop_assert_eq!(&masked[..3], &id[..3]);
            prop_assert_eq!(&masked[14..], &id[14..]);
            prop_assert_eq!(&masked[3..14], "***********");
        }

        #[test]
        fn r1_prop_bank_card_shows_at_most_four_digits(card in "[0-9]{8,19}") {
            let masked = bank_card(&card);
            prop_assert_eq!(masked.chars().filter(char::is_ascii_digit).count(), 4);
            prop_assert!(card.ends_with(&masked[5..]));
        }
    }
}
