//! Citations: the passages an answer was given, numbered as the prompt numbers them, and the
//! `[n]` markers in its text — those that point nowhere are removed as the text streams.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tome_models::chat::Passage;

use crate::retrieve::SearchResult;

/// One passage an answer may cite as `[number]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    pub number: usize,
    pub document_id: String,
    pub document_name: String,
    pub chunk_id: String,
    pub ordinal: i32,
    pub page: Option<Value>,
    pub heading: Option<Value>,
    /// When it was said, for a passage of a meeting transcript: `hh:mm:ss` from the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    pub score: f64,
    /// HTML-escaped excerpt with the question's words in `<mark>`.
    pub snippet: String,
    /// Whether the answer's text cites it.
    #[serde(default)]
    pub cited: bool,
}

/// The citations and prompt passages for search results, numbered from 1.
pub fn from_results(results: Vec<SearchResult>) -> (Vec<Citation>, Vec<Passage>) {
    results
        .into_iter()
        .enumerate()
        .map(|(index, result)| {
            let chunk = result.chunk;
            let field = |name: &str| chunk.metadata.get(name).filter(|value| !value.is_null()).cloned();
            let page = field("page");
            let heading = field("heading_path").or_else(|| field("heading"));
            let time = chunk.metadata.get("time_start").and_then(Value::as_f64).map(crate::meeting::render::stamp);
            let mut title = chunk.document_name.clone();
            if let Some(page) = &page {
                title.push_str(&format!(", page {page}"));
            }
            if let Some(time) = &time {
                title.push_str(&format!(", at {time}"));
            }
            if let Some(Value::Array(path)) = &heading {
                let names: Vec<&str> = path.iter().filter_map(Value::as_str).collect();
                if !names.is_empty() {
                    title.push_str(&format!(", {}", names.join(" › ")));
                }
            }
            let number = index + 1;
            let citation = Citation {
                number,
                document_id: chunk.document_id.to_string(),
                document_name: chunk.document_name,
                chunk_id: chunk.chunk_id.to_string(),
                ordinal: chunk.ordinal,
                page,
                heading,
                time,
                score: result.score,
                snippet: result.snippet,
                cited: false,
            };
            (citation, Passage { number, title, text: chunk.content })
        })
        .unzip()
}

/// The numbers of the `[n]` markers in `text`.
pub fn cited_numbers(text: &str) -> BTreeSet<usize> {
    let mut numbers = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        if let Some(close) = rest.find(']')
            && let Ok(number) = rest[..close].trim().parse::<usize>()
        {
            numbers.insert(number);
        }
    }
    numbers
}

/// Removes `[n]` markers whose `n` is not a passage number from text that arrives in
/// pieces: a possible marker is held back until it closes or proves to be ordinary text.
#[derive(Debug)]
pub struct MarkerFilter {
    passages: usize,
    pending: String,
}

/// Longest marker held back, `[` and `]` included.
const MAX_MARKER: usize = 6;

impl MarkerFilter {
    pub fn new(passages: usize) -> Self {
        Self { passages, pending: String::new() }
    }

    /// The text that can be shown now. A space is held back too, so that a marker that
    /// points nowhere goes with the space before it ("text [9]." reads "text.").
    pub fn push(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + self.pending.len());
        for ch in text.chars() {
            let opened = self.pending.trim_start_matches(' ');
            if opened.is_empty() {
                match ch {
                    '[' => self.pending.push(ch),
                    ' ' => {
                        out.push_str(&self.pending);
                        self.pending.clear();
                        self.pending.push(ch);
                    }
                    _ => {
                        out.push_str(&self.pending);
                        self.pending.clear();
                        out.push(ch);
                    }
                }
                continue;
            }
            let digits = opened.len() - 1;
            match ch {
                '0'..='9' if digits < MAX_MARKER - 2 => self.pending.push(ch),
                ']' if digits > 0 => {
                    let number = opened[1..].parse::<usize>().unwrap_or(0);
                    if (1..=self.passages).contains(&number) {
                        out.push_str(&self.pending);
                        out.push(']');
                    }
                    self.pending.clear();
                }
                '[' | ' ' => {
                    out.push_str(&self.pending);
                    self.pending.clear();
                    self.pending.push(ch);
                }
                _ => {
                    out.push_str(&self.pending);
                    self.pending.clear();
                    out.push(ch);
                }
            }
        }
        out
    }

    /// Admits markers up to `passages` from now on (a tool found more).
    pub fn extend(&mut self, passages: usize) {
        self.passages = self.passages.max(passages);
    }

    /// Whatever was held back at the end of the text.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }
}

/// `text` with the markers that point nowhere removed.
pub fn clean(text: &str, passages: usize) -> String {
    let mut filter = MarkerFilter::new(passages);
    let mut out = filter.push(text);
    out.push_str(&filter.finish());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_that_point_nowhere_are_removed_even_when_split_across_pieces() {
        let mut filter = MarkerFilter::new(2);
        let mut out = String::new();
        for piece in ["Rockets burn fuel [", "1] and oxidiser [", "7]. See [2", "] and [a] or [12345678]."] {
            out.push_str(&filter.push(piece));
        }
        out.push_str(&filter.finish());
        assert_eq!(out, "Rockets burn fuel [1] and oxidiser. See [2] and [a] or [12345678].");
    }

    #[test]
    fn cited_numbers_are_read_from_the_markers() {
        assert_eq!(cited_numbers("a [1] b [3][1] c [x]"), BTreeSet::from([1, 3]));
        assert_eq!(clean("zero [0] one [1]", 1), "zero one [1]");
    }
}
