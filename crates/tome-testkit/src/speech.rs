//! Real speech for tests: espeak-ng (the Debian package `espeak-ng`, which `scripts/test`
//! installs) speaks known sentences into a WAV file; `wer` scores a transcript against them.

use std::path::{Path, PathBuf};

/// The Whisper tiny.en folder for tests: `TOME_TEST_WHISPER_MODEL_DIR`, else the workspace's
/// `.cache/models/whisper-tiny.en` (what `scripts/models whisper` writes). Panics, saying how
/// to get it, when neither exists.
pub fn whisper_dir() -> PathBuf {
    let dir = std::env::var_os("TOME_TEST_WHISPER_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models/whisper-tiny.en"));
    assert!(dir.join("model.bin").is_file(), "no Whisper model at {}: run `scripts/models whisper`", dir.display());
    dir
}

/// Speaks `text` into `path` (WAV, 22,050 Hz mono) with espeak-ng; `text` may hold SSML
/// pauses (`<break time="2s"/>`). Panics, saying how to install it, when espeak-ng is
/// missing.
pub fn speak(text: &str, path: &Path) {
    let output = std::process::Command::new("espeak-ng")
        .args(["-m", "-v", "en-us", "-s", "150", "-w"])
        .arg(path)
        .arg(text)
        .output()
        .unwrap_or_else(|error| {
            panic!("espeak-ng cannot run ({error}): `apt-get install espeak-ng` (scripts/test does)")
        });
    assert!(output.status.success(), "espeak-ng failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// Lower-case words without punctuation.
fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|word| word.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase())
        .filter(|word| !word.is_empty())
        .collect()
}

/// Word error rate of `hypothesis` against `reference`: word edits (substitutions,
/// insertions, deletions) over the reference's words.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let (reference, hypothesis) = (words(reference), words(hypothesis));
    let mut previous: Vec<usize> = (0..=hypothesis.len()).collect();
    for (i, expected) in reference.iter().enumerate() {
        let mut current = vec![i + 1; hypothesis.len() + 1];
        for (j, heard) in hypothesis.iter().enumerate() {
            let substitution = previous[j] + usize::from(expected != heard);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[hypothesis.len()] as f64 / reference.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    #[test]
    fn wer_counts_word_edits_over_the_reference() {
        assert_eq!(super::wer("The cat sat.", "the cat sat"), 0.0);
        assert_eq!(super::wer("the cat sat on the mat", "the cat sit on mat"), 2.0 / 6.0);
        assert_eq!(super::wer("a b", "a b c d"), 1.0);
    }
}
