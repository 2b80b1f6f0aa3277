//! Office Open XML: DOCX and PPTX read with zip + quick-xml (paragraphs, heading styles,
//! slides), XLSX with calamine (sheets and rows). Before any parser runs, every part of the
//! zip is inflated into a counter, so a zip bomb is refused without ever being held.

use std::io::{Cursor, Read};

use calamine::{Reader as _, Xlsx, open_workbook_from_rs};
use quick_xml::Reader;
use quick_xml::events::{BytesRef, Event};
use zip::ZipArchive;

use super::text::labelled_row;
use super::{ExtractError, Limits, Location, Section, tidy};
use crate::detect::FileKind;

/// An OLE compound file: what a password-protected Office document is wrapped in.
const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

type Archive<'a> = ZipArchive<Cursor<&'a [u8]>>;

/// Opens the zip after checking what it inflates to.
fn open(kind: FileKind, bytes: &[u8], limits: Limits) -> Result<Archive<'_>, ExtractError> {
    if bytes.starts_with(&OLE_MAGIC) {
        return Err(ExtractError::Encrypted(kind));
    }
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| ExtractError::corrupt(kind, e))?;
    let mut budget = limits.max_inflated_bytes;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(|e| ExtractError::corrupt(kind, e))?;
        if entry.encrypted() {
            return Err(ExtractError::Encrypted(kind));
        }
        // Count what the entry really inflates to: the size in the header may lie.
        let inflated = std::io::copy(&mut entry.take(budget + 1), &mut std::io::sink())
            .map_err(|e| ExtractError::corrupt(kind, e))?;
        if inflated > budget {
            return Err(ExtractError::TooLargeUnpacked { limit_mib: limits.max_inflated_bytes / (1024 * 1024) });
        }
        budget -= inflated;
    }
    Ok(archive)
}

fn read_part(kind: FileKind, archive: &mut Archive<'_>, name: &str) -> Result<String, ExtractError> {
    let mut entry =
        archive.by_name(name).map_err(|_| ExtractError::corrupt(kind, format!("the part {name} is missing")))?;
    let mut text = String::new();
    entry.read_to_string(&mut text).map_err(|e| ExtractError::corrupt(kind, e))?;
    Ok(text)
}

/// Word documents: one section per paragraph; `Heading1`…`Heading9` and `Title` styles
/// build the heading path.
pub(super) fn docx(bytes: &[u8], limits: Limits) -> Result<Vec<Section>, ExtractError> {
    let mut archive = open(FileKind::Docx, bytes, limits)?;
    let xml = read_part(FileKind::Docx, &mut archive, "word/document.xml")?;
    let paragraphs = paragraphs(FileKind::Docx, &xml, "w")?;
    let mut headings: Vec<(u32, String)> = Vec::new();
    let mut sections = Vec::new();
    for paragraph in paragraphs {
        let text = tidy(&paragraph.text);
        if text.is_empty() {
            continue;
        }
        if let Some(level) = paragraph.heading {
            headings.retain(|(existing, _)| *existing < level);
            headings.push((level, text.clone()));
        }
        let heading_path = headings.iter().map(|(_, h)| h.clone()).collect();
        sections.push(Section { text, location: Location { heading_path, ..Default::default() } });
    }
    Ok(sections)
}

/// Presentations: the slides in order, one section per paragraph, each with its slide number.
pub(super) fn pptx(bytes: &[u8], limits: Limits) -> Result<Vec<Section>, ExtractError> {
    let mut archive = open(FileKind::Pptx, bytes, limits)?;
    let mut slides: Vec<(u32, String)> = archive
        .file_names()
        .filter_map(|name| {
            let name = name.ok()?;
            let number = name.strip_prefix("ppt/slides/slide")?.strip_suffix(".xml")?.parse().ok()?;
            Some((number, name.into_owned()))
        })
        .collect();
    slides.sort();
    let mut sections = Vec::new();
    for (position, (_, name)) in slides.iter().enumerate() {
        let xml = read_part(FileKind::Pptx, &mut archive, name)?;
        let slide = u32::try_from(position + 1).unwrap_or(u32::MAX);
        for paragraph in paragraphs(FileKind::Pptx, &xml, "a")? {
            let text = tidy(&paragraph.text);
            if !text.is_empty() {
                sections.push(Section { text, location: Location { slide: Some(slide), ..Default::default() } });
            }
        }
    }
    Ok(sections)
}

/// Spreadsheets: each sheet's first non-empty row is its header; every other row is a
/// section `header: value; …` with the sheet name and 1-based row number.
pub(super) fn xlsx(bytes: &[u8], limits: Limits) -> Result<Vec<Section>, ExtractError> {
    drop(open(FileKind::Xlsx, bytes, limits)?);
    let mut workbook: Xlsx<_> =
        open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| ExtractError::corrupt(FileKind::Xlsx, e))?;
    let mut sections = Vec::new();
    for sheet in workbook.sheet_names() {
        let range = workbook.worksheet_range(&sheet).map_err(|e| ExtractError::corrupt(FileKind::Xlsx, e))?;
        let first_row = range.start().map(|(row, _)| row).unwrap_or(0);
        let mut header: Option<Vec<String>> = None;
        for (index, cells) in range.rows().enumerate() {
            let cells: Vec<String> = cells.iter().map(ToString::to_string).collect();
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let row = first_row + u32::try_from(index).unwrap_or(u32::MAX) + 1;
            let text = match &header {
                None => {
                    let text = cells.iter().map(|c| c.trim()).filter(|c| !c.is_empty()).collect::<Vec<_>>().join(" | ");
                    header = Some(cells);
                    text
                }
                Some(names) => labelled_row(names, cells.iter().map(String::as_str)),
            };
            let location = Location { sheet: Some(sheet.clone()), row: Some(row), ..Default::default() };
            sections.push(Section { text, location });
        }
    }
    Ok(sections)
}

struct Paragraph {
    text: String,
    heading: Option<u32>,
}

/// The paragraphs (`<ns:p>`) of a WordprocessingML or DrawingML part, with text runs
/// (`<ns:t>`), tabs and breaks, and the heading level of a `pStyle` such as `Heading2`.
fn paragraphs(kind: FileKind, xml: &str, ns: &str) -> Result<Vec<Paragraph>, ExtractError> {
    let (p, t, tab, br, style) =
        (format!("{ns}:p"), format!("{ns}:t"), format!("{ns}:tab"), format!("{ns}:br"), format!("{ns}:pStyle"));
    let mut reader = Reader::from_str(xml);
    let mut found = Vec::new();
    let mut current: Option<Paragraph> = None;
    let mut in_text = false;
    loop {
        let event = reader.read_event().map_err(|e| ExtractError::corrupt(kind, e))?;
        match event {
            Event::Start(tag) if tag.name().as_ref() == p => {
                current = Some(Paragraph { text: String::new(), heading: None })
            }
            Event::Start(tag) if tag.name().as_ref() == t => in_text = true,
            Event::End(tag) if tag.name().as_ref() == t => in_text = false,
            Event::End(tag) if tag.name().as_ref() == p => found.extend(current.take()),
            Event::Empty(tag) | Event::Start(tag) => {
                let name = tag.name();
                let Some(paragraph) = current.as_mut() else { continue };
                if name.as_ref() == tab {
                    paragraph.text.push('\t');
                } else if name.as_ref() == br || name.as_ref() == "w:cr" {
                    paragraph.text.push('\n');
                } else if name.as_ref() == style {
                    let value = tag.try_get_attribute("w:val").ok().flatten().map(|a| a.value.into_owned());
                    paragraph.heading = value.as_deref().and_then(heading_level);
                }
            }
            Event::Text(text) if in_text => {
                if let Some(paragraph) = current.as_mut() {
                    paragraph.text.push_str(&text.xml10_content());
                }
            }
            Event::GeneralRef(reference) if in_text => {
                if let Some(paragraph) = current.as_mut() {
                    paragraph.text.extend(entity(&reference));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(found)
}

fn entity(reference: &BytesRef<'_>) -> Option<char> {
    if reference.is_char_ref() {
        return reference.resolve_char_ref().ok().flatten();
    }
    match reference.as_ref() {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}

fn heading_level(style: &str) -> Option<u32> {
    if style == "Title" {
        return Some(0);
    }
    style.strip_prefix("Heading").and_then(|n| n.parse().ok())
}
