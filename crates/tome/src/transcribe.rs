//! `tome transcribe FILE…`: recordings heard here by the configured transcriber (a progress
//! bar per file: seconds heard of the total), minutes by the default chat model or the
//! extractive writer, printed or saved as `<stem>.transcript.md` and `<stem>.minutes.md`.
//! Nothing is stored in the database: this is the same work as the `transcription.run` job
//! without the knowledge base.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use tome_config::Config;
use tome_models::transcribe::Progress;
use tome_rag::meeting::{minutes, render};

pub struct TranscribeRequest {
    pub files: Vec<PathBuf>,
    /// Where to save the two Markdown files of each recording (None: print them).
    pub out: Option<PathBuf>,
}

pub async fn run(config: Config, request: TranscribeRequest) -> anyhow::Result<()> {
    let Some(transcriber) = crate::models::load_transcriber(&config)? else {
        bail!("no transcription model is configured: set TOME_WHISPER_MODEL_DIR (or TOME_STT_BASE_URL)");
    };
    let writer = crate::models::load_chat_models(&config)?.into_iter().next().filter(|m| m.is_generative());
    if let Some(out) = &request.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    }
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let mut failed = Vec::new();
    for file in &request.files {
        let bar = ProgressBar::new(1);
        bar.set_style(
            ProgressStyle::with_template("{prefix} {bar:30} {msg} · {elapsed_precise} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(file.display().to_string());
        let shown = bar.clone();
        let progress: Progress = Arc::new(move |done: f64, total: Option<f64>| {
            if let Some(total) = total {
                shown.set_length(total.max(1.0) as u64);
            }
            shown.set_position(done as u64);
            shown.set_message(format!(
                "{} of {} heard",
                render::stamp(done),
                total.map_or_else(|| "?".to_owned(), render::stamp)
            ));
        });
        let heard = transcriber.transcribe(file, progress).await;
        bar.finish_and_clear();
        let transcript = match heard {
            Ok(transcript) if transcript.text().is_empty() => {
                failed.push(format!("{}: no speech was heard", file.display()));
                continue;
            }
            Ok(transcript) => transcript,
            Err(error) => {
                failed.push(format!("{}: {error}", file.display()));
                continue;
            }
        };
        let name = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
        let recording = render::Recording {
            name: &name,
            date: &today,
            duration: transcript.duration,
            language: &transcript.language,
            model: transcriber.name(),
        };
        let text = render::transcript(&recording, &transcript.segments);
        let (written, _) = minutes::write(writer.as_deref(), &recording, &transcript.segments).await;
        match &request.out {
            Some(out) => {
                let stem = file.file_stem().map_or_else(|| name.clone(), |s| s.to_string_lossy().into_owned());
                save(&out.join(format!("{stem}.transcript.md")), &text)?;
                save(&out.join(format!("{stem}.minutes.md")), &written)?;
            }
            None => println!("{text}\n{written}"),
        }
    }
    if !failed.is_empty() {
        for line in &failed {
            eprintln!("failed: {line}");
        }
        bail!("{} of {} recording(s) could not be transcribed", failed.len(), request.files.len());
    }
    Ok(())
}

fn save(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
