//! Token-aware chunking. Sections are joined into one text in which a change of part (page,
//! heading, slide, sheet) is a longer run of newlines than a paragraph break; text-splitter
//! then cuts at the highest such level that fits — parts, then paragraphs, then sentences,
//! then words, never inside a word — measuring with the embedder's tokenizer. Each chunk
//! records its ordinal, token count, character span in that text, and the page, heading,
//! slide, sheet and rows it covers.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use text_splitter::{ChunkConfig, ChunkSizer, TextSplitter};

use crate::extract::Section;

pub use tome_models::tokens::{EstimatedTokens, TokenCounter};

struct Sizer<'a>(&'a dyn TokenCounter);

impl ChunkSizer for Sizer<'_> {
    fn size(&self, chunk: &str) -> usize {
        self.0.count(chunk)
    }
}

/// How big chunks are.
#[derive(Clone, Copy, Debug)]
pub struct ChunkSettings {
    /// A chunk is filled to at least this many tokens when the text allows…
    pub min_tokens: usize,
    /// …and never more than this (the embedder's input limit).
    pub max_tokens: usize,
    /// Tokens repeated from the end of one chunk at the start of the next.
    pub overlap_tokens: usize,
}

impl ChunkSettings {
    /// Chunks for an embedder that reads `window` tokens: at most 512 and never more than
    /// the window (a longer chunk would be embedded only in part), at least three quarters
    /// of that, 32 tokens overlapping. MiniLM (256): 192–256; a 512-token or larger remote
    /// model: 384–512.
    pub fn for_window(window: usize) -> Self {
        let max_tokens = window.clamp(64, 512);
        Self { min_tokens: max_tokens * 3 / 4, max_tokens, overlap_tokens: 32 }
    }
}

impl Default for ChunkSettings {
    /// Sized for the built-in embedder (all-MiniLM-L6-v2, 256 tokens), so that documents
    /// processed before any embedder was available embed whole once one is.
    fn default() -> Self {
        Self::for_window(tome_models::minilm::MAX_TOKENS)
    }
}

/// A chunk before it is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkDraft {
    pub ordinal: i32,
    pub content: String,
    pub token_count: i32,
    pub metadata: Value,
}

/// Splits documents into chunks.
#[derive(Clone)]
pub struct Chunker {
    counter: Arc<dyn TokenCounter>,
    settings: ChunkSettings,
}

const PARAGRAPH: &str = "\n\n";
const PART: &str = "\n\n\n";

impl Chunker {
    pub fn new(counter: Arc<dyn TokenCounter>, settings: ChunkSettings) -> Self {
        Self { counter, settings }
    }

    pub fn counter(&self) -> &Arc<dyn TokenCounter> {
        &self.counter
    }

    /// The chunks of a document's sections, in order. CPU-bound.
    pub fn chunk(&self, sections: &[Section]) -> Vec<ChunkDraft> {
        let (text, spans) = join(sections);
        let settings = self.settings;
        let config = ChunkConfig::new(settings.min_tokens..settings.max_tokens + 1)
            .with_sizer(Sizer(self.counter.as_ref()))
            .with_overlap(settings.overlap_tokens.min(settings.min_tokens.saturating_sub(1)));
        let config = match config {
            Ok(config) => config,
            Err(error) => {
                tracing::error!(%error, "chunk settings are inconsistent; chunking without overlap");
                ChunkConfig::new(settings.min_tokens..settings.max_tokens + 1).with_sizer(Sizer(self.counter.as_ref()))
            }
        };
        let splitter = TextSplitter::new(config);
        splitter
            .chunk_char_indices(&text)
            .enumerate()
            .map(|(ordinal, piece)| {
                let start = piece.char_offset;
                let end = start + piece.chunk.chars().count();
                let byte_start = piece.byte_offset;
                let byte_end = byte_start + piece.chunk.len();
                let covered: Vec<&Section> = spans
                    .iter()
                    .filter(|(from, to, _)| *from < byte_end && *to > byte_start)
                    .map(|(_, _, section)| *section)
                    .collect();
                ChunkDraft {
                    ordinal: i32::try_from(ordinal).unwrap_or(i32::MAX),
                    content: piece.chunk.to_owned(),
                    token_count: i32::try_from(self.counter.count(piece.chunk)).unwrap_or(i32::MAX),
                    metadata: metadata(&covered, start, end),
                }
            })
            .collect()
    }
}

/// The sections as one text, and each section's byte span in it.
fn join(sections: &[Section]) -> (String, Vec<(usize, usize, &Section)>) {
    let mut text = String::new();
    let mut spans = Vec::with_capacity(sections.len());
    let mut previous: Option<&Section> = None;
    for section in sections {
        if let Some(before) = previous {
            text.push_str(if before.location.same_part(&section.location) { PARAGRAPH } else { PART });
        }
        let start = text.len();
        // Paragraph breaks inside a section would outrank the part boundaries.
        text.push_str(&section.text.replace(PARAGRAPH, "\n"));
        spans.push((start, text.len(), section));
        previous = Some(section);
    }
    (text, spans)
}

/// Where a chunk is: the first page/slide/sheet/heading it touches, the last page when it
/// spans several, the rows of a spreadsheet, and its character span.
fn metadata(covered: &[&Section], char_start: usize, char_end: usize) -> Value {
    let mut fields = Map::new();
    fields.insert("char_start".into(), json!(char_start));
    fields.insert("char_end".into(), json!(char_end));
    let Some(first) = covered.first() else { return Value::Object(fields) };
    let pages: Vec<u32> = covered.iter().filter_map(|s| s.location.page).collect();
    if let (Some(low), Some(high)) = (pages.iter().min(), pages.iter().max()) {
        fields.insert("page".into(), json!(low));
        if high != low {
            fields.insert("page_end".into(), json!(high));
        }
    }
    if let Some(heading) = covered.iter().map(|s| &s.location.heading_path).find(|path| !path.is_empty()) {
        fields.insert("heading_path".into(), json!(heading));
    }
    let times: Vec<u32> = covered.iter().filter_map(|s| s.location.time).collect();
    if let (Some(start), Some(end)) = (times.first(), times.last()) {
        fields.insert("time_start".into(), json!(start));
        fields.insert("time_end".into(), json!(end));
    }
    if let Some(slide) = first.location.slide {
        fields.insert("slide".into(), json!(slide));
    }
    if let Some(sheet) = &first.location.sheet {
        fields.insert("sheet".into(), json!(sheet));
        let rows: Vec<u32> = covered
            .iter()
            .filter(|s| s.location.sheet.as_ref() == Some(sheet))
            .filter_map(|s| s.location.row)
            .collect();
        insert_rows(&mut fields, &rows);
    } else {
        let rows: Vec<u32> = covered.iter().filter_map(|s| s.location.row).collect();
        insert_rows(&mut fields, &rows);
    }
    Value::Object(fields)
}

fn insert_rows(fields: &mut Map<String, Value>, rows: &[u32]) {
    if let (Some(low), Some(high)) = (rows.iter().min(), rows.iter().max()) {
        fields.insert("row_start".into(), json!(low));
        fields.insert("row_end".into(), json!(high));
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::extract::Location;

    fn chunker(min: usize, max: usize, overlap: usize) -> Chunker {
        Chunker::new(
            Arc::new(EstimatedTokens),
            ChunkSettings { min_tokens: min, max_tokens: max, overlap_tokens: overlap },
        )
    }

    fn page(number: u32, text: &str) -> Section {
        Section { text: text.into(), location: Location { page: Some(number), ..Default::default() } }
    }

    #[test]
    fn chunks_respect_the_size_limit_and_never_cut_a_word() {
        let words: Vec<String> = (0..600).map(|i| format!("word{i}")).collect();
        let sections = vec![Section { text: words.join(" ") + ".", location: Location::default() }];
        let chunks = chunker(40, 50, 5).chunk(&sections);
        assert!(chunks.len() > 10);
        for chunk in &chunks {
            assert!(chunk.token_count <= 50, "{}", chunk.token_count);
            for word in chunk.content.split_whitespace() {
                let word = word.trim_end_matches('.');
                assert!(words.iter().any(|w| w == word), "cut word: {word}");
            }
        }
        let ordinals: Vec<i32> = chunks.iter().map(|c| c.ordinal).collect();
        assert_eq!(ordinals, (0..chunks.len() as i32).collect::<Vec<_>>());
    }

    #[test]
    fn chunks_break_at_page_boundaries_and_record_their_page() {
        let sections =
            vec![page(1, "Alpha beta gamma delta."), page(2, "Epsilon zeta eta theta."), page(3, "Iota kappa.")];
        let chunks = chunker(6, 10, 0).chunk(&sections);
        let pages: Vec<Value> = chunks.iter().map(|c| c.metadata["page"].clone()).collect();
        assert_eq!(pages, vec![json!(1), json!(2), json!(3)]);
        assert_eq!(chunks[1].content, "Epsilon zeta eta theta.");
        let span =
            (chunks[1].metadata["char_start"].as_u64().unwrap(), chunks[1].metadata["char_end"].as_u64().unwrap());
        assert_eq!(span.1 - span.0, 23);
    }

    #[test]
    fn small_parts_share_a_chunk_and_a_page_range() {
        let sections = vec![page(1, "One two."), page(2, "Three four.")];
        let chunks = chunker(50, 100, 0).chunk(&sections);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].metadata["page"], json!(1));
        assert_eq!(chunks[0].metadata["page_end"], json!(2));
    }

    #[test]
    fn overlapping_chunks_repeat_the_end_of_the_previous_one() {
        let sentences: Vec<String> = (0..80).map(|i| format!("Sentence number {i} is here.")).collect();
        let sections = vec![Section { text: sentences.join(" "), location: Location::default() }];
        let chunks = chunker(30, 40, 10).chunk(&sections);
        assert!(chunks.len() > 3);
        let first_end: Vec<&str> = chunks[0].content.split_whitespace().rev().take(3).collect();
        assert!(first_end.iter().all(|w| chunks[1].content.contains(w)), "{:?} / {}", first_end, chunks[1].content);
    }
}
