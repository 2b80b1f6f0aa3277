//! Meeting minutes in Markdown — summary, decisions, action items (owner and due date where
//! said), open questions — written by the configured chat model from the stamped transcript,
//! or, with none (or when it fails), by an extractive writer that quotes the transcript's
//! own sentences and says so. Both cite the time stamp of what they report.

use std::collections::HashMap;

use tome_models::chat::{ChatMessage, ChatModel, ChatRequest, ChatRole, Usage, complete};
use tome_models::whisper::Segment;

use super::render::{Recording, lines, stamp};

/// Sentences in the extractive summary.
const SUMMARY_SENTENCES: usize = 5;
/// Longest sentence quoted, in characters.
const MOST_QUOTED: usize = 300;

const SYSTEM: &str = "You write meeting minutes from a transcript. Each transcript line starts with its time \
stamp [hh:mm:ss]. Answer in Markdown with exactly these four sections, in this order: '## Summary' (a few \
sentences), '## Decisions', '## Action items' (one bullet each: owner — task — due date, when the meeting \
said them), '## Open questions'. Write 'None.' under a section with nothing to report. End every bullet with \
the time stamp of what it reports. Report only what was said; invent nothing.";

/// The minutes document in Markdown, by `model` when given (falling back to the extractive
/// writer if it fails or answers without the sections), else extractive; who wrote it is
/// said at the end. Also what the model's calls spent (nothing for extractive minutes).
pub async fn write(model: Option<&dyn ChatModel>, recording: &Recording<'_>, segments: &[Segment]) -> (String, Usage) {
    let header = format!("# Minutes: {}\n\n{}\n\n", recording.name, recording.facts());
    let mut spent = Usage::default();
    if let Some(model) = model.filter(|m| m.is_generative()) {
        match generate(model, recording, segments, &mut spent).await {
            Ok(body) => {
                let text = format!(
                    "{header}{}\n\n_Written by the model {} from the transcript; check it against the recording._\n",
                    body.trim(),
                    model.name()
                );
                return (text, spent);
            }
            Err(reason) => {
                tracing::warn!(model = model.name(), %reason, "the chat model's minutes are unusable; quoting instead")
            }
        }
    }
    let text = format!(
        "{header}{}\n_Extractive minutes: sentences quoted from the transcript, chosen without a language model._\n",
        extractive(segments)
    );
    (text, spent)
}

/// The model's minutes: in one pass when the transcript fits its context, else part by part
/// and then merged.
async fn generate(
    model: &dyn ChatModel,
    recording: &Recording<'_>,
    segments: &[Segment],
    spent: &mut Usage,
) -> Result<String, String> {
    let counter = model.token_counter();
    let output = model.max_output_tokens().min(1024);
    let budget = model.context_tokens().saturating_sub(output + counter.count(SYSTEM) + 64).max(256);
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in lines(segments) {
        if !current.is_empty() && counter.count(&current) + counter.count(&line) > budget {
            parts.push(std::mem::take(&mut current));
        }
        current.push_str(&line);
        current.push('\n');
    }
    if !current.is_empty() {
        parts.push(current);
    }
    let mut notes = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let label = if parts.len() == 1 { String::new() } else { format!(" (part {} of {})", index + 1, parts.len()) };
        let prompt = format!("Transcript of {}{label}:\n\n{part}", recording.name);
        notes.push(ask(model, &prompt, output, spent).await?);
    }
    if notes.len() == 1 {
        return Ok(notes.remove(0));
    }
    let joined = notes.join("\n\n");
    if counter.count(&joined) <= budget {
        let prompt = format!(
            "These are minutes of consecutive parts of one meeting ({}). Merge them into one set of minutes with \
             the same four sections, keeping every time stamp:\n\n{joined}",
            recording.name
        );
        ask(model, &prompt, output, spent).await
    } else {
        Ok(joined)
    }
}

async fn ask(model: &dyn ChatModel, prompt: &str, max_tokens: usize, spent: &mut Usage) -> Result<String, String> {
    let request = ChatRequest {
        messages: vec![ChatMessage::new(ChatRole::System, SYSTEM), ChatMessage::new(ChatRole::User, prompt)],
        temperature: 0.0,
        max_tokens,
        question: prompt.to_owned(),
        passages: Vec::new(),
        tools: Vec::new(),
    };
    let (text, usage) = complete(model, request).await.map_err(|error| error.to_string())?;
    spent.input_tokens += usage.input_tokens;
    spent.output_tokens += usage.output_tokens;
    let lower = text.to_lowercase();
    if lower.contains("summary") && lower.contains("action") {
        Ok(text)
    } else {
        Err(format!("the answer lacks the sections: {:?}", text.chars().take(120).collect::<String>()))
    }
}

/// A sentence of the transcript and when it began.
struct Sentence {
    text: String,
    start: f64,
}

fn sentences(segments: &[Segment]) -> Vec<Sentence> {
    let mut out = Vec::new();
    for segment in segments {
        let mut rest = segment.text.trim();
        while !rest.is_empty() {
            let end = rest
                .char_indices()
                .find(|(i, c)| {
                    matches!(c, '.' | '?' | '!') && rest[i + c.len_utf8()..].starts_with(|n: char| n.is_whitespace())
                })
                .map_or(rest.len(), |(i, c)| i + c.len_utf8());
            let text = rest[..end].trim();
            if text.split_whitespace().count() >= 2 {
                out.push(Sentence { text: text.to_owned(), start: segment.start });
            }
            rest = rest[end..].trim_start();
        }
    }
    out
}

const DECISION: [&str; 14] = [
    "we decided",
    "decided to",
    "decided that",
    "decision",
    "we agreed",
    "agreed to",
    "agreed that",
    "we agree",
    "go with",
    "approved",
    "we chose",
    "settled on",
    "we will use",
    "final call",
];

const ACTION: [&str; 12] = [
    " will ",
    "'ll ",
    "action item",
    "needs to",
    "need to",
    "has to",
    "is going to",
    "follow up",
    "take care of",
    "is responsible for",
    "please ",
    " must ",
];

const NOT_NAMES: [&str; 24] = [
    "I", "We", "You", "They", "He", "She", "It", "This", "That", "There", "Then", "Everyone", "Somebody", "Someone",
    "Nobody", "Who", "What", "And", "But", "So", "Also", "Next", "The", "Our",
];

const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'')).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

/// Who a sentence gives the task to: the name before "will", "needs to"…, or after
/// "action item for"; none for "I" or "we" (the speaker is not known).
fn owner(sentence: &str) -> Option<String> {
    let words = words_of(sentence);
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let is_name = |word: &str| {
        word.chars().next().is_some_and(char::is_uppercase) && !NOT_NAMES.contains(&word) && word.len() > 1
    };
    for (i, word) in lower.iter().enumerate() {
        let verb = matches!(word.as_str(), "will" | "needs" | "must" | "should" | "has")
            || (word == "is" && lower.get(i + 1).is_some_and(|n| n == "going" || n == "responsible"));
        if verb && i > 0 && is_name(&words[i - 1]) {
            return Some(words[i - 1].clone());
        }
        if word.ends_with("'ll") && is_name(words[i].trim_end_matches("'ll")) {
            return Some(words[i].trim_end_matches("'ll").to_owned());
        }
        if word == "for" && i > 0 && lower[i - 1] == "item" && words.get(i + 1).is_some_and(|n| is_name(n)) {
            return words.get(i + 1).cloned();
        }
    }
    None
}

/// The due date a sentence names: "by Friday", "before the end of the month", "by March 3"…
fn due(sentence: &str) -> Option<String> {
    let words: Vec<String> = words_of(sentence).iter().map(|w| w.to_lowercase()).collect();
    for (i, word) in words.iter().enumerate() {
        if !matches!(word.as_str(), "by" | "before" | "until" | "due" | "on") {
            continue;
        }
        let next: Vec<&str> = words[i + 1..].iter().take(5).map(String::as_str).collect();
        let take = match next.as_slice() {
            ["tomorrow" | "today" | "tonight", ..] => 1,
            [day, ..] if WEEKDAYS.contains(day) => 1,
            ["next", what, ..] if WEEKDAYS.contains(what) || matches!(*what, "week" | "month" | "sprint") => 2,
            ["the", "end", "of", "the", _, ..] => 5,
            ["the", "end", "of", _, ..] | ["end", "of", "the", _, ..] => 4,
            ["end", "of", _, ..] => 3,
            [month, day, ..] if MONTHS.contains(month) && day.chars().next().is_some_and(|c| c.is_ascii_digit()) => 2,
            ["the", day, ..] if day.chars().next().is_some_and(|c| c.is_ascii_digit()) => 2,
            _ => 0,
        };
        if take > 0 && (word != "on" || next.first().is_some_and(|d| WEEKDAYS.contains(d))) {
            return Some(next[..take].join(" "));
        }
    }
    None
}

fn quote(sentence: &Sentence) -> String {
    let mut text: String = sentence.text.chars().take(MOST_QUOTED).collect();
    if text.len() < sentence.text.len() {
        text.push('…');
    }
    format!("{text} [{}]", stamp(sentence.start))
}

/// Minutes from the transcript's own sentences: the summary is the sentences whose words
/// recur most in the meeting (in the order said), decisions and action items are sentences
/// that say so, open questions are the questions asked.
pub fn extractive(segments: &[Segment]) -> String {
    let all = sentences(segments);
    let lower: Vec<String> = all.iter().map(|s| format!(" {} ", s.text.to_lowercase())).collect();
    let questions: Vec<usize> = (0..all.len()).filter(|&i| all[i].text.ends_with('?')).collect();
    let decisions: Vec<usize> = (0..all.len())
        .filter(|&i| !questions.contains(&i) && DECISION.iter().any(|cue| lower[i].contains(cue)))
        .collect();
    let actions: Vec<usize> = (0..all.len())
        .filter(|&i| {
            !questions.contains(&i) && !decisions.contains(&i) && ACTION.iter().any(|cue| lower[i].contains(cue))
        })
        .collect();
    let summary = summary(&all);
    let mut text = String::from("## Summary\n\n");
    if summary.is_empty() {
        text.push_str("Nothing was said that could be summarised.\n");
    }
    for i in summary {
        text.push_str(&format!("- {}\n", quote(&all[i])));
    }
    let section = |title: &str, items: Vec<String>| {
        let mut out = format!("\n## {title}\n\n");
        if items.is_empty() {
            out.push_str("None.\n");
        }
        for item in items {
            out.push_str(&format!("- {item}\n"));
        }
        out
    };
    text.push_str(&section("Decisions", decisions.iter().map(|&i| quote(&all[i])).collect()));
    let items = actions
        .iter()
        .map(|&i| {
            let who = owner(&all[i].text).unwrap_or_else(|| "unassigned".into());
            let when = due(&all[i].text).map_or_else(|| "no date said".into(), |d| format!("due {d}"));
            format!("**{who}** ({when}): {}", quote(&all[i]))
        })
        .collect();
    text.push_str(&section("Action items", items));
    text.push_str(&section("Open questions", questions.iter().map(|&i| quote(&all[i])).collect()));
    text
}

/// Up to `SUMMARY_SENTENCES` sentences (no questions), in the order said, scored by how much
/// the meeting repeats their words (words of four letters or more, counted once a sentence).
fn summary(all: &[Sentence]) -> Vec<usize> {
    let content = |text: &str| -> Vec<String> {
        let mut words: Vec<String> =
            words_of(text).into_iter().map(|w| w.to_lowercase()).filter(|w| w.chars().count() >= 4).collect();
        words.sort();
        words.dedup();
        words
    };
    let mut frequency: HashMap<String, f64> = HashMap::new();
    for sentence in all {
        for word in content(&sentence.text) {
            *frequency.entry(word).or_default() += 1.0;
        }
    }
    let mut scored: Vec<(usize, f64)> = all
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.text.ends_with('?'))
        .map(|(i, s)| {
            let words = content(&s.text);
            let score: f64 =
                words.iter().map(|w| frequency[w].ln_1p()).sum::<f64>() / (words.len() as f64 + 1.0).sqrt();
            (i, score)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<usize> = scored.into_iter().take(SUMMARY_SENTENCES).map(|(i, _)| i).collect();
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn segment(start: f64, text: &str) -> Segment {
        Segment { start, end: start + 3.0, text: text.into() }
    }

    #[test]
    fn owners_and_due_dates_are_found_where_said() {
        assert_eq!(owner("Alice will send the budget report by Friday."), Some("Alice".into()));
        assert_eq!(owner("Then Bob needs to fix the login page."), Some("Bob".into()));
        assert_eq!(owner("Action item for Carol: book the room."), Some("Carol".into()));
        assert_eq!(owner("I will look into it."), None);
        assert_eq!(owner("We will ship it."), None);
        assert_eq!(due("Alice will send the budget report by Friday."), Some("friday".into()));
        assert_eq!(due("Done before the end of the month."), Some("the end of the month".into()));
        assert_eq!(due("Ship it by March 3rd please."), Some("march 3rd".into()));
        assert_eq!(due("Let's meet on Tuesday."), Some("tuesday".into()));
        assert_eq!(due("Bob will fix it by next week."), Some("next week".into()));
        assert_eq!(due("Bob will fix it on the server."), None);
    }

    #[test]
    fn extractive_minutes_sort_what_was_said() {
        let segments = vec![
            segment(0.0, "Good morning everyone. The budget review is the main topic today."),
            segment(5.0, "We decided to move the launch to the second week of May."),
            segment(10.0, "Alice will send the budget report by Friday."),
            segment(75.0, "Who owns the vendor contract? The budget is tight this quarter."),
        ];
        let minutes = extractive(&segments);
        let section = |title: &str| {
            let start = minutes.find(&format!("## {title}")).unwrap();
            let rest = &minutes[start + title.len() + 3..];
            rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
        };
        assert!(section("Decisions").contains("We decided to move the launch to the second week of May. [00:00:05]"));
        assert!(section("Action items").contains("**Alice** (due friday): Alice will send the budget report"));
        assert!(section("Open questions").contains("Who owns the vendor contract? [00:01:15]"));
        assert!(!section("Summary").contains("vendor contract"), "questions are not summary");
        assert!(section("Summary").contains("budget"));
    }

    #[test]
    fn silence_gives_empty_sections_not_an_error() {
        let minutes = extractive(&[]);
        assert!(minutes.contains("## Decisions\n\nNone."));
        assert!(minutes.contains("## Open questions\n\nNone."));
    }
}
