//! Retrieval's vocabulary: what a search may see (`SearchScope`), the two rankings a
//! backend produces, how they are fused, and how a passage is shown (snippets).
//!
//! The rankings themselves come from `repo::SearchRepo` (a keyword index and a vector
//! index per backend); everything here is pure.

use std::collections::{HashMap, HashSet};

use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use crate::knowledge::DocumentType;
use crate::{ChunkId, DocumentId, ProjectId, TenantId, Timestamp, UserId, text_enum};

text_enum!(
    /// Which rankings a search uses.
    SearchMode {
        Hybrid => "hybrid",
        Semantic => "semantic",
        Keyword => "keyword",
    }
);

text_enum!(
    /// How hybrid search combines its two rankings.
    Fusion {
        Rrf => "rrf",
        Convex => "convex",
    }
);

/// What a caller narrows a search to; empty lists and `None` narrow nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchFilters {
    pub project_ids: Vec<ProjectId>,
    pub document_ids: Vec<DocumentId>,
    pub document_types: Vec<DocumentType>,
    pub owner_id: Option<UserId>,
    /// Documents created at or after this time.
    pub created_after: Option<Timestamp>,
    /// Documents created before this time.
    pub created_before: Option<Timestamp>,
}

/// Everything a ranking must respect, applied inside the index query so that a reader
/// with access to k matching chunks gets k results.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchScope {
    pub tenant: TenantId,
    /// Sees the tenant's shared documents and their own private ones.
    pub reader: UserId,
    pub filters: SearchFilters,
}

impl SearchScope {
    /// Everything `reader` may read in `tenant`.
    pub fn reader(tenant: TenantId, reader: UserId) -> Self {
        Self { tenant, reader, filters: SearchFilters::default() }
    }
}

/// One chunk's place in one ranking; higher scores are better.
#[derive(Clone, Debug, PartialEq)]
pub struct RankedChunk {
    pub chunk_id: ChunkId,
    pub score: f64,
}

/// A found chunk with what a result shows of its document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct ChunkHit {
    pub chunk_id: ChunkId,
    pub document_id: DocumentId,
    pub document_name: String,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub document_type: DocumentType,
    pub mime_type: String,
    pub ordinal: i32,
    pub content: String,
    #[cfg_attr(feature = "sqlx", sqlx(json))]
    pub metadata: Value,
}

/// English stop words (Lucene's list, which the published BM25 baselines use): too common
/// to tell passages apart, and each would match nearly every chunk.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
];

/// The most terms a keyword query keeps.
pub const MAX_QUERY_TERMS: usize = 64;

/// The words of a query that a keyword index should look for: letters and digits split at
/// everything else, lower-cased, stop words and repeats dropped, at most `MAX_QUERY_TERMS`.
/// Every term is plain alphanumeric text, safe to quote into either engine's query syntax.
pub fn keywords(query: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    words(query)
        .map(|(_, word)| word.to_lowercase())
        .filter(|word| !STOP_WORDS.contains(&word.as_str()))
        .filter(|word| seen.insert(word.clone()))
        .take(MAX_QUERY_TERMS)
        .collect()
}

/// The index terms of a text, in order and with repeats (term frequencies count): its
/// words lower-cased, stop words dropped, each reduced to its English (Snowball) stem. The
/// embedded keyword index indexes chunks with this and looks up `query_stems` of a query,
/// so that both sides are analysed alike (and alike with `snippet`'s highlighting).
pub fn index_terms(text: &str) -> Vec<String> {
    let stemmer = Stemmer::create(Algorithm::English);
    words(text)
        .map(|(_, word)| normalize(word))
        .filter(|word| !STOP_WORDS.contains(&word.as_str()))
        .map(|word| stemmer.stem(&word).into_owned())
        .collect()
}

/// The distinct English stems of query terms (as `keywords` gives them), in their order.
pub fn query_stems(terms: &[String]) -> Vec<String> {
    let stemmer = Stemmer::create(Algorithm::English);
    let mut seen = HashSet::new();
    terms
        .iter()
        .map(|term| stemmer.stem(&normalize(term)).into_owned())
        .filter(|stem| seen.insert(stem.clone()))
        .collect()
}

/// A word as the embedded index compares it: lower-cased, diacritics removed ("Café" and
/// "cafe" are one word), as FTS5's `remove_diacritics` did before.
fn normalize(word: &str) -> String {
    let lower = word.to_lowercase();
    if lower.is_ascii() {
        return lower;
    }
    lower.nfd().filter(|ch| !unicode_normalization::char::is_combining_mark(*ch)).collect()
}

/// Alphanumeric runs of `text` with their byte offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = None;
    let mut out = Vec::new();
    for (index, ch) in text.char_indices() {
        match (ch.is_alphanumeric(), start) {
            (true, None) => start = Some(index),
            (false, Some(from)) => {
                out.push((from, &text[from..index]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(from) = start {
        out.push((from, &text[from..]));
    }
    out.into_iter()
}

/// The reciprocal-rank-fusion constant of Cormack et al. (2009), used unchanged.
pub const RRF_K: f64 = 60.0;

/// Fuses rankings (each best first) with their weights into one, best first.
///
/// `Rrf` adds `weight / (RRF_K + rank)` per ranking; `Convex` adds `weight × score`
/// after min-max normalising each ranking's scores to [0, 1] (a chunk absent from a
/// ranking gets 0 from it). Ties keep the order in which chunks were first seen.
pub fn fuse(rankings: &[(&[RankedChunk], f64)], fusion: Fusion) -> Vec<RankedChunk> {
    let mut order: Vec<ChunkId> = Vec::new();
    let mut totals: HashMap<ChunkId, f64> = HashMap::new();
    for (ranking, weight) in rankings {
        let (low, high) = ranking.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), chunk| {
            (low.min(chunk.score), high.max(chunk.score))
        });
        for (rank, chunk) in ranking.iter().enumerate() {
            let contribution = match fusion {
                Fusion::Rrf => weight / (RRF_K + rank as f64 + 1.0),
                Fusion::Convex if high > low => weight * (chunk.score - low) / (high - low),
                Fusion::Convex => *weight,
            };
            let total = totals.entry(chunk.chunk_id).or_insert_with(|| {
                order.push(chunk.chunk_id);
                0.0
            });
            *total += contribution;
        }
    }
    let mut fused: Vec<RankedChunk> =
        order.into_iter().map(|chunk_id| RankedChunk { chunk_id, score: totals[&chunk_id] }).collect();
    fused.sort_by(|a, b| b.score.total_cmp(&a.score));
    fused
}

/// The English stems of a text's keywords (stop words dropped): what two texts share when
/// they speak of the same things.
pub fn stems(text: &str) -> HashSet<String> {
    let stemmer = Stemmer::create(Algorithm::English);
    keywords(text).iter().map(|term| stemmer.stem(&normalize(term)).into_owned()).collect()
}

/// About how many characters a snippet shows.
pub const SNIPPET_CHARS: usize = 240;

/// The part of `content` richest in the query's words (matched by their English stems),
/// HTML-escaped, with each matching word wrapped in `<mark>…</mark>`; "…" marks cut ends.
pub fn snippet(content: &str, query: &str) -> String {
    let stemmer = Stemmer::create(Algorithm::English);
    let wanted = stems(query);
    let all: Vec<(usize, &str)> = words(content).collect();
    let hits: Vec<bool> =
        all.iter().map(|(_, word)| wanted.contains(stemmer.stem(&normalize(word)).as_ref())).collect();
    // The window of words starting at the hit with the most hits within SNIPPET_CHARS.
    let first = (0..all.len())
        .filter(|&index| hits[index])
        .max_by_key(|&index| {
            let end = all[index].0 + SNIPPET_CHARS;
            let count = (index..all.len()).take_while(|&next| all[next].0 < end).filter(|&next| hits[next]).count();
            (count, std::cmp::Reverse(index))
        })
        .unwrap_or(0);
    // Start a few words before the first hit, so that it is read in context.
    let start_word = first.saturating_sub(4);
    let start = if start_word == 0 { 0 } else { all[start_word].0 };
    let end = floor_char_boundary(content, (start + SNIPPET_CHARS).min(content.len()));
    let end = if end < content.len() {
        // Do not cut a word: end after the last word that fits.
        all.iter()
            .rev()
            .map(|(offset, word)| offset + word.len())
            .find(|&stop| stop > start && stop <= end)
            .unwrap_or(end)
    } else {
        end
    };
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut cursor = start;
    for (index, (offset, word)) in all.iter().enumerate() {
        if *offset < start || offset + word.len() > end || !hits[index] {
            continue;
        }
        escape_into(&mut out, &content[cursor..*offset]);
        out.push_str("<mark>");
        escape_into(&mut out, word);
        out.push_str("</mark>");
        cursor = offset + word.len();
    }
    escape_into(&mut out, content[cursor..end].trim_end());
    if end < content.len() {
        out.push('…');
    }
    out
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Appends `text` HTML-escaped, with runs of white space as one space.
fn escape_into(out: &mut String, text: &str) {
    for ch in text.chars() {
        if ch.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
            continue;
        }
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked(ids: &[ChunkId], scores: &[f64]) -> Vec<RankedChunk> {
        ids.iter().zip(scores).map(|(chunk_id, score)| RankedChunk { chunk_id: *chunk_id, score: *score }).collect()
    }

    #[test]
    fn index_terms_and_query_stems_meet() {
        let indexed = index_terms("The Runners were running; RUNNING is what runners do.");
        assert_eq!(indexed, ["runner", "were", "run", "run", "what", "runner", "do"]);
        let wanted = query_stems(&keywords("running runs the runner"));
        assert_eq!(wanted, ["run", "runner"]);
        assert!(wanted.iter().all(|stem| indexed.contains(stem)));
        assert_eq!(index_terms("Café NAÏVE"), query_stems(&keywords("cafe naive")));
    }

    #[test]
    fn keywords_drop_stop_words_case_and_repeats() {
        assert_eq!(keywords("What is the role of p53 in Cancer? cancer!"), ["what", "role", "p53", "cancer"]);
        assert!(keywords("the and of").is_empty());
        assert_eq!(keywords("naïve café-au-lait"), ["naïve", "café", "au", "lait"]);
    }

    #[test]
    fn rrf_rewards_chunks_found_by_both_rankings() {
        let [a, b, c] = [ChunkId::new(), ChunkId::new(), ChunkId::new()];
        let keyword = ranked(&[a, b], &[9.0, 8.0]);
        let semantic = ranked(&[c, b], &[0.9, 0.8]);
        let fused = fuse(&[(&keyword, 1.0), (&semantic, 1.0)], Fusion::Rrf);
        assert_eq!(fused.iter().map(|r| r.chunk_id).collect::<Vec<_>>(), [b, a, c]);
    }

    #[test]
    fn weights_tilt_the_fusion() {
        let [a, b] = [ChunkId::new(), ChunkId::new()];
        let keyword = ranked(&[a], &[3.0]);
        let semantic = ranked(&[b], &[0.5]);
        for fusion in [Fusion::Rrf, Fusion::Convex] {
            let fused = fuse(&[(&keyword, 0.3), (&semantic, 0.7)], fusion);
            assert_eq!(fused[0].chunk_id, b, "{fusion:?}");
        }
    }

    #[test]
    fn convex_fusion_normalises_each_ranking() {
        let [a, b, c] = [ChunkId::new(), ChunkId::new(), ChunkId::new()];
        // BM25 scores are unbounded, cosine ones are not: normalised, the spread decides.
        let keyword = ranked(&[a, b, c], &[30.0, 29.0, 2.0]);
        let semantic = ranked(&[c, b, a], &[0.9, 0.89, 0.1]);
        let fused = fuse(&[(&keyword, 0.5), (&semantic, 0.5)], Fusion::Convex);
        assert_eq!(fused[0].chunk_id, b);
        assert!((fused[0].score - 0.5 * (27.0 / 28.0 + 0.79 / 0.8)).abs() < 1e-9);
    }

    #[test]
    fn snippet_marks_stemmed_matches_and_escapes_html() {
        let text =
            "Intro <b>. Tumour suppressors such as p53 regulate the cell cycle; suppressing them causes cancers.";
        let shown = snippet(text, "cancer suppressor");
        assert!(shown.contains("<mark>suppressors</mark>"), "{shown}");
        assert!(shown.contains("<mark>cancers</mark>"), "{shown}");
        assert!(shown.contains("&lt;b&gt;"), "{shown}");
        assert!(!shown.contains("<b>"), "{shown}");
        assert_eq!(snippet("a\n\n  b   c", "b"), "a <mark>b</mark> c");
    }

    #[test]
    fn snippet_of_a_long_text_is_cut_at_words_around_the_best_passage() {
        let text = format!("{} the answer is photosynthesis here {}", "filler ".repeat(100), "tail ".repeat(100));
        let shown = snippet(&text, "photosynthesis");
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        assert!(shown.contains("<mark>photosynthesis</mark>"));
        assert!(shown.chars().count() <= SNIPPET_CHARS + 40, "{}", shown.len());
        assert!(!shown.contains("fille …") && !shown.contains(" tai…"), "{shown}");
    }

    #[test]
    fn snippet_without_matches_is_the_beginning() {
        let shown = snippet("Nothing relevant here at all.", "quantum");
        assert_eq!(shown, "Nothing relevant here at all.");
    }
}
