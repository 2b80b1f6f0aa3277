//! The text inside a file, in reading order, as sections that remember where they came
//! from: the page of a PDF, the heading path of Markdown, HTML and DOCX, the slide of a
//! PPTX, the sheet and row of a spreadsheet. Parsers are well-kept crates; the work is
//! bounded (a cap on the text kept and on what zip-based formats may inflate to), and every
//! failure is a sentence a person understands.

mod html;
pub mod isolate;
mod office;
mod pdf;
mod text;

use serde::{Deserialize, Serialize};

use crate::detect::FileKind;

/// Where a section sits in its document. Fields that do not apply stay empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub heading_path: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slide: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
    /// Seconds into a recording, for a paragraph of a transcript that opens with its time
    /// stamp `[hh:mm:ss]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<u32>,
}

impl Location {
    /// Whether two sections belong to the same part (page, heading, slide, sheet): chunks
    /// prefer to break where this changes.
    pub fn same_part(&self, other: &Self) -> bool {
        self.page == other.page
            && self.heading_path == other.heading_path
            && self.slide == other.slide
            && self.sheet == other.sheet
    }
}

/// A paragraph-sized piece of text and where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub text: String,
    pub location: Location,
}

/// Bounds on one extraction.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most bytes that the parts of a zip-based file (DOCX, PPTX, XLSX) may inflate to.
    pub max_inflated_bytes: u64,
    /// Most bytes of text kept from one file.
    pub max_text_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_inflated_bytes: 512 * 1024 * 1024, max_text_bytes: 64 * 1024 * 1024 }
    }
}

/// Why a file could not be read, as the sentence stored on the document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("The file is empty.")]
    Empty,
    #[error("The {0} file is password-protected (encrypted); remove the password and upload it again.")]
    Encrypted(FileKind),
    #[error("The file could not be read as {kind}: it looks damaged or is not really a {kind} file ({detail}).")]
    Corrupt { kind: FileKind, detail: String },
    #[error(
        "The file expands to more than {limit_mib} MiB when unpacked, which is more than Tome accepts (it may be a zip bomb)."
    )]
    TooLargeUnpacked { limit_mib: u64 },
    #[error("No text was found in the file{0}.")]
    NoText(&'static str),
}

impl ExtractError {
    fn corrupt(kind: FileKind, detail: impl std::fmt::Display) -> Self {
        let mut detail = detail.to_string();
        detail.truncate(300);
        Self::Corrupt { kind, detail }
    }
}

/// Reads the sections of `bytes`, a file of `kind`. CPU-bound: call it off the async threads.
pub fn extract(kind: FileKind, bytes: &[u8], limits: Limits) -> Result<Vec<Section>, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    // Parsers of hostile input can panic; a panic is a damaged file, not a dead worker.
    let parsed = std::panic::catch_unwind(|| parse(kind, bytes, limits))
        .unwrap_or_else(|_| Err(ExtractError::corrupt(kind, "the parser gave up on it")));
    let mut sections = parsed?;
    sections.iter_mut().for_each(without_nul);
    sections.retain(|section| !section.text.trim().is_empty());
    cap_text(&mut sections, limits.max_text_bytes);
    if sections.is_empty() {
        let hint = if kind == FileKind::Pdf { " (a scanned PDF has only images; Tome does not run OCR)" } else { "" };
        return Err(ExtractError::NoText(hint));
    }
    Ok(sections)
}

fn parse(kind: FileKind, bytes: &[u8], limits: Limits) -> Result<Vec<Section>, ExtractError> {
    Ok(match kind {
        FileKind::Pdf => pdf::extract(bytes)?,
        FileKind::Docx => office::docx(bytes, limits)?,
        FileKind::Pptx => office::pptx(bytes, limits)?,
        FileKind::Xlsx => office::xlsx(bytes, limits)?,
        FileKind::Csv => text::csv(bytes)?,
        FileKind::Html => html::extract(&text::decode(bytes)),
        FileKind::Markdown => text::markdown(&text::decode(bytes)),
        FileKind::Text => text::plain(&text::decode(bytes)),
        FileKind::Json => text::json(bytes)?,
    })
}

/// Drops NUL characters, which carry no text and which PostgreSQL cannot store in `text`
/// (or `jsonb`, where headings and sheet names go).
fn without_nul(section: &mut Section) {
    let clean = |text: &mut String| {
        if text.contains('\0') {
            text.retain(|c| c != '\0');
        }
    };
    clean(&mut section.text);
    section.location.heading_path.iter_mut().for_each(clean);
    if let Some(sheet) = &mut section.location.sheet {
        clean(sheet);
    }
}

/// Keeps whole sections up to `max` bytes of text.
fn cap_text(sections: &mut Vec<Section>, max: usize) {
    let mut total = 0usize;
    let keep = sections
        .iter()
        .position(|section| {
            total += section.text.len();
            total > max
        })
        .unwrap_or(sections.len());
    if keep < sections.len() {
        tracing::warn!(kept = keep, of = sections.len(), "text cap reached; the rest of the file is not indexed");
        sections.truncate(keep);
    }
}

/// Collapses runs of whitespace inside a paragraph.
pub(crate) fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_says_so() {
        assert_eq!(extract(FileKind::Text, b"", Limits::default()), Err(ExtractError::Empty));
    }

    #[test]
    fn nul_characters_are_dropped_from_text_and_json() {
        let sections = extract(FileKind::Text, b"before\0after", Limits::default()).unwrap_or_default();
        assert_eq!(sections.iter().map(|s| s.text.as_str()).collect::<String>(), "beforeafter");
        let json = br#"{"note": "a\u0000b"}"#;
        let sections = extract(FileKind::Json, json, Limits::default()).unwrap_or_default();
        assert!(!sections.is_empty() && sections.iter().all(|s| !s.text.contains('\0')), "{sections:?}");
    }

    #[test]
    fn whitespace_only_text_has_no_text() {
        assert!(matches!(extract(FileKind::Text, b"  \n\n \t", Limits::default()), Err(ExtractError::NoText(_))));
    }

    #[test]
    fn the_text_cap_keeps_whole_sections() {
        let bytes = b"first paragraph\n\nsecond paragraph\n\nthird paragraph";
        let limits = Limits { max_text_bytes: 35, ..Limits::default() };
        let sections = extract(FileKind::Text, bytes, limits).unwrap();
        assert_eq!(sections.len(), 2);
    }

    #[test]
    fn errors_read_as_sentences() {
        let message = ExtractError::Encrypted(FileKind::Pdf).to_string();
        assert!(message.starts_with("The PDF file is password-protected"), "{message}");
    }
}
