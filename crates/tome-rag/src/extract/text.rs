//! Text formats: plain text (paragraphs), Markdown (headings with pulldown-cmark), JSON
//! (one section per field path) and CSV (one section per row, labelled by the header).

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
use serde_json::Value;

use super::{ExtractError, Location, Section, tidy};
use crate::detect::FileKind;

/// Text in whatever encoding it came in (see `crate::encoding`).
pub(super) fn decode(bytes: &[u8]) -> String {
    crate::encoding::decode(bytes)
}

/// Paragraphs separated by blank lines.
pub(super) fn plain(text: &str) -> Vec<Section> {
    text.split("\n\n")
        .map(|paragraph| Section { text: paragraph.trim().to_owned(), location: timed(paragraph, Location::default()) })
        .collect()
}

/// Blocks of Markdown under their heading path: headings are sections too, so a title is
/// searchable and a chunk can break before it.
pub(super) fn markdown(text: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut headings: Vec<(HeadingLevel, String)> = Vec::new();
    let mut buffer = String::new();
    let mut heading: Option<HeadingLevel> = None;
    let path = |headings: &[(HeadingLevel, String)]| headings.iter().map(|(_, h)| h.clone()).collect::<Vec<_>>();
    for event in Parser::new_ext(text, pulldown_cmark::Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut sections, &mut buffer, path(&headings));
                heading = Some(level);
            }
            Event::End(TagEnd::Heading(level)) => {
                let title = tidy(&std::mem::take(&mut buffer));
                headings.retain(|(existing, _)| *existing < level);
                headings.push((level, title.clone()));
                sections.push(Section {
                    text: title,
                    location: Location { heading_path: path(&headings), ..Default::default() },
                });
                heading = None;
            }
            Event::Text(piece) | Event::Code(piece) | Event::InlineMath(piece) | Event::DisplayMath(piece) => {
                buffer.push_str(&piece)
            }
            Event::SoftBreak | Event::HardBreak => buffer.push(if heading.is_some() { ' ' } else { '\n' }),
            Event::End(TagEnd::TableCell) => buffer.push_str(" | "),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableRow
                | TagEnd::TableHead
                | TagEnd::BlockQuote(_),
            ) => flush(&mut sections, &mut buffer, path(&headings)),
            _ => {}
        }
    }
    flush(&mut sections, &mut buffer, path(&headings));
    sections
}

fn flush(sections: &mut Vec<Section>, buffer: &mut String, heading_path: Vec<String>) {
    let text = std::mem::take(buffer);
    let text = text.trim().trim_end_matches('|').trim();
    if !text.is_empty() {
        let location = timed(text, Location { heading_path, ..Default::default() });
        sections.push(Section { text: text.to_owned(), location });
    }
}

/// `location` with the time of a paragraph that opens with a time stamp (a transcript's).
fn timed(text: &str, location: Location) -> Location {
    Location { time: crate::meeting::render::leading_stamp(text), ..location }
}

/// One section per leaf value group: the object path is the heading, scalars are written
/// `key: value`.
pub(super) fn json(bytes: &[u8]) -> Result<Vec<Section>, ExtractError> {
    let value: Value = serde_json::from_str(&decode(bytes)).map_err(|e| ExtractError::corrupt(FileKind::Json, e))?;
    let mut sections = Vec::new();
    walk_json(&value, &mut Vec::new(), &mut sections);
    Ok(sections)
}

fn walk_json(value: &Value, path: &mut Vec<String>, sections: &mut Vec<Section>) {
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    };
    let mut lines = Vec::new();
    let nested: Vec<(String, &Value)> = match value {
        Value::Object(fields) => {
            let mut nested = Vec::new();
            for (key, field) in fields {
                match scalar(field) {
                    Some(text) => lines.push(format!("{key}: {text}")),
                    None if !field.is_null() => nested.push((key.clone(), field)),
                    None => {}
                }
            }
            nested
        }
        Value::Array(items) => {
            let mut nested = Vec::new();
            for (index, item) in items.iter().enumerate() {
                match scalar(item) {
                    Some(text) => lines.push(text),
                    None => nested.push((format!("[{index}]"), item)),
                }
            }
            nested
        }
        other => {
            lines.extend(scalar(other));
            Vec::new()
        }
    };
    if !lines.is_empty() {
        let location = Location { heading_path: path.clone(), ..Default::default() };
        sections.push(Section { text: lines.join("\n"), location });
    }
    for (key, child) in nested {
        path.push(key);
        walk_json(child, path, sections);
        path.pop();
    }
}

/// One section per record, `header: value; …`, with its 1-based row number (the header is
/// row 1).
pub(super) fn csv(bytes: &[u8]) -> Result<Vec<Section>, ExtractError> {
    let text = decode(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .delimiter(delimiter(&text))
        .from_reader(text.as_bytes());
    let headers: Vec<String> =
        reader.headers().map_err(|e| ExtractError::corrupt(FileKind::Csv, e))?.iter().map(str::to_owned).collect();
    let mut sections =
        vec![Section { text: headers.join(" | "), location: Location { row: Some(1), ..Default::default() } }];
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ExtractError::corrupt(FileKind::Csv, e))?;
        let row = u32::try_from(index + 2).unwrap_or(u32::MAX);
        sections.push(Section {
            text: labelled_row(&headers, record.iter()),
            location: Location { row: Some(row), ..Default::default() },
        });
    }
    Ok(sections)
}

/// The separator of a CSV file, from its header line: a comma, or the semicolon that
/// spreadsheets write where the comma is the decimal mark, or a tab or a bar — whichever the
/// header holds most of (outside quotes).
fn delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for byte in header.bytes() {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(count) = counts.iter_mut().find(|(d, _)| *d == byte) {
            count.1 += 1;
        }
    }
    // The first of the most frequent: a comma on a tie, and when there is none at all.
    counts.iter().fold((b',', 0), |best, &(d, n)| if n > best.1 { (d, n) } else { best }).0
}

/// `header: value; …` for the non-empty cells of a row.
pub(super) fn labelled_row<'a>(headers: &[String], cells: impl Iterator<Item = &'a str>) -> String {
    cells
        .enumerate()
        .filter(|(_, cell)| !cell.trim().is_empty())
        .map(|(i, cell)| match headers.get(i).filter(|h| !h.is_empty()) {
            Some(header) => format!("{header}: {}", cell.trim()),
            None => cell.trim().to_owned(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn markdown_sections_carry_their_heading_path() {
        let sections = markdown("# Guide\n\nIntro text.\n\n## Install\n\nRun it.\n\n# Other\n\nMore.");
        let found: Vec<(&str, Vec<String>)> =
            sections.iter().map(|s| (s.text.as_str(), s.location.heading_path.clone())).collect();
        assert_eq!(found[1], ("Intro text.", vec!["Guide".to_owned()]));
        assert_eq!(found[3], ("Run it.", vec!["Guide".to_owned(), "Install".to_owned()]));
        assert_eq!(found[5], ("More.", vec!["Other".to_owned()]));
    }

    #[test]
    fn csv_rows_are_labelled_by_the_header_and_numbered() {
        let sections = csv(b"name,role\nAda,engineer\nGrace,admiral\n").unwrap();
        assert_eq!(sections[2].text, "name: Grace; role: admiral");
        assert_eq!(sections[2].location.row, Some(3));
    }

    #[test]
    fn csv_separators_other_than_the_comma_are_recognised() {
        let sections = csv("nom;montant\n\"Dupont; Jean\";1,50\n".as_bytes()).unwrap();
        assert_eq!(sections[1].text, "nom: Dupont; Jean; montant: 1,50");
        let sections = csv(b"a\tb\n1\t2\n").unwrap();
        assert_eq!(sections[1].text, "a: 1; b: 2");
        assert_eq!(delimiter("\"x;y\",z\n"), b',');
    }

    #[test]
    fn json_fields_become_lines_under_their_path() {
        let sections = json(br#"{"title": "Plan", "steps": [{"do": "build"}], "n": 3}"#).unwrap();
        assert_eq!(sections[0].text, "n: 3\ntitle: Plan");
        assert_eq!(sections[1].location.heading_path, vec!["steps".to_owned(), "[0]".to_owned()]);
    }

    #[test]
    fn broken_json_is_corrupt() {
        assert!(matches!(json(b"{\"a\": "), Err(ExtractError::Corrupt { kind: FileKind::Json, .. })));
    }
}
