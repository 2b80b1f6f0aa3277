//! What a file is, from its content first (magic bytes, the parts inside a zip, whether it
//! is text) and its name only to tell apart text formats that look alike. A PDF named
//! `notes.txt` is a PDF; a binary named `report.pdf` is refused.

use std::fmt;

/// The formats Tome can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    Pdf,
    Docx,
    Pptx,
    Xlsx,
    Csv,
    Html,
    Markdown,
    Text,
    Json,
}

/// Every supported kind, in the order the error message lists them.
pub const SUPPORTED: [FileKind; 9] = [
    FileKind::Pdf,
    FileKind::Docx,
    FileKind::Pptx,
    FileKind::Xlsx,
    FileKind::Csv,
    FileKind::Html,
    FileKind::Markdown,
    FileKind::Text,
    FileKind::Json,
];

impl FileKind {
    pub fn mime_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Pptx => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Csv => "text/csv",
            Self::Html => "text/html",
            Self::Markdown => "text/markdown",
            Self::Text => "text/plain",
            Self::Json => "application/json",
        }
    }

    /// The kind stored as `mime_type`, for the worker.
    pub fn from_mime_type(mime: &str) -> Option<Self> {
        SUPPORTED.into_iter().find(|kind| kind.mime_type() == mime)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Docx => "DOCX",
            Self::Pptx => "PPTX",
            Self::Xlsx => "XLSX",
            Self::Csv => "CSV",
            Self::Html => "HTML",
            Self::Markdown => "Markdown",
            Self::Text => "plain text",
            Self::Json => "JSON",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The sentence a refused upload answers with.
pub fn supported_list() -> String {
    let names: Vec<&str> = SUPPORTED.iter().map(|kind| kind.name()).collect();
    format!("supported types: {}", names.join(", "))
}

/// Why a file was refused: its detected type, for the message.
#[derive(Debug, PartialEq, Eq)]
pub struct Unsupported(pub String);

fn extension(file_name: &str) -> String {
    file_name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default()
}

/// Decides a file's kind from its first bytes (`head`, up to a few KiB) and its name.
pub fn detect(head: &[u8], file_name: &str) -> Result<FileKind, Unsupported> {
    let ext = extension(file_name);
    if head.is_empty() {
        // Nothing to sniff: trust the name, and let the worker report that it is empty.
        return from_text_extension(&ext).or_else(|| office_extension(&ext)).ok_or_else(|| empty_unknown(&ext));
    }
    if head.starts_with(b"%PDF-") {
        return Ok(FileKind::Pdf);
    }
    if let Some(kind) = infer::get(head) {
        return match kind.mime_type() {
            "application/pdf" => Ok(FileKind::Pdf),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => Ok(FileKind::Docx),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation" => Ok(FileKind::Pptx),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Ok(FileKind::Xlsx),
            // A password-protected Office file is an OLE container: keep the name's kind so
            // that the worker can say it is encrypted rather than "unsupported".
            "application/x-ole-storage" => office_extension(&ext).ok_or_else(|| Unsupported(kind.mime_type().into())),
            "application/zip" => office_zip(head, &ext).ok_or_else(|| Unsupported("application/zip".into())),
            "text/html" => Ok(FileKind::Html),
            "text/xml" | "application/xml" if ext == "html" || ext == "htm" => Ok(FileKind::Html),
            other if other.starts_with("text/") => Ok(text_kind(head, &ext)),
            // Some signatures are two printable bytes ("BC" for LLVM bitcode, "MZ"…): text
            // that happens to start with them is still text.
            _ if looks_like_text(head) => Ok(text_kind(head, &ext)),
            other => Err(Unsupported(other.into())),
        };
    }
    if looks_like_text(head) {
        return Ok(text_kind(head, &ext));
    }
    Err(Unsupported("application/octet-stream".into()))
}

/// The recordings a transcription accepts, for the message that refuses others.
pub const AUDIO_SUPPORTED: &str = "supported recordings: WAV, MP3, FLAC, Ogg (Vorbis or Opus), M4A/AAC, MP4";

/// A recording's type from its first bytes: its MIME type, or why it was refused.
pub fn audio(head: &[u8]) -> Result<&'static str, Unsupported> {
    if head.is_empty() {
        return Err(Unsupported("an empty file".into()));
    }
    match infer::get(head).map(|kind| kind.mime_type()) {
        Some(
            mime @ ("audio/x-wav" | "audio/mpeg" | "audio/x-flac" | "audio/ogg" | "audio/opus" | "audio/m4a"
            | "audio/aac" | "video/mp4" | "video/quicktime"),
        ) => Ok(mime),
        Some(other) => Err(Unsupported(other.into())),
        None if looks_like_text(head) => Err(Unsupported("text".into())),
        None => Err(Unsupported("application/octet-stream".into())),
    }
}

fn empty_unknown(ext: &str) -> Unsupported {
    Unsupported(if ext.is_empty() {
        "an empty file without an extension".into()
    } else {
        format!("an empty .{ext} file")
    })
}

fn office_extension(ext: &str) -> Option<FileKind> {
    match ext {
        "docx" => Some(FileKind::Docx),
        "pptx" => Some(FileKind::Pptx),
        "xlsx" => Some(FileKind::Xlsx),
        "pdf" => Some(FileKind::Pdf),
        _ => None,
    }
}

/// A zip whose first entry did not tell `infer` what it is: look for the parts' names.
fn office_zip(head: &[u8], ext: &str) -> Option<FileKind> {
    let contains = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if contains(b"word/") {
        Some(FileKind::Docx)
    } else if contains(b"ppt/") {
        Some(FileKind::Pptx)
    } else if contains(b"xl/") {
        Some(FileKind::Xlsx)
    } else {
        office_extension(ext).filter(|kind| *kind != FileKind::Pdf)
    }
}

fn from_text_extension(ext: &str) -> Option<FileKind> {
    match ext {
        "md" | "markdown" => Some(FileKind::Markdown),
        "csv" => Some(FileKind::Csv),
        "json" => Some(FileKind::Json),
        "html" | "htm" => Some(FileKind::Html),
        "txt" | "text" | "log" => Some(FileKind::Text),
        _ => None,
    }
}

/// Text of some kind: the name decides among the text formats, and content that parses as
/// JSON or starts like HTML is that whatever its name.
fn text_kind(head: &[u8], ext: &str) -> FileKind {
    let decoded = crate::encoding::decode(head);
    let start = decoded.trim_start();
    let lower: String = start.chars().take(15).collect::<String>().to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return FileKind::Html;
    }
    match from_text_extension(ext) {
        Some(kind) => kind,
        None if (start.starts_with('{') || start.starts_with('['))
            && serde_json::from_str::<serde_json::Value>(start).is_ok() =>
        {
            FileKind::Json
        }
        None => FileKind::Text,
    }
}

/// Text in any common encoding (see `crate::encoding`).
fn looks_like_text(head: &[u8]) -> bool {
    crate::encoding::is_text(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_starts_like_a_binary_signature_is_text() {
        // "BC" is LLVM bitcode's signature to `infer`; a SciFact abstract starts with it.
        assert_eq!(detect(b"BC1 RNA, the transcript from a master gene", "7912.txt"), Ok(FileKind::Text));
        assert_eq!(detect(b"MZ is a common abbreviation", "notes.md"), Ok(FileKind::Markdown));
        assert!(detect(b"BC\xc0\xde\x35\x14\x00\x00\x05\x00", "x.bc").is_err());
    }

    #[test]
    fn a_pdf_is_a_pdf_whatever_its_name() {
        assert_eq!(detect(b"%PDF-1.7\n...", "notes.txt"), Ok(FileKind::Pdf));
    }

    #[test]
    fn text_formats_are_told_apart_by_name_and_content() {
        assert_eq!(detect(b"# Title\n\nBody", "a.md"), Ok(FileKind::Markdown));
        assert_eq!(detect(b"a,b\n1,2\n", "a.csv"), Ok(FileKind::Csv));
        assert_eq!(detect(b"{\"a\": 1}", "data"), Ok(FileKind::Json));
        assert_eq!(detect(b"<!DOCTYPE html><html><body>x</body></html>", "page.txt"), Ok(FileKind::Html));
        assert_eq!(detect("plain words, caf\u{e9}".as_bytes(), "notes"), Ok(FileKind::Text));
    }

    #[test]
    fn text_in_other_encodings_is_text() {
        let mut utf16 = vec![0xff, 0xfe];
        "# Réunion\n\nOrdre du jour".encode_utf16().for_each(|unit| utf16.extend(unit.to_le_bytes()));
        assert_eq!(detect(&utf16, "notes.md"), Ok(FileKind::Markdown));
        assert_eq!(detect(&utf16, "notes"), Ok(FileKind::Text));
        let (latin, _, _) = encoding_rs::WINDOWS_1252.encode("nom;rôle\nAdèle;ingénieure\n");
        assert_eq!(detect(&latin, "équipe.csv"), Ok(FileKind::Csv));
        let mut json = vec![0xfe, 0xff];
        "{\"a\": \"é\"}".encode_utf16().for_each(|unit| json.extend(unit.to_be_bytes()));
        assert_eq!(detect(&json, "data"), Ok(FileKind::Json));
    }

    #[test]
    fn binary_content_is_refused_whatever_its_name() {
        assert!(detect(&[0u8, 1, 2, 3, 0xff, 0xfe, 7, 8], "report.pdf").is_err());
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(detect(png, "a.txt"), Err(Unsupported("image/png".into())));
    }

    #[test]
    fn an_empty_file_takes_its_kind_from_its_name() {
        assert_eq!(detect(b"", "empty.txt"), Ok(FileKind::Text));
        assert!(detect(b"", "empty.bin").is_err());
    }

    #[test]
    fn every_kind_round_trips_through_its_mime_type() {
        for kind in SUPPORTED {
            assert_eq!(FileKind::from_mime_type(kind.mime_type()), Some(kind));
        }
    }
}
