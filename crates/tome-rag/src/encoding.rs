//! Text in the encoding it came in: a byte-order mark decides first, then valid UTF-8, then
//! UTF-16 without a mark (ASCII-range text with every other byte zero), then `chardetng`'s
//! guess among the legacy encodings browsers know (Windows-1252, Shift_JIS, GBK, KOI8-R…).
//! `encoding_rs` decodes; a byte it cannot map becomes U+FFFD rather than failing.

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// How much of a file the legacy-encoding guess reads: enough for any real document to show
/// its letters, and a bound on the work whatever the file's size.
const GUESS_WINDOW: usize = 256 * 1024;

/// How many leading bytes decide whether text is UTF-16 without a byte-order mark.
const UTF16_WINDOW: usize = 1024;

/// The encoding `bytes` are written in.
pub fn guess(bytes: &[u8]) -> &'static Encoding {
    if let Some((encoding, _)) = Encoding::for_bom(bytes) {
        return encoding;
    }
    if valid_utf8_prefix(bytes) {
        return UTF_8;
    }
    if let Some(encoding) = unmarked_utf16(bytes) {
        return encoding;
    }
    let window = &bytes[..bytes.len().min(GUESS_WINDOW)];
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(window, window.len() == bytes.len());
    detector.guess(None, true)
}

/// `bytes` as text, without a byte-order mark and with Windows line ends made `\n`.
pub fn decode(bytes: &[u8]) -> String {
    let (text, _, _) = guess(bytes).decode(bytes);
    text.trim_start_matches('\u{feff}').replace("\r\n", "\n")
}

/// Whether `head` (a file's first bytes) is text in some encoding: it has a byte-order mark,
/// is UTF-16 without one, or holds no control bytes but whitespace (legacy 8-bit and
/// multi-byte encodings never use them for letters; binary formats nearly always do).
pub fn is_text(head: &[u8]) -> bool {
    if Encoding::for_bom(head).is_some() || unmarked_utf16(head).is_some() {
        return true;
    }
    !head.iter().any(|&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c | 0x1a))
}

/// UTF-8 throughout, allowing a character cut by the end of a sample.
fn valid_utf8_prefix(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(error) => error.error_len().is_none() && error.valid_up_to() + 4 > bytes.len(),
    }
}

/// UTF-16 without a byte-order mark: in the first bytes, nearly every code unit has a zero
/// high byte and a non-zero low byte (text in the Latin script, where UTF-16 is met).
fn unmarked_utf16(bytes: &[u8]) -> Option<&'static Encoding> {
    let window = &bytes[..bytes.len().min(UTF16_WINDOW) & !1];
    let units = window.len() / 2;
    if units < 4 {
        return None;
    }
    let count =
        |zero_at: usize| window.chunks_exact(2).filter(|unit| unit[zero_at] == 0 && unit[1 - zero_at] != 0).count();
    // Nine units in ten: a non-Latin letter or an emoji here and there does not matter.
    let mostly = |n: usize| n * 10 >= units * 9;
    if mostly(count(1)) {
        Some(UTF_16LE)
    } else if mostly(count(0)) {
        Some(UTF_16BE)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, little: bool, bom: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        let units = bom.then_some(0xfeff).into_iter().chain(text.encode_utf16());
        for unit in units {
            bytes.extend(if little { unit.to_le_bytes() } else { unit.to_be_bytes() });
        }
        bytes
    }

    #[test]
    fn utf16_is_read_with_or_without_a_byte_order_mark() {
        let text = "Zürich – the café's menu\r\nsecond line";
        for (little, bom) in [(true, true), (false, true), (true, false), (false, false)] {
            let bytes = utf16(text, little, bom);
            assert!(is_text(&bytes), "little {little}, bom {bom}");
            assert_eq!(decode(&bytes), "Zürich – the café's menu\nsecond line", "little {little}, bom {bom}");
        }
    }

    #[test]
    fn windows_1252_is_recognised_and_decoded() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1252
            .encode("Le café de la gare servait une crème brûlée très appréciée – « naïve » et coûteuse.");
        assert!(std::str::from_utf8(&bytes).is_err());
        assert!(is_text(&bytes));
        assert_eq!(guess(&bytes), encoding_rs::WINDOWS_1252);
        assert!(decode(&bytes).contains("crème brûlée très appréciée – « naïve »"));
    }

    #[test]
    fn shift_jis_and_cyrillic_are_guessed() {
        let japanese = "東京の会議室で、来週の予算について話し合いました。資料は共有フォルダにあります。";
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(japanese);
        assert_eq!(decode(&bytes), japanese);
        let russian = "Протокол совещания: бюджет на следующий квартал утверждён всеми участниками.";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(russian);
        assert_eq!(decode(&bytes), russian);
    }

    #[test]
    fn utf8_stays_utf8_and_loses_its_mark() {
        assert_eq!(decode("\u{feff}naïve\r\n".as_bytes()), "naïve\n");
        assert_eq!(guess("plain ascii".as_bytes()), UTF_8);
    }

    #[test]
    fn binary_is_not_text() {
        assert!(!is_text(&[0u8, 1, 2, 3, 0xff, 0xfe, 7, 8, 0, 0]));
        assert!(!is_text(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
    }
}
