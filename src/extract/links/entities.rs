//! Character references in attribute values, decoded by the HTML rules:
//! the longest named reference wins; one without its `;` stays as written
//! when an `=` or a letter or digit follows (`?a=1&copy=2` keeps `&copy`);
//! numeric ones map C1 controls through windows-1252 and invalid code points
//! to U+FFFD.

use std::borrow::Cow;

use html5ever::data::NAMED_ENTITIES;

/// What numeric references to 0x80–0x9F stand for (windows-1252).
const C1_REPLACEMENTS: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{8D}', '\u{017D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{9D}', '\u{017E}', '\u{0178}',
];

/// The attribute value `raw` with its character references decoded.
pub fn decode_attribute(raw: &str) -> Cow<'_, str> {
    if raw.contains('\0') {
        // The tokenizer reads a NUL in an attribute value as U+FFFD.
        return Cow::Owned(decode_attribute(&raw.replace('\0', "\u{FFFD}")).into_owned());
    }
    let Some(first) = raw.find('&') else {
        return Cow::Borrowed(raw);
    };
    let mut out = String::with_capacity(raw.len());
    out.push_str(&raw[..first]);
    let mut rest = &raw[first..];
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let used = if rest[1..].starts_with('#') {
            numeric(rest, &mut out)
        } else {
            named(rest, &mut out)
        };
        rest = &rest[used..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Decodes the numeric reference at the start of `text` (`&#…`) into `out`;
/// returns how many bytes it used (just the `&` when it is none).
fn numeric(text: &str, out: &mut String) -> usize {
    let bytes = text.as_bytes();
    let (radix, digits_from) = match bytes.get(2) {
        Some(b'x' | b'X') => (16, 3),
        _ => (10, 2),
    };
    let digits = bytes[digits_from..]
        .iter()
        .take_while(|byte| char::from(**byte).is_digit(radix))
        .count();
    if digits == 0 {
        out.push('&');
        return 1;
    }
    let number = text[digits_from..digits_from + digits]
        .chars()
        .try_fold(0u32, |value, digit| {
            let digit = digit.to_digit(radix)?;
            value.checked_mul(radix)?.checked_add(digit)
        });
    out.push(code_point(number));
    let mut used = digits_from + digits;
    if bytes.get(used) == Some(&b';') {
        used += 1;
    }
    used
}

/// What a numeric reference to `number` means (`None`: it overflowed).
fn code_point(number: Option<u32>) -> char {
    match number {
        Some(0x80..=0x9F) => number
            .and_then(|n| usize::try_from(n - 0x80).ok())
            .and_then(|index| C1_REPLACEMENTS.get(index).copied())
            .unwrap_or('\u{FFFD}'),
        Some(0) | None => '\u{FFFD}',
        Some(n) => char::from_u32(n).unwrap_or('\u{FFFD}'),
    }
}

/// Decodes the named reference at the start of `text` (`&name…`) into
/// `out`; returns how many bytes it used (just the `&` when it is none, or
/// when a legacy name without `;` is followed by `=` or an alphanumeric).
fn named(text: &str, out: &mut String) -> usize {
    let name = &text[1..];
    let mut longest: Option<(usize, (u32, u32))> = None;
    for (index, character) in name.char_indices() {
        let end = index + character.len_utf8();
        match NAMED_ENTITIES.get(&name[..end]) {
            // Every prefix of a name is in the table, mapped to (0, 0).
            Some(&(0, 0)) => {}
            Some(&value) => longest = Some((end, value)),
            None => break,
        }
        if character == ';' {
            break;
        }
    }
    let Some((end, (first, second))) = longest else {
        out.push('&');
        return 1;
    };
    let next = name[end..].chars().next();
    if !name[..end].ends_with(';') && next.is_some_and(|c| c == '=' || c.is_ascii_alphanumeric()) {
        out.push('&');
        return 1;
    }
    out.extend(
        [first, second]
            .into_iter()
            .filter(|&code| code != 0)
            .filter_map(char::from_u32),
    );
    1 + end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_references_follow_the_attribute_rules() {
        assert_eq!(decode_attribute("a?x=1&amp;y=2"), "a?x=1&y=2");
        assert_eq!(
            decode_attribute("?a=1&copy=3"),
            "?a=1&copy=3",
            "legacy name before `=`"
        );
        assert_eq!(decode_attribute("?a=1&copy;=3"), "?a=1©=3");
        assert_eq!(
            decode_attribute("&copyx"),
            "&copyx",
            "legacy name before a letter"
        );
        assert_eq!(
            decode_attribute("&copy x"),
            "© x",
            "legacy name before a space"
        );
        assert_eq!(
            decode_attribute("&notit;"),
            "&notit;",
            "a legacy prefix before a letter"
        );
        assert_eq!(
            decode_attribute("&not it"),
            "¬ it",
            "a legacy prefix before a space"
        );
        assert_eq!(decode_attribute("&notin;"), "∉");
        assert_eq!(decode_attribute("&bogus;&"), "&bogus;&");
        assert_eq!(decode_attribute("plain"), "plain");
    }

    #[test]
    fn numeric_references_map_invalid_code_points() {
        assert_eq!(decode_attribute("&#47;&#x2F;&#X2f"), "///");
        assert_eq!(decode_attribute("&#128;"), "€", "C1 through windows-1252");
        assert_eq!(
            decode_attribute("&#0;&#xD800;&#99999999999;"),
            "\u{FFFD}\u{FFFD}\u{FFFD}"
        );
        assert_eq!(decode_attribute("&#;&#x;"), "&#;&#x;");
    }
}
