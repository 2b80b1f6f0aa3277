//! Whisper tiny.en from its CTranslate2 folder, in-process: real speech made by espeak-ng is
//! decoded, resampled to 16 kHz and transcribed with timed segments close to the text said.

#![expect(clippy::unwrap_used, reason = "tests")]

use tome_models::audio::{AudioError, AudioReader, RATE};
use tome_models::whisper::{LocalWhisper, transcribe};
use tome_testkit::speech::{speak, wer, whisper_dir};

const SAID: &str = "The quarterly budget meeting is moved to Thursday. Maria will send the revised figures \
                    to the finance team before noon.";

fn read_all(reader: &mut AudioReader) -> Vec<f32> {
    let mut samples = Vec::new();
    loop {
        let piece = reader.read(RATE * 7).unwrap();
        if piece.is_empty() {
            return samples;
        }
        samples.extend(piece);
    }
}

#[test]
fn speech_is_transcribed_with_timed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("meeting.wav");
    speak(SAID, &wav);
    let mut reader = AudioReader::open(&wav).unwrap();
    assert_eq!(reader.source_rate(), 22_050);
    let expected = reader.duration.unwrap();
    let samples = read_all(&mut reader);
    // Resampled to 16 kHz, the length is kept (within one source chunk).
    let seconds = samples.len() as f64 / RATE as f64;
    assert!((seconds - expected).abs() < 0.1, "{seconds} s of {expected} s");

    let mut model = LocalWhisper::load(&whisper_dir()).unwrap();
    assert!(!model.multilingual());
    let mut reported = Vec::new();
    let (segments, language) = transcribe(&mut model, &samples, |done| reported.push(done)).unwrap();
    assert_eq!(language, "en");
    let text: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
    let text = text.join(" ");
    let error = wer(SAID, &text);
    assert!(error < 0.2, "WER {error:.2}: {text:?}");
    assert!(segments.windows(2).all(|pair| pair[0].end <= pair[1].start + 0.01), "{segments:?}");
    assert!(segments.iter().all(|s| s.start < s.end && s.end <= seconds + 0.5), "{segments:?}");
    assert_eq!(reported.last().copied(), Some(seconds));
}

/// Ogg Opus (which symphonia demuxes but cannot decode) is decoded at 16 kHz, the encoder's
/// pre-skip dropped, and heard as well as the WAV it was made from. `opusenc` is Debian's
/// `opus-tools`, which `scripts/test` installs.
#[test]
fn ogg_opus_is_decoded_and_heard() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("meeting.wav");
    let opus = dir.path().join("meeting.opus");
    speak(SAID, &wav);
    let output = std::process::Command::new("opusenc")
        .args(["--quiet", "--bitrate", "32"])
        .arg(&wav)
        .arg(&opus)
        .output()
        .unwrap_or_else(|error| {
            panic!("opusenc cannot run ({error}): `apt-get install opus-tools` (scripts/test does)")
        });
    assert!(output.status.success(), "opusenc failed: {}", String::from_utf8_lossy(&output.stderr));
    let wav_seconds = AudioReader::open(&wav).unwrap().duration.unwrap();
    let mut reader = AudioReader::open(&opus).unwrap();
    assert_eq!(reader.source_rate(), RATE, "decoded straight at 16 kHz");
    let samples = read_all(&mut reader);
    let seconds = samples.len() as f64 / RATE as f64;
    assert!((seconds - wav_seconds).abs() < 0.1, "{seconds} s of Opus from {wav_seconds} s of WAV");
    let mut model = LocalWhisper::load(&whisper_dir()).unwrap();
    let (segments, _) = transcribe(&mut model, &samples, |_| {}).unwrap();
    let text: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
    let error = wer(SAID, &text.join(" "));
    assert!(error < 0.2, "WER {error:.2}: {text:?}");
}

#[test]
fn a_long_recording_goes_window_by_window() {
    // Four takes with pauses: over 30 s, so the second window resumes where the first's
    // last complete segment ended.
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("long.wav");
    let pause = r#"<break time="2s"/>"#;
    let script = format!("{SAID} {pause} {SAID} {pause} {SAID} {pause} {SAID}");
    speak(&script, &wav);
    let samples = read_all(&mut AudioReader::open(&wav).unwrap());
    assert!(samples.len() > 30 * RATE, "{} s", samples.len() / RATE);
    let mut model = LocalWhisper::load(&whisper_dir()).unwrap();
    let (segments, _) = transcribe(&mut model, &samples, |_| {}).unwrap();
    let text: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
    let error = wer(&format!("{SAID} {SAID} {SAID} {SAID}"), &text.join(" "));
    assert!(error < 0.25, "WER {error:.2}: {text:?}");
}

#[test]
fn silence_gives_no_segments() {
    let mut model = LocalWhisper::load(&whisper_dir()).unwrap();
    let (segments, _) = transcribe(&mut model, &vec![0.0; RATE * 5], |_| {}).unwrap();
    assert!(segments.is_empty(), "{segments:?}");
    // Faint hiss (-70 dBFS) is silence too.
    let hiss: Vec<f32> = (0..RATE * 5).map(|i| if i % 2 == 0 { 3e-4 } else { -3e-4 }).collect();
    let (segments, _) = transcribe(&mut model, &hiss, |_| {}).unwrap();
    assert!(segments.is_empty(), "{segments:?}");
}

#[test]
fn a_file_that_is_not_audio_is_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.wav");
    std::fs::write(&path, b"these are not the samples you are looking for").unwrap();
    let error = AudioReader::open(&path).err().unwrap();
    assert!(matches!(error, AudioError::Unsupported(_)), "{error}");
    assert!(error.to_string().contains("not an audio format Tome reads"), "{error}");
}

#[test]
fn a_folder_without_a_model_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.bin"), [7u8, 0, 0, 0]).unwrap();
    let error = LocalWhisper::load(dir.path()).err().unwrap().to_string();
    assert!(error.contains(&dir.path().display().to_string()), "{error}");
}
