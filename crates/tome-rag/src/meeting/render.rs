//! How a transcript reads as a document: a title, what was recorded, then one paragraph per
//! segment opening with its time stamp `[hh:mm:ss]`, which extraction turns into each
//! chunk's time (so a citation says when it was said).

use tome_models::whisper::Segment;

/// `hh:mm:ss` of `seconds` (rounded down).
pub fn stamp(seconds: f64) -> String {
    let total = seconds.max(0.0) as u64;
    format!("{:02}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60)
}

/// Seconds of a `[hh:mm:ss]` or `[mm:ss]` stamp at the start of `text`.
pub fn leading_stamp(text: &str) -> Option<u32> {
    let rest = text.trim_start().strip_prefix('[')?;
    let inside = &rest[..rest.find(']')?];
    let parts: Vec<&str> = inside.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    parts.iter().try_fold(0u32, |total, part| Some(total.checked_mul(60)? + part.parse::<u32>().ok()?))
}

/// What the header of both documents says about the recording.
pub struct Recording<'a> {
    pub name: &'a str,
    /// `YYYY-MM-DD` it was uploaded.
    pub date: &'a str,
    pub duration: f64,
    pub language: &'a str,
    pub model: &'a str,
}

impl Recording<'_> {
    pub fn facts(&self) -> String {
        format!(
            "Recording: {} · {} · length {} · language {} · heard by {}",
            self.name,
            self.date,
            stamp(self.duration),
            self.language,
            self.model
        )
    }
}

/// The transcript document (Markdown).
pub fn transcript(recording: &Recording<'_>, segments: &[Segment]) -> String {
    let mut text = format!("# Transcript: {}\n\n{}\n\n", recording.name, recording.facts());
    for segment in segments {
        let words = segment.text.trim();
        if !words.is_empty() {
            text.push_str(&format!("[{}] {}\n\n", stamp(segment.start), escape(words)));
        }
    }
    text
}

/// Speech that would read as Markdown syntax at a line's start stays text.
fn escape(words: &str) -> String {
    match words.chars().next() {
        Some('#' | '-' | '*' | '+' | '>' | '|' | '`' | '=' | '_') => format!("\\{words}"),
        _ => words.to_owned(),
    }
}

/// The transcript as the chat model reads it: one stamped line per segment.
pub fn lines(segments: &[Segment]) -> Vec<String> {
    segments
        .iter()
        .filter(|s| !s.text.trim().is_empty())
        .map(|s| format!("[{}] {}", stamp(s.start), s.text.trim()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip() {
        assert_eq!(stamp(0.0), "00:00:00");
        assert_eq!(stamp(3725.9), "01:02:05");
        assert_eq!(leading_stamp("[01:02:05] we agreed"), Some(3725));
        assert_eq!(leading_stamp("[02:05] hi"), Some(125));
        assert_eq!(leading_stamp("[1] a citation"), None);
        assert_eq!(leading_stamp("[a:b] no"), None);
        assert_eq!(leading_stamp("no stamp [00:00:01]"), None);
    }

    #[test]
    fn transcript_has_a_stamped_paragraph_per_segment() {
        let recording =
            Recording { name: "standup.wav", date: "2026-11-23", duration: 65.0, language: "en", model: "tiny.en" };
        let segments = vec![
            Segment { start: 0.0, end: 4.0, text: " Good morning. ".into() },
            Segment { start: 4.0, end: 5.0, text: "  ".into() },
            Segment { start: 61.5, end: 64.0, text: "# not a heading".into() },
        ];
        let text = transcript(&recording, &segments);
        assert!(text.starts_with("# Transcript: standup.wav\n\nRecording: standup.wav · 2026-11-23 · length 00:01:05"));
        assert!(text.contains("\n\n[00:00:00] Good morning.\n\n[00:01:01] \\# not a heading\n\n"));
        assert_eq!(lines(&segments), ["[00:00:00] Good morning.", "[00:01:01] # not a heading"]);
    }
}
