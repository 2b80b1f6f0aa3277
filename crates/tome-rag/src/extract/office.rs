//! Office Open XML: DOCX and PPTX read with zip + quick-xml (paragraphs, heading styles,
//! slides), XLSX with calamine (sheets and rows). Before any parser runs, every part of the
//! zip is inflated into a counter, so a zip bomb is refused without ever being held.

use std::collections::HashMap;
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

/// Word documents: one section per paragraph (text boxes and table cells included); heading
/// styles build the heading path, recognised by their name or outline level in `styles.xml`
/// whatever their id (German Word's `berschrift1` is "heading 1"); the text of headers and
/// footers follows the body, each once.
pub(super) fn docx(bytes: &[u8], limits: Limits) -> Result<Vec<Section>, ExtractError> {
    let mut archive = open(FileKind::Docx, bytes, limits)?;
    let xml = read_part(FileKind::Docx, &mut archive, "word/document.xml")?;
    let styles = match archive.index_for_name("word/styles.xml") {
        Some(_) => heading_styles(&read_part(FileKind::Docx, &mut archive, "word/styles.xml")?),
        None => HashMap::new(),
    };
    let mut body = paragraphs(FileKind::Docx, &xml, "w", &styles)?;
    let mut margins: Vec<String> = archive
        .file_names()
        .filter_map(|name| name.ok().map(std::borrow::Cow::into_owned))
        .filter(|name| (name.starts_with("word/header") || name.starts_with("word/footer")) && name.ends_with(".xml"))
        .collect();
    margins.sort();
    let mut seen = std::collections::HashSet::new();
    for name in margins {
        let xml = read_part(FileKind::Docx, &mut archive, &name)?;
        for mut paragraph in paragraphs(FileKind::Docx, &xml, "w", &styles)? {
            // Header and footer text is not part of the outline, and repeats across sections.
            paragraph.heading = None;
            paragraph.margin = true;
            if seen.insert(paragraph.text.clone()) {
                body.push(paragraph);
            }
        }
    }
    let mut headings: Vec<(u32, String)> = Vec::new();
    let mut sections = Vec::new();
    for paragraph in body {
        let text = tidy(&paragraph.text);
        if text.is_empty() {
            continue;
        }
        if let Some(level) = paragraph.heading {
            headings.retain(|(existing, _)| *existing < level);
            headings.push((level, text.clone()));
        }
        let heading_path =
            if paragraph.margin { Vec::new() } else { headings.iter().map(|(_, h)| h.clone()).collect() };
        sections.push(Section { text, location: Location { heading_path, ..Default::default() } });
    }
    Ok(sections)
}

/// Presentations: the slides in order, one section per paragraph, each with its slide number.
pub(super) fn pptx(bytes: &[u8], limits: Limits) -> Result<Vec<Section>, ExtractError> {
    let mut archive = open(FileKind::Pptx, bytes, limits)?;
    let slides = match listed_slides(&mut archive) {
        Some(listed) => listed,
        None => {
            // No readable slide list: the slides' file numbers.
            let mut numbered: Vec<(u32, String)> = archive
                .file_names()
                .filter_map(|name| {
                    let name = name.ok()?;
                    let number = name.strip_prefix("ppt/slides/slide")?.strip_suffix(".xml")?.parse().ok()?;
                    Some((number, name.into_owned()))
                })
                .collect();
            numbered.sort();
            numbered.into_iter().map(|(_, name)| name).collect()
        }
    };
    let mut sections = Vec::new();
    for (position, name) in slides.iter().enumerate() {
        let xml = read_part(FileKind::Pptx, &mut archive, name)?;
        let slide = u32::try_from(position + 1).unwrap_or(u32::MAX);
        for paragraph in paragraphs(FileKind::Pptx, &xml, "a", &HashMap::new())? {
            let text = tidy(&paragraph.text);
            if !text.is_empty() {
                sections.push(Section { text, location: Location { slide: Some(slide), ..Default::default() } });
            }
        }
    }
    Ok(sections)
}

/// The slides' parts in the order `ppt/presentation.xml` lists them (its `p:sldIdLst`,
/// resolved through its relationships): the order a person arranged, which the parts'
/// file numbers need not follow. None when either part is missing or unreadable.
fn listed_slides(archive: &mut Archive<'_>) -> Option<Vec<String>> {
    let presentation = read_part(FileKind::Pptx, archive, "ppt/presentation.xml").ok()?;
    let relationships = read_part(FileKind::Pptx, archive, "ppt/_rels/presentation.xml.rels").ok()?;
    let targets: HashMap<String, String> = elements(&relationships, "Relationship")
        .into_iter()
        .filter_map(|attributes| Some((attributes.get("Id")?.clone(), attributes.get("Target")?.clone())))
        .collect();
    let slides: Vec<String> = elements(&presentation, "p:sldId")
        .into_iter()
        .filter_map(|attributes| {
            let target = targets.get(attributes.get("r:id")?)?;
            Some(match target.strip_prefix('/') {
                Some(absolute) => absolute.to_owned(),
                None => format!("ppt/{target}"),
            })
        })
        .collect();
    let present = slides.iter().all(|name| archive.index_for_name(name).is_some());
    (!slides.is_empty() && present).then_some(slides)
}

/// The attributes of every element named `name` in `xml` (an unreadable part: none).
fn elements(xml: &str, name: &str) -> Vec<HashMap<String, String>> {
    let mut reader = Reader::from_str(xml);
    let mut found = Vec::new();
    while let Ok(event) = reader.read_event() {
        match event {
            Event::Start(tag) | Event::Empty(tag) if tag.name().as_ref() == name => {
                let attributes =
                    tag.attributes().flatten().map(|a| (a.key.as_ref().to_owned(), a.value.to_string())).collect();
                found.push(attributes);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    found
}

/// Heading levels of a document's paragraph styles, by style id: a style named "Title" is
/// level 0, "heading N" (any case) level N, else its outline level plus one, else that of
/// the style it is based on.
fn heading_styles(xml: &str) -> HashMap<String, u32> {
    struct Style {
        name: Option<String>,
        outline: Option<u32>,
        based_on: Option<String>,
    }
    let mut reader = Reader::from_str(xml);
    let mut styles: HashMap<String, Style> = HashMap::new();
    let mut current: Option<(String, Style)> = None;
    let value = |tag: &quick_xml::events::BytesStart<'_>| {
        tag.try_get_attribute("w:val").ok().flatten().map(|a| a.value.to_string())
    };
    while let Ok(event) = reader.read_event() {
        match event {
            Event::Start(tag) if tag.name().as_ref() == "w:style" => {
                let id = tag.try_get_attribute("w:styleId").ok().flatten();
                let id = id.map(|a| a.value.to_string());
                current = id.map(|id| (id, Style { name: None, outline: None, based_on: None }));
            }
            Event::End(tag) if tag.name().as_ref() == "w:style" => {
                if let Some((id, style)) = current.take() {
                    styles.insert(id, style);
                }
            }
            Event::Empty(tag) | Event::Start(tag) => {
                let Some((_, style)) = current.as_mut() else { continue };
                match tag.name().as_ref() {
                    "w:name" => style.name = value(&tag),
                    "w:outlineLvl" => style.outline = value(&tag).and_then(|v| v.parse().ok()),
                    "w:basedOn" => style.based_on = value(&tag),
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let own = |style: &Style| -> Option<u32> {
        let name = style.name.as_deref().unwrap_or_default().to_lowercase();
        if name == "title" {
            return Some(0);
        }
        if let Some(level) = name.strip_prefix("heading ").and_then(|n| n.trim().parse().ok()) {
            return Some(level);
        }
        // Outline levels 0–8 are headings; 9 is body text.
        style.outline.filter(|level| *level < 9).map(|level| level + 1)
    };
    let mut levels = HashMap::new();
    for (id, style) in &styles {
        // Up a bounded chain of `basedOn`: a cycle in a hostile file ends, too.
        let mut at = Some(style);
        for _ in 0..10 {
            let Some(style) = at else { break };
            if let Some(level) = own(style) {
                levels.insert(id.clone(), level);
                break;
            }
            at = style.based_on.as_ref().and_then(|base| styles.get(base));
        }
    }
    levels
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
    /// From a header or footer, outside the outline.
    margin: bool,
}

/// The paragraphs (`<ns:p>`) of a WordprocessingML or DrawingML part, with text runs
/// (`<ns:t>`), tabs and breaks, and the heading level of their style (`styles`, by id, or
/// an id such as `Heading2`). A paragraph inside another (a text box in
/// the paragraph it is anchored to) is its own, listed before the one that holds it; the
/// `mc:Fallback` copy of a drawing, for readers that do not know the `mc:Choice`, is skipped.
fn paragraphs(
    kind: FileKind,
    xml: &str,
    ns: &str,
    styles: &HashMap<String, u32>,
) -> Result<Vec<Paragraph>, ExtractError> {
    let (p, t, tab, br, style, outline) = (
        format!("{ns}:p"),
        format!("{ns}:t"),
        format!("{ns}:tab"),
        format!("{ns}:br"),
        format!("{ns}:pStyle"),
        format!("{ns}:outlineLvl"),
    );
    let mut reader = Reader::from_str(xml);
    let mut found = Vec::new();
    let mut open: Vec<Paragraph> = Vec::new();
    let mut in_text = false;
    let mut fallback_depth = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| ExtractError::corrupt(kind, e))?;
        match event {
            Event::Start(tag) if tag.name().as_ref() == "mc:Fallback" => fallback_depth += 1,
            Event::End(tag) if tag.name().as_ref() == "mc:Fallback" => {
                fallback_depth = fallback_depth.saturating_sub(1)
            }
            Event::Eof => break,
            _ if fallback_depth > 0 => {}
            Event::Start(tag) if tag.name().as_ref() == p => {
                open.push(Paragraph { text: String::new(), heading: None, margin: false })
            }
            Event::Start(tag) if tag.name().as_ref() == t => in_text = true,
            Event::End(tag) if tag.name().as_ref() == t => in_text = false,
            Event::End(tag) if tag.name().as_ref() == p => found.extend(open.pop()),
            Event::Empty(tag) | Event::Start(tag) => {
                let name = tag.name();
                let Some(paragraph) = open.last_mut() else { continue };
                if name.as_ref() == tab {
                    paragraph.text.push('\t');
                } else if name.as_ref() == br || name.as_ref() == "w:cr" {
                    paragraph.text.push('\n');
                } else if name.as_ref() == style {
                    let id =
                        tag.try_get_attribute("w:val").ok().flatten().map(|a| a.value.to_string()).unwrap_or_default();
                    paragraph.heading = styles.get(&id).copied().or_else(|| heading_level(&id));
                } else if name.as_ref() == outline {
                    // An outline level set on the paragraph itself (0–8; 9 is body text).
                    let value = tag.try_get_attribute("w:val").ok().flatten().map(|a| a.value.to_string());
                    let level = value.and_then(|v| v.parse::<u32>().ok());
                    if let Some(level) = level.filter(|level| *level < 9) {
                        paragraph.heading = Some(level + 1);
                    }
                }
            }
            Event::Text(text) if in_text => {
                if let Some(paragraph) = open.last_mut() {
                    paragraph.text.push_str(&text.xml10_content());
                }
            }
            Event::GeneralRef(reference) if in_text => {
                if let Some(paragraph) = open.last_mut() {
                    paragraph.text.extend(entity(&reference));
                }
            }
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
