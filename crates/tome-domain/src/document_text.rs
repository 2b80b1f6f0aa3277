//! A document's extracted text with the span of every passage (chunk) in it, for a viewer
//! that shows a cited passage where it stands in its document.
//!
//! The text is not stored whole: it is put back together from the chunks, which record
//! their character span in it (`char_start`, `char_end`, in Unicode scalar values). Chunks
//! overlap, and the whitespace between two chunks that do not meet is lost; it comes back as
//! as many line breaks (one space for a single character), so every span stays exact.

use serde_json::Value;

use crate::access::Access;
use crate::knowledge::Chunk;
use crate::repo::Store;
use crate::{ChunkId, DocumentId, DomainResult, PageRequest};

/// The most chunks read for one document's text (about 5 MB of text).
pub const MAX_CHUNKS: usize = 10_000;

/// Where one passage is in the text.
#[derive(Clone, Debug, PartialEq)]
pub struct PassageSpan {
    pub chunk_id: ChunkId,
    pub ordinal: i32,
    /// Character offsets (Unicode scalar values) in `DocumentText::text`, end exclusive.
    pub start: usize,
    pub end: usize,
    /// The chunk's location: page, heading path, slide, sheet and rows, time span.
    pub metadata: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DocumentText {
    pub text: String,
    pub passages: Vec<PassageSpan>,
    /// Whether the document has more than `MAX_CHUNKS` chunks (the text stops there).
    pub truncated: bool,
}

/// The text of a document the caller may read (404 otherwise).
pub async fn text(store: &dyn Store, access: &Access, id: DocumentId) -> DomainResult<DocumentText> {
    crate::documents::get(store, access, id).await?;
    let mut chunks = Vec::new();
    let mut cursor: Option<String> = None;
    let mut truncated = false;
    loop {
        let page = store.list_chunks(access.tenant_id, id, PageRequest::parse(Some(200), cursor.as_deref())?).await?;
        chunks.extend(page.items);
        if chunks.len() >= MAX_CHUNKS {
            truncated = page.next_cursor.is_some() || chunks.len() > MAX_CHUNKS;
            chunks.truncate(MAX_CHUNKS);
            break;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let (text, passages) = assemble(&chunks);
    Ok(DocumentText { text, passages, truncated })
}

fn span_of(chunk: &Chunk) -> Option<(usize, usize)> {
    let field = |name: &str| chunk.metadata.get(name).and_then(Value::as_u64).and_then(|n| usize::try_from(n).ok());
    let (start, end) = (field("char_start")?, field("char_end")?);
    (end >= start && end - start == chunk.content.chars().count()).then_some((start, end))
}

/// The text the chunks (in order) were cut from, and each chunk's span in it. A chunk
/// without a usable span is appended after a paragraph break.
pub fn assemble(chunks: &[Chunk]) -> (String, Vec<PassageSpan>) {
    let mut text = String::new();
    let mut length = 0usize;
    let mut passages = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        let (start, end) = match span_of(chunk) {
            Some((start, end)) if start >= length => {
                let gap = start - length;
                text.extend(std::iter::repeat_n(if gap == 1 { ' ' } else { '\n' }, gap));
                text.push_str(&chunk.content);
                (start, end)
            }
            Some((start, end)) if end > length => {
                // Overlap: only the part past the text so far is new.
                text.extend(chunk.content.chars().skip(length - start));
                (start, end)
            }
            Some(span) => span,
            None => {
                if length > 0 {
                    text.push_str("\n\n");
                }
                let start = text.chars().count();
                text.push_str(&chunk.content);
                (start, start + chunk.content.chars().count())
            }
        };
        length = length.max(end);
        passages.push(PassageSpan {
            chunk_id: chunk.id,
            ordinal: chunk.ordinal,
            start,
            end,
            metadata: chunk.metadata.clone(),
        });
    }
    (text, passages)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{TenantId, now};

    fn chunk(ordinal: i32, content: &str, metadata: Value) -> Chunk {
        Chunk {
            id: ChunkId::new(),
            tenant_id: TenantId::new(),
            document_id: DocumentId::new(),
            ordinal,
            content: content.to_owned(),
            token_count: 1,
            metadata,
            embedding_model: None,
            created_at: now(),
        }
    }

    fn slice(text: &str, span: &PassageSpan) -> String {
        text.chars().skip(span.start).take(span.end - span.start).collect()
    }

    #[test]
    fn overlapping_chunks_give_back_the_text_with_exact_spans() {
        let original = "Über cats.\n\nThey sleep a lot. They eat twice.\n\n\nFeeding: fish 🐟 and water.";
        let cut = |from: usize, to: usize| original.chars().skip(from).take(to - from).collect::<String>();
        let chunks = [(0, 10), (12, 45), (30, 45), (48, 74)]
            .iter()
            .enumerate()
            .map(|(i, &(from, to))| {
                chunk(i as i32, &cut(from, to), json!({"char_start": from, "char_end": to, "page": 1}))
            })
            .collect::<Vec<_>>();
        let (text, passages) = assemble(&chunks);
        assert_eq!(text.chars().count(), 74);
        for (chunk, span) in chunks.iter().zip(&passages) {
            assert_eq!(slice(&text, span), chunk.content, "{span:?}");
        }
        assert!(text.starts_with("Über cats.\n\nThey sleep"), "{text}");
        assert_eq!(passages[3].metadata["page"], 1);
    }

    #[test]
    fn chunks_without_spans_are_appended() {
        let chunks = [chunk(0, "one", json!({})), chunk(1, "two", json!({"char_start": 0, "char_end": 9}))];
        let (text, passages) = assemble(&chunks);
        assert_eq!(text, "one\n\ntwo");
        assert_eq!(slice(&text, &passages[1]), "two");
    }
}
