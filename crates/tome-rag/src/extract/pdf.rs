//! PDF through pdf-extract (over lopdf), one page at a time so that every section knows its
//! page. An encrypted file that the empty password does not open is reported as such.

use pdf_extract::{Document, PlainTextOutput, output_doc_page};

use super::{ExtractError, Location, Section};
use crate::detect::FileKind;

pub(super) fn extract(bytes: &[u8]) -> Result<Vec<Section>, ExtractError> {
    let mut document = Document::load_mem(bytes).map_err(|error| {
        if error.to_string().to_ascii_lowercase().contains("decrypt") {
            ExtractError::Encrypted(FileKind::Pdf)
        } else {
            ExtractError::corrupt(FileKind::Pdf, error)
        }
    })?;
    if document.is_encrypted() && document.decrypt("").is_err() {
        return Err(ExtractError::Encrypted(FileKind::Pdf));
    }
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    if pages.is_empty() {
        return Err(ExtractError::corrupt(FileKind::Pdf, "it has no pages"));
    }
    let mut sections = Vec::new();
    for page in pages {
        let mut text = String::new();
        {
            let mut output = PlainTextOutput::new(&mut text);
            output_doc_page(&document, &mut output, page).map_err(|e| ExtractError::corrupt(FileKind::Pdf, e))?;
        }
        for paragraph in text.split("\n\n") {
            let paragraph = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
            if !paragraph.is_empty() {
                sections
                    .push(Section { text: paragraph, location: Location { page: Some(page), ..Default::default() } });
            }
        }
    }
    Ok(sections)
}
