//! Code point classes as llama.cpp's pre-tokenizers see them (`unicode_cpt_flags_from_cpt` in
//! unicode.cpp over the generated unicode-data.cpp), and the GPT-2 byte <-> character map.
//!
//! llama.cpp's category table is generated from Unicode 15.1; regex-syntax ships a newer Unicode,
//! so every category is intersected with `Age <= 15.1`: code points assigned later are unassigned
//! ("undefined") for llama.cpp and must be for us too, or letters of new scripts would split
//! differently.

use std::sync::OnceLock;

use regex_syntax::hir::{Class, HirKind};

pub const NUMBER: u8 = 1 << 0;
pub const LETTER: u8 = 1 << 1;
pub const MARK: u8 = 1 << 2;
pub const PUNCT: u8 = 1 << 3;
pub const SYMBOL: u8 = 1 << 4;
pub const SEPARATOR: u8 = 1 << 5;
pub const CONTROL: u8 = 1 << 6;
/// Orthogonal to the category bits (a space is both SEPARATOR and WHITESPACE).
pub const WHITESPACE: u8 = 1 << 7;

/// The Unicode White_Space property: llama.cpp's `unicode_set_whitespace`.
const WHITE_SPACE: [u32; 25] = [
    0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
    0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
];

/// Class bits of every code point (0 = unassigned in Unicode 15.1), 1.1 MB built on first use.
fn table() -> &'static [u8] {
    static TABLE: OnceLock<Box<[u8]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = vec![0u8; 0x11_0000].into_boxed_slice();
        let cats =
            [("N", NUMBER), ("L", LETTER), ("M", MARK), ("P", PUNCT), ("S", SYMBOL), ("Z", SEPARATOR), ("C", CONTROL)];
        for (cat, bit) in cats {
            // \p{C} includes Cn (unassigned); the Age intersection removes it.
            let pattern = format!(r"[\p{{{cat}}}&&\p{{Age=15.1}}]");
            for (lo, hi) in class_ranges(&pattern) {
                t[lo as usize..=hi as usize].fill(bit);
            }
        }
        // Surrogates are Cs; `char` cannot hold them, so no pattern reaches them.
        t[0xD800..0xE000].fill(CONTROL);
        for cp in WHITE_SPACE {
            t[cp as usize] |= WHITESPACE;
        }
        t
    })
}

/// The ranges of a Unicode class pattern. The patterns are constants of this file, so a parse
/// failure is a programming error caught by every test, never a property of a model file.
fn class_ranges(pattern: &str) -> Vec<(u32, u32)> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .unwrap_or_else(|e| panic!("bad built-in class {pattern}: {e}"));
    match hir.kind() {
        HirKind::Class(Class::Unicode(c)) => c.ranges().iter().map(|r| (r.start() as u32, r.end() as u32)).collect(),
        _ => panic!("built-in class {pattern} is not a Unicode class"),
    }
}

/// Class bits of one character.
#[inline]
pub fn flags(c: char) -> u8 {
    table()[c as usize]
}

/// Forces the table to be built (so the first `encode` does not pay for it).
pub fn init() {
    table();
}

/// GPT-2's reversible byte -> printable character map (`unicode_byte_to_utf8_map`): printable
/// Latin-1 bytes map to themselves, the other 68 to U+0100.. in byte order.
pub fn byte_to_char() -> &'static [char; 256] {
    static MAP: OnceLock<[char; 256]> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut map = ['\0'; 256];
        let mut next = 0x100u32;
        for b in 0..=255u8 {
            let printable = matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF);
            let cp = if printable {
                u32::from(b)
            } else {
                next += 1;
                next - 1
            };
            map[b as usize] = char::from_u32(cp).unwrap_or('\0');
        }
        map
    })
}

/// The inverse of [`byte_to_char`]: `None` for characters outside the 256 used.
pub fn char_to_byte(c: char) -> Option<u8> {
    // Every mapped character is below U+0144; entry = byte + 1, 0 = unmapped.
    static INV: OnceLock<[u16; 0x144]> = OnceLock::new();
    let inv = INV.get_or_init(|| {
        let mut inv = [0u16; 0x144];
        for (b, &c) in byte_to_char().iter().enumerate() {
            inv[c as usize] = b as u16 + 1;
        }
        inv
    });
    match inv.get(c as usize) {
        Some(&v) if v > 0 => Some((v - 1) as u8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_follow_unicode_15_1() {
        assert_eq!(flags('a'), LETTER);
        assert_eq!(flags('7'), NUMBER);
        assert_eq!(flags(' '), SEPARATOR | WHITESPACE);
        assert_eq!(flags('\n'), CONTROL | WHITESPACE);
        assert_eq!(flags('\u{3000}'), SEPARATOR | WHITESPACE);
        assert_eq!(flags('\u{0301}'), MARK);
        assert_eq!(flags('!'), PUNCT);
        assert_eq!(flags('$'), SYMBOL);
        assert_eq!(flags('\u{1F600}'), SYMBOL);
        // U+2FFC was added in 15.1, U+1C89 in 16.0.
        assert_eq!(flags('\u{2FFC}'), SYMBOL);
        assert_eq!(flags('\u{1C89}'), 0);
        assert_eq!(flags('\u{0378}'), 0);
    }

    #[test]
    fn byte_map_round_trips() {
        let map = byte_to_char();
        assert_eq!(map[b' ' as usize], '\u{120}');
        assert_eq!(map[b'\n' as usize], '\u{10A}');
        assert_eq!(map[b'a' as usize], 'a');
        for b in 0..=255u8 {
            assert_eq!(char_to_byte(map[b as usize]), Some(b));
        }
        assert_eq!(char_to_byte('\u{144}'), None);
    }
}
