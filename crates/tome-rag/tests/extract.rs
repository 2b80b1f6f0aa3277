//! Extraction of real files of every supported type, and of broken ones.

#![expect(clippy::expect_used, reason = "tests")]

use serde_json::json;
use tome_rag::chunk::{ChunkSettings, Chunker, EstimatedTokens};
use tome_rag::detect::{FileKind, detect};
use tome_rag::extract::{ExtractError, Limits, extract};
use tome_testkit::files;

fn sections_of(kind: FileKind, bytes: &[u8], name: &str) -> Vec<tome_rag::extract::Section> {
    assert_eq!(detect(&bytes[..bytes.len().min(8192)], name), Ok(kind), "{name}");
    extract(kind, bytes, Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn pdf_pages_are_numbered() {
    let bytes = files::pdf(&[&["The first page talks about apples."], &["The second page is about pears."]]);
    let sections = sections_of(FileKind::Pdf, &bytes, "fruit.pdf");
    let pear = sections.iter().find(|s| s.text.contains("pears")).expect("page 2 text");
    assert_eq!(pear.location.page, Some(2));
    let apple = sections.iter().find(|s| s.text.contains("apples")).expect("page 1 text");
    assert_eq!(apple.location.page, Some(1));
}

#[test]
fn docx_paragraphs_carry_heading_paths() {
    let bytes = files::docx(&[
        (Some("Heading1"), "Policies"),
        (None, "Everyone follows these."),
        (Some("Heading2"), "Travel"),
        (None, "Book trains & planes early."),
    ]);
    let sections = sections_of(FileKind::Docx, &bytes, "policy.docx");
    let travel = sections.iter().find(|s| s.text.starts_with("Book")).expect("body");
    assert_eq!(travel.text, "Book trains & planes early.");
    assert_eq!(travel.location.heading_path, ["Policies", "Travel"]);
}

#[test]
fn pptx_sections_know_their_slide() {
    let bytes = files::pptx(&[&["Welcome"], &["Quarterly results", "Revenue grew"], &["Questions"]]);
    let sections = sections_of(FileKind::Pptx, &bytes, "deck.pptx");
    let revenue = sections.iter().find(|s| s.text == "Revenue grew").expect("slide 2");
    assert_eq!(revenue.location.slide, Some(2));
    assert_eq!(sections.last().map(|s| s.location.slide), Some(Some(3)));
}

#[test]
fn xlsx_rows_are_labelled_with_sheet_and_row() {
    let bytes =
        files::xlsx(&[("Staff", &[&["name", "team"], &["Ada", "Engines"], &["Grace", "Compilers"]]), ("Empty", &[])]);
    let sections = sections_of(FileKind::Xlsx, &bytes, "staff.xlsx");
    let grace = sections.iter().find(|s| s.text.contains("Grace")).expect("row");
    assert_eq!(grace.text, "name: Grace; team: Compilers");
    assert_eq!(grace.location.sheet.as_deref(), Some("Staff"));
    assert_eq!(grace.location.row, Some(3));
}

#[test]
fn spreadsheet_chunks_record_their_row_range() {
    let bytes = files::xlsx(&[("Data", &[&["k", "v"], &["a", "1"], &["b", "2"], &["c", "3"]])]);
    let sections = sections_of(FileKind::Xlsx, &bytes, "d.xlsx");
    let chunks = Chunker::new(std::sync::Arc::new(EstimatedTokens), ChunkSettings::default()).chunk(&sections);
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].metadata["sheet"], json!("Data"));
    assert_eq!((chunks[0].metadata["row_start"].clone(), chunks[0].metadata["row_end"].clone()), (json!(1), json!(4)));
}

#[test]
fn an_encrypted_pdf_says_it_is_encrypted() {
    let bytes = files::encrypted_pdf();
    let result = extract(FileKind::Pdf, &bytes, Limits::default());
    assert_eq!(result, Err(ExtractError::Encrypted(FileKind::Pdf)));
}

#[test]
fn a_password_protected_office_file_says_it_is_encrypted() {
    let bytes = files::ole_encrypted_office();
    assert_eq!(detect(&bytes, "secret.docx"), Ok(FileKind::Docx));
    assert_eq!(extract(FileKind::Docx, &bytes, Limits::default()), Err(ExtractError::Encrypted(FileKind::Docx)));
}

#[test]
fn a_truncated_docx_is_corrupt() {
    let bytes = files::docx(&[(None, "Hello")]);
    let result = extract(FileKind::Docx, &bytes[..bytes.len() / 2], Limits::default());
    assert!(matches!(result, Err(ExtractError::Corrupt { kind: FileKind::Docx, .. })), "{result:?}");
}

#[test]
fn a_zip_bomb_is_refused_before_it_is_parsed() {
    let bytes = files::zip_bomb_docx(64);
    assert!(bytes.len() < 1024 * 1024, "the bomb is small on disk: {}", bytes.len());
    let limits = Limits { max_inflated_bytes: 16 * 1024 * 1024, ..Limits::default() };
    let result = extract(FileKind::Docx, &bytes, limits);
    assert_eq!(result, Err(ExtractError::TooLargeUnpacked { limit_mib: 16 }));
}

#[test]
fn garbage_with_a_pdf_header_is_corrupt() {
    let result = extract(FileKind::Pdf, b"%PDF-1.4\nthis is not really a pdf", Limits::default());
    assert!(matches!(result, Err(ExtractError::Corrupt { kind: FileKind::Pdf, .. })), "{result:?}");
}

/// A fixture made by LibreOffice (`tests/fixtures/office/make`).
fn office_fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/office").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn texts(sections: &[tome_rag::extract::Section]) -> Vec<&str> {
    sections.iter().map(|s| s.text.as_str()).collect()
}

#[test]
fn a_libreoffice_docx_gives_its_text_boxes_tables_headers_and_footers_once() {
    let sections = sections_of(FileKind::Docx, &office_fixture("report.docx"), "report.docx");
    let all = texts(&sections);
    let boxed = "The text box says the Lisbon office opened in May.";
    assert_eq!(all.iter().filter(|t| t.contains(boxed)).count(), 1, "once, not again from the fallback: {all:?}");
    for expected in [
        "Text beside the box mentions the harbour.",
        "Travel",
        "1200",
        "Quarterly report header line",
        "Confidential footer line",
    ] {
        assert!(all.iter().any(|t| t.contains(expected)), "{expected} in {all:?}");
    }
    let costs = sections.iter().find(|s| s.text == "Costs fell after the move.").expect("the last paragraph");
    assert_eq!(costs.location.heading_path, ["Overview", "Costs"]);
}

#[test]
fn heading_styles_are_recognised_by_their_name_and_level_whatever_their_id() {
    // German Word names its heading styles "berschrift1"…; the style's name and outline
    // level in styles.xml say what it is.
    let sections = sections_of(FileKind::Docx, &office_fixture("report-de.docx"), "bericht.docx");
    let costs = sections.iter().find(|s| s.text == "Costs fell after the move.").expect("the last paragraph");
    assert_eq!(costs.location.heading_path, ["Overview", "Costs"]);
}

#[test]
fn slides_come_in_the_order_the_presentation_lists_them() {
    let sections = sections_of(FileKind::Pptx, &office_fixture("deck-reordered.pptx"), "deck.pptx");
    let order: Vec<(u32, &str)> = sections.iter().map(|s| (s.location.slide.unwrap_or(0), s.text.as_str())).collect();
    assert_eq!(
        order,
        [(1, "Charlie slide about hiring"), (2, "Alpha slide about kickoff"), (3, "Bravo slide about the roadmap")]
    );
    let plain = sections_of(FileKind::Pptx, &office_fixture("deck.pptx"), "deck.pptx");
    assert_eq!(plain[0].text, "Alpha slide about kickoff");
}

#[test]
fn a_libreoffice_workbook_gives_every_sheet_and_the_values_of_formulas() {
    let sections = sections_of(FileKind::Xlsx, &office_fixture("budget.xlsx"), "budget.xlsx");
    let all = texts(&sections);
    assert!(all.contains(&"item: rent; q1: 100; q2: 250; total: 350"), "{all:?}");
    let ada = sections.iter().find(|s| s.text == "name: Ada; desk: 12").expect("the second sheet");
    assert_eq!((ada.location.sheet.as_deref(), ada.location.row), (Some("People"), Some(2)));
}

#[test]
fn a_scanned_pdf_says_it_has_no_text_layer() {
    let bytes = files::scanned_pdf();
    assert_eq!(detect(&bytes, "scan.pdf"), Ok(FileKind::Pdf));
    let error = extract(FileKind::Pdf, &bytes, Limits::default()).expect_err("no text to read");
    assert!(matches!(error, ExtractError::NoText(_)), "{error:?}");
    assert!(error.to_string().contains("a scanned PDF has only images; Tome does not run OCR"), "{error}");
}
