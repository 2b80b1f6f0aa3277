//! Real files of every supported type, built in memory for the tests: PDF with lopdf,
//! DOCX/PPTX/XLSX as the zipped XML parts that Office writes, plus broken ones (encrypted,
//! truncated, zip bombs).

use std::io::Write;

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use zip::write::SimpleFileOptions;

/// A PDF with one page per entry; each page's lines are drawn top to bottom.
pub fn pdf(pages: &[&[&str]]) -> Vec<u8> {
    let mut document = Document::with_version("1.5");
    let pages_id = document.new_object_id();
    let font_id = document.add_object(dictionary! {"Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica"});
    let resources_id = document.add_object(dictionary! {"Font" => dictionary! {"F1" => font_id}});
    let mut kids: Vec<Object> = Vec::new();
    for lines in pages {
        let mut operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 12.into()]),
            Operation::new("TL", vec![16.into()]),
            Operation::new("Td", vec![72.into(), 770.into()]),
        ];
        for line in *lines {
            operations.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
            operations.push(Operation::new("T*", vec![]));
        }
        operations.push(Operation::new("ET", vec![]));
        let content = Content { operations }.encode().unwrap_or_default();
        let content_id = document.add_object(Stream::new(dictionary! {}, content));
        let page_id =
            document.add_object(dictionary! {"Type" => "Page", "Parent" => pages_id, "Contents" => content_id});
        kids.push(page_id.into());
    }
    let count = i64::try_from(kids.len()).unwrap_or(0);
    let pages_dict = dictionary! {
        "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    };
    document.objects.insert(pages_id, Object::Dictionary(pages_dict));
    let catalog_id = document.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages_id});
    document.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    document.save_to(&mut bytes).unwrap_or_default();
    bytes
}

/// A PDF decompression bomb: one page whose content stream (`FlateDecode`, about a
/// thousandth of its size on disk) inflates to `inflated_mib` MiB of blanks before its text.
pub fn pdf_bomb(inflated_mib: usize) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let blanks = vec![b' '; 1024 * 1024];
    for _ in 0..inflated_mib {
        encoder.write_all(&blanks).unwrap_or_default();
    }
    encoder.write_all(b"BT /F1 12 Tf 72 770 Td (Boom) Tj ET").unwrap_or_default();
    let packed = encoder.finish().unwrap_or_default();
    let mut document = Document::load_mem(&pdf(&[&["placeholder"]])).unwrap_or_default();
    let page_id = document.get_pages().values().next().copied().unwrap_or_default();
    let content_id = document.add_object(Stream::new(dictionary! {"Filter" => "FlateDecode"}, packed));
    if let Ok(page) = document.get_object_mut(page_id).and_then(Object::as_dict_mut) {
        page.set("Contents", content_id);
    }
    let mut bytes = Vec::new();
    document.save_to(&mut bytes).unwrap_or_default();
    bytes
}

/// A scanned page: a PDF whose only page draws an image (an 8×8 grey bitmap) and holds no
/// text layer, as a scanner without OCR writes it.
pub fn scanned_pdf() -> Vec<u8> {
    let mut document = Document::with_version("1.5");
    let pages_id = document.new_object_id();
    let image = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 8, "Height" => 8,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        },
        vec![128u8; 64],
    );
    let image_id = document.add_object(image);
    let resources_id = document.add_object(dictionary! {"XObject" => dictionary! {"Im1" => image_id}});
    let operations = vec![
        Operation::new("q", vec![]),
        Operation::new("cm", vec![595.into(), 0.into(), 0.into(), 842.into(), 0.into(), 0.into()]),
        Operation::new("Do", vec!["Im1".into()]),
        Operation::new("Q", vec![]),
    ];
    let content = Content { operations }.encode().unwrap_or_default();
    let content_id = document.add_object(Stream::new(dictionary! {}, content));
    let page_id = document.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id, "Resources" => resources_id,
    });
    let pages = dictionary! {
        "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    };
    document.objects.insert(pages_id, Object::Dictionary(pages));
    let catalog_id = document.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages_id});
    document.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    document.save_to(&mut bytes).unwrap_or_default();
    bytes
}

/// A PDF whose trailer declares standard encryption that the empty password does not open.
pub fn encrypted_pdf() -> Vec<u8> {
    let mut document = Document::load_mem(&pdf(&[&["Top secret plans."]])).unwrap_or_default();
    let encrypt_id = document.add_object(dictionary! {
        "Filter" => "Standard", "V" => 1, "R" => 2, "P" => -44,
        "O" => Object::String(vec![0x11; 32], lopdf::StringFormat::Hexadecimal),
        "U" => Object::String(vec![0x22; 32], lopdf::StringFormat::Hexadecimal),
    });
    document.trailer.set("Encrypt", encrypt_id);
    let id = Object::String(vec![0x33; 16], lopdf::StringFormat::Hexadecimal);
    document.trailer.set("ID", vec![id.clone(), id]);
    let mut bytes = Vec::new();
    document.save_to(&mut bytes).unwrap_or_default();
    bytes
}

fn zip_of(parts: &[(&str, String)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in parts {
        let _ = writer.start_file(*name, SimpleFileOptions::default());
        let _ = writer.write_all(content.as_bytes());
    }
    writer.finish().map(|cursor| cursor.into_inner()).unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="TARGET"/></Relationships>"#;

/// A Word document; `style` is a paragraph style such as `Heading1`, or `None` for body text.
pub fn docx(paragraphs: &[(Option<&str>, &str)]) -> Vec<u8> {
    let body: String = paragraphs
        .iter()
        .map(|(style, text)| {
            let properties = style.map(|s| format!(r#"<w:pPr><w:pStyle w:val="{s}"/></w:pPr>"#)).unwrap_or_default();
            format!(r#"<w:p>{properties}<w:r><w:t xml:space="preserve">{}</w:t></w:r></w:p>"#, escape(text))
        })
        .collect();
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    let types = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
    zip_of(&[
        ("[Content_Types].xml", types.into()),
        ("_rels/.rels", RELS.replace("TARGET", "word/document.xml")),
        ("word/document.xml", document),
    ])
}

/// A presentation: one entry per slide, each a list of paragraphs.
pub fn pptx(slides: &[&[&str]]) -> Vec<u8> {
    let mut parts = vec![
        ("[Content_Types].xml".to_owned(), r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/></Types>"#.to_owned()),
        ("_rels/.rels".to_owned(), RELS.replace("TARGET", "ppt/presentation.xml")),
        ("ppt/presentation.xml".to_owned(), r#"<?xml version="1.0" encoding="UTF-8"?><p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>"#.to_owned()),
    ];
    for (index, paragraphs) in slides.iter().enumerate() {
        let body: String =
            paragraphs.iter().map(|text| format!("<a:p><a:r><a:t>{}</a:t></a:r></a:p>", escape(text))).collect();
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><p:sld xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><p:cSld><p:spTree><p:sp><p:txBody>{body}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"#
        );
        parts.push((format!("ppt/slides/slide{}.xml", index + 1), xml));
    }
    let parts: Vec<(&str, String)> = parts.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
    zip_of(&parts)
}

/// A workbook: sheets of rows of cells (inline strings; numbers when they parse).
pub fn xlsx(sheets: &[(&str, &[&[&str]])]) -> Vec<u8> {
    let mut types = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
    );
    let mut sheet_list = String::new();
    let mut rels = String::new();
    let mut parts: Vec<(String, String)> = Vec::new();
    for (index, (name, rows)) in sheets.iter().enumerate() {
        let n = index + 1;
        types.push_str(&format!(r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#));
        sheet_list.push_str(&format!(r#"<sheet name="{}" sheetId="{n}" r:id="rId{n}"/>"#, escape(name)));
        rels.push_str(&format!(r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#));
        let data: String = rows
            .iter()
            .enumerate()
            .map(|(r, cells)| {
                let cells: String = cells
                    .iter()
                    .enumerate()
                    .map(|(c, value)| {
                        let reference = format!("{}{}", char::from(b'A' + u8::try_from(c).unwrap_or(0)), r + 1);
                        if value.parse::<f64>().is_ok() {
                            format!(r#"<c r="{reference}"><v>{value}</v></c>"#)
                        } else {
                            format!(r#"<c r="{reference}" t="inlineStr"><is><t>{}</t></is></c>"#, escape(value))
                        }
                    })
                    .collect();
                format!(r#"<row r="{}">{cells}</row>"#, r + 1)
            })
            .collect();
        parts.push((
            format!("xl/worksheets/sheet{n}.xml"),
            format!(r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{data}</sheetData></worksheet>"#),
        ));
    }
    types.push_str("</Types>");
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{sheet_list}</sheets></workbook>"#
    );
    let workbook_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#
    );
    let mut all = vec![
        ("[Content_Types].xml".to_owned(), types),
        ("_rels/.rels".to_owned(), RELS.replace("TARGET", "xl/workbook.xml")),
        ("xl/workbook.xml".to_owned(), workbook),
        ("xl/_rels/workbook.xml.rels".to_owned(), workbook_rels),
    ];
    all.extend(parts);
    let all: Vec<(&str, String)> = all.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
    zip_of(&all)
}

/// A DOCX whose one extra part inflates to `inflated_mib` MiB of zeros (a few KiB on disk).
pub fn zip_bomb_docx(inflated_mib: usize) -> Vec<u8> {
    let Ok(mut writer) = zip::ZipWriter::new_append(std::io::Cursor::new(docx(&[(None, "Looks harmless.")]))) else {
        return Vec::new();
    };
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).large_file(true);
    let _ = writer.start_file("word/media/padding.bin", options);
    let block = vec![0u8; 1024 * 1024];
    for _ in 0..inflated_mib {
        let _ = writer.write_all(&block);
    }
    writer.finish().map(|cursor| cursor.into_inner()).unwrap_or_default()
}

/// An OLE compound file header: what a password-protected DOCX/XLSX/PPTX starts with.
pub fn ole_encrypted_office() -> Vec<u8> {
    let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    bytes.resize(4096, 0);
    bytes
}
