//! Counting tokens as an embedder sees them, for chunk sizes.

/// Counts tokens of a text.
pub trait TokenCounter: Send + Sync {
    fn count(&self, text: &str) -> usize;
    /// A name for the log and the chunk metadata.
    fn name(&self) -> &str;
}

/// Used when no tokenizer is available: one token per short word, more for long ones, one
/// per punctuation mark — close to WordPiece counts for English prose.
pub struct EstimatedTokens;

impl TokenCounter for EstimatedTokens {
    fn count(&self, text: &str) -> usize {
        let mut tokens = 0;
        let mut word = 0usize;
        for ch in text.chars() {
            if ch.is_alphanumeric() {
                word += 1;
                continue;
            }
            if word > 0 {
                tokens += 1 + (word - 1) / 6;
                word = 0;
            }
            if !ch.is_whitespace() {
                tokens += 1;
            }
        }
        if word > 0 {
            tokens += 1 + (word - 1) / 6;
        }
        tokens
    }

    fn name(&self) -> &str {
        "estimate"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimated_tokens_count_words_and_punctuation() {
        assert_eq!(EstimatedTokens.count("Hello, world."), 4);
        assert_eq!(EstimatedTokens.count("internationalization"), 4);
    }
}
