//! The extractive answerer: used when no language model is configured. It quotes the
//! passages' sentences that share the most words (by English stem) with the question, each
//! with its `[n]`, and says plainly that it is extractive.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use tome_domain::search::stems;
use tome_models::chat::{ChatError, ChatEvent, ChatModel, ChatRequest, ChatStream, Passage, Usage};
use tome_models::tokens::{EstimatedTokens, TokenCounter};

/// Its model name.
pub const NAME: &str = "extractive";
/// The most sentences quoted.
const SENTENCES: usize = 3;
/// The longest sentence quoted whole, in characters.
const LONGEST_SENTENCE: usize = 400;

pub struct Extractive;

/// One candidate sentence.
struct Candidate<'a> {
    passage: usize,
    text: &'a str,
    score: usize,
}

/// Sentences of `text`: split after `.`, `?`, `!` followed by a space, and at line breaks.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (index, ch) in text.char_indices() {
        let end = index + ch.len_utf8();
        let boundary = ch == '\n'
            || (matches!(ch, '.' | '?' | '!') && bytes.get(end).is_none_or(|next| next.is_ascii_whitespace()));
        if boundary {
            out.push(text[start..end].trim());
            start = end;
        }
    }
    out.push(text[start..].trim());
    out.into_iter().filter(|sentence| sentence.chars().filter(|c| c.is_alphanumeric()).count() >= 3).collect()
}

fn shorten(sentence: &str) -> String {
    if sentence.chars().count() <= LONGEST_SENTENCE {
        return sentence.to_owned();
    }
    let cut: String = sentence.chars().take(LONGEST_SENTENCE).collect();
    let at_word = cut.rfind(char::is_whitespace).unwrap_or(cut.len());
    format!("{}…", cut[..at_word].trim_end())
}

/// The answer's text for a question and its passages.
pub fn answer(question: &str, passages: &[Passage]) -> String {
    let wanted = stems(question);
    let mut candidates: Vec<Candidate<'_>> = passages
        .iter()
        .flat_map(|passage| {
            sentences(&passage.text).into_iter().map(|text| {
                let found: HashSet<String> = stems(text);
                Candidate { passage: passage.number, text, score: wanted.intersection(&found).count() }
            })
        })
        .filter(|candidate| candidate.score > 0)
        .collect();
    // Most shared words first; among equals, the better-ranked passage and earlier sentence.
    candidates.sort_by(|a, b| b.score.cmp(&a.score).then(a.passage.cmp(&b.passage)));
    let mut seen = HashSet::new();
    let chosen: Vec<&Candidate<'_>> = candidates.iter().filter(|c| seen.insert(c.text)).take(SENTENCES).collect();
    if chosen.is_empty() {
        return "This is an extractive answer (no language model is configured): none of the passages in the \
                documents you can read shares words with the question, so I cannot answer it from them."
            .to_owned();
    }
    let mut text = "This is an extractive answer (no language model is configured): the sentences from your \
                    documents that best match the question.\n"
        .to_owned();
    for candidate in chosen {
        text.push_str(&format!("\n- \"{}\" [{}]", shorten(candidate.text), candidate.passage));
    }
    text
}

#[async_trait]
impl ChatModel for Extractive {
    fn name(&self) -> &str {
        NAME
    }

    fn context_tokens(&self) -> usize {
        1_000_000
    }

    fn max_output_tokens(&self) -> usize {
        4_096
    }

    fn token_counter(&self) -> Arc<dyn TokenCounter> {
        Arc::new(EstimatedTokens)
    }

    fn is_generative(&self) -> bool {
        false
    }

    async fn generate(&self, request: ChatRequest) -> Result<ChatStream, ChatError> {
        let text = answer(&request.question, &request.passages);
        let usage = Usage {
            input_tokens: request.messages.iter().map(|m| EstimatedTokens.count(&m.content)).sum(),
            output_tokens: EstimatedTokens.count(&text),
        };
        // Word by word, as a model would stream it.
        let mut events: Vec<Result<ChatEvent, ChatError>> =
            text.split_inclusive(' ').map(|word| Ok(ChatEvent::Delta(word.to_owned()))).collect();
        events.push(Ok(ChatEvent::Done(usage)));
        Ok(Box::pin(futures::stream::iter(events)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_matching_sentences_are_quoted_with_their_passage_numbers() {
        let passages = vec![
            Passage { number: 1, title: "a".into(), text: "Cats sleep a lot. Rockets burn liquid fuel.".into() },
            Passage { number: 2, title: "b".into(), text: "The rocket's fuel is kerosene and liquid oxygen.".into() },
        ];
        let text = answer("What fuel do rockets burn?", &passages);
        assert!(text.starts_with("This is an extractive answer"), "{text}");
        assert!(text.contains("\"Rockets burn liquid fuel.\" [1]"), "{text}");
        assert!(text.contains("kerosene and liquid oxygen.\" [2]"), "{text}");
        assert!(!text.contains("Cats"), "{text}");
    }

    #[test]
    fn no_matching_sentence_says_so() {
        let passages = vec![Passage { number: 1, title: "a".into(), text: "Cats sleep a lot.".into() }];
        assert!(answer("rocket fuel", &passages).contains("cannot answer"));
    }
}
