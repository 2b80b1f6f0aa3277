//! Transcription speed on this machine: MINUTES of speech (default 10) made by espeak-ng
//! from varied meeting sentences, read and transcribed window by window by the Whisper
//! folder given, as the transcription job does. Prints the model load time, the real-time
//! factor (audio seconds per wall second), peak RSS and the word error rate.
//!
//!   scripts/bench-transcribe [MINUTES]     (tiny.en and base, one process each)
//!   cargo run --release -p tome-models --example transcribe_bench -- MODEL_DIR [MINUTES]

use std::time::Instant;

use tome_models::audio::AudioReader;
use tome_models::whisper::{LocalWhisper, transcribe_stream};
use tome_testkit::speech::{speak, wer};

const SUBJECTS: [&str; 8] =
    ["Maria", "The finance team", "Our supplier", "The board", "Peter", "The design group", "Legal", "Everyone"];
const ACTIONS: [&str; 8] = [
    "will review the quarterly budget",
    "asked for the revised delivery schedule",
    "agreed to postpone the product launch",
    "needs the signed contract",
    "will present the hiring plan",
    "reported a delay in the warehouse",
    "proposed a new pricing model",
    "wants a summary of the customer survey",
];
const WHEN: [&str; 8] = [
    "before Friday",
    "by the end of the month",
    "next Tuesday",
    "at the next meeting",
    "within two weeks",
    "after the audit",
    "this afternoon",
    "before the holidays",
];

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: transcribe_bench MODEL_DIR [MINUTES]")?;
    let minutes: f64 = std::env::args().nth(2).map(|m| m.parse()).transpose()?.unwrap_or(10.0);
    // espeak-ng reads about 150 words a minute at -s 150.
    let mut sentences = Vec::new();
    let mut words = 0usize;
    let mut index = 0usize;
    while (words as f64) < minutes * 150.0 {
        let sentence = format!(
            "{} {} {}.",
            SUBJECTS[index % 8],
            ACTIONS[(index / 8 + index) % 8],
            WHEN[(index * 3 + index / 64) % 8]
        );
        words += sentence.split_whitespace().count();
        sentences.push(sentence);
        index += 1;
    }
    let text = sentences.join(" ");
    let scratch = tempfile::tempdir()?;
    let wav = scratch.path().join("meeting.wav");
    let started = Instant::now();
    speak(&text, &wav);
    println!("speech: {words} words spoken by espeak-ng in {:.1} s", started.elapsed().as_secs_f64());

    let started = Instant::now();
    let mut model = LocalWhisper::load(std::path::Path::new(&dir))?;
    println!("model {}: loaded in {:.2} s", model.name(), started.elapsed().as_secs_f64());
    let mut reader = AudioReader::open(&wav)?;
    let started = Instant::now();
    let mut last = 0.0;
    let (segments, language) = transcribe_stream(
        &mut model,
        |count| reader.read(count),
        |done| {
            if done - last >= 60.0 {
                eprintln!("  {:.0} s transcribed, {:.0} s elapsed", done, started.elapsed().as_secs_f64());
                last = done;
            }
        },
    )?;
    let wall = started.elapsed().as_secs_f64();
    let audio = segments.last().map_or(0.0, |s| s.end).max(last);
    let heard: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
    let audio_seconds = {
        let reader = AudioReader::open(&wav)?;
        reader.duration.unwrap_or(audio)
    };
    println!(
        "transcribed {:.1} min of audio in {:.1} s: real-time factor {:.1} (audio s per wall s), {} segments, language {language}",
        audio_seconds / 60.0,
        wall,
        audio_seconds / wall,
        segments.len()
    );
    println!("peak RSS {:.0} MiB; WER {:.3}", peak_rss_mib(), wer(&text, &heard.join(" ")));
    Ok(())
}
