//! The transcriber trait and its two implementations: Whisper run in-process (a recording read
//! piece by piece and heard window by window, so memory stays bounded at any length) and any
//! OpenAI-compatible `/v1/audio/transcriptions` server (the file streamed up, the answer's
//! `verbose_json` segments kept).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use crate::audio::AudioReader;
use crate::retry::{error_text, pause, retry_after, retryable};
use crate::whisper::{LocalWhisper, Segment, TranscribeError, transcribe_stream};

/// What a recording said.
#[derive(Clone, Debug, PartialEq)]
pub struct Transcript {
    /// Timed segments, in order, seconds from the start.
    pub segments: Vec<Segment>,
    /// The language heard (an ISO 639-1 code where the model names one).
    pub language: String,
    /// The recording's length in seconds.
    pub duration: f64,
}

impl Transcript {
    /// The segments' text, one after the other.
    pub fn text(&self) -> String {
        let parts: Vec<&str> = self.segments.iter().map(|s| s.text.trim()).filter(|t| !t.is_empty()).collect();
        parts.join(" ")
    }
}

/// Called with the seconds heard so far and the recording's length when known.
pub type Progress = Arc<dyn Fn(f64, Option<f64>) + Send + Sync>;

/// Speech to text.
#[async_trait]
pub trait Transcriber: Send + Sync {
    /// The name stored on each transcription.
    fn name(&self) -> &str;
    /// Transcribes the recording at `path`, reporting progress as it goes.
    async fn transcribe(&self, path: &Path, progress: Progress) -> Result<Transcript, TranscribeError>;
}

/// Whisper in-process: one recording at a time (each uses every core), off the async threads.
pub struct LocalTranscriber {
    name: String,
    model: Arc<Mutex<LocalWhisper>>,
}

impl LocalTranscriber {
    pub fn new(model: LocalWhisper) -> Self {
        Self { name: model.name().to_owned(), model: Arc::new(Mutex::new(model)) }
    }

    /// Loads a CTranslate2 Whisper folder.
    pub fn load(dir: &Path) -> Result<Self, TranscribeError> {
        LocalWhisper::load(dir).map(Self::new)
    }
}

#[async_trait]
impl Transcriber for LocalTranscriber {
    fn name(&self) -> &str {
        &self.name
    }

    async fn transcribe(&self, path: &Path, progress: Progress) -> Result<Transcript, TranscribeError> {
        let model = self.model.clone();
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut reader = AudioReader::open(&path)?;
            let total = reader.duration;
            progress(0.0, total);
            let mut model = model.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut heard = 0.0;
            let (segments, language) = transcribe_stream(
                &mut model,
                |count| reader.read(count),
                |seconds| {
                    heard = seconds;
                    progress(seconds, total);
                },
            )?;
            Ok(Transcript { segments, language, duration: total.unwrap_or(heard).max(heard) })
        })
        .await
        .map_err(|error| TranscribeError::Failed(format!("the transcription thread stopped: {error}")))?
    }
}

/// How to reach an OpenAI-compatible transcription server.
#[derive(Clone, Debug)]
pub struct RemoteTranscriberSettings {
    /// Up to and including `/v1`, e.g. `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    /// Tries, the first included (429, 5xx and connection failures are retried).
    pub attempts: u32,
    pub backoff: Duration,
    /// For the whole request: long recordings take a while.
    pub timeout: Duration,
}

impl RemoteTranscriberSettings {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            attempts: 3,
            backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(3600),
        }
    }
}

/// A `/v1/audio/transcriptions` server.
pub struct RemoteTranscriber {
    settings: RemoteTranscriberSettings,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct VerboseJson {
    #[serde(default)]
    text: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    segments: Vec<RemoteSegment>,
}

#[derive(Deserialize)]
struct RemoteSegment {
    start: f64,
    end: f64,
    text: String,
}

impl RemoteTranscriber {
    pub fn new(settings: RemoteTranscriberSettings) -> Result<Self, TranscribeError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| TranscribeError::Load(error.to_string()))?;
        Ok(Self { settings, client })
    }

    fn url(&self) -> String {
        format!("{}/audio/transcriptions", self.settings.base_url.trim_end_matches('/'))
    }

    async fn form(&self, path: &Path) -> Result<reqwest::multipart::Form, TranscribeError> {
        let file = tokio::fs::File::open(path).await.map_err(|error| TranscribeError::Failed(error.to_string()))?;
        let length = file.metadata().await.map_err(|error| TranscribeError::Failed(error.to_string()))?.len();
        let name = path.file_name().map_or_else(|| "audio".to_owned(), |n| n.to_string_lossy().into_owned());
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let part = reqwest::multipart::Part::stream_with_length(body, length).file_name(name);
        Ok(reqwest::multipart::Form::new()
            .part("file", part)
            .text("model", self.settings.model.clone())
            .text("response_format", "verbose_json")
            .text("timestamp_granularities[]", "segment"))
    }
}

/// Whisper servers name languages in full ("english"); Tome stores codes where it can.
fn language_code(name: &str) -> String {
    const NAMES: [(&str, &str); 12] = [
        ("english", "en"),
        ("german", "de"),
        ("french", "fr"),
        ("spanish", "es"),
        ("italian", "it"),
        ("portuguese", "pt"),
        ("dutch", "nl"),
        ("polish", "pl"),
        ("russian", "ru"),
        ("chinese", "zh"),
        ("japanese", "ja"),
        ("korean", "ko"),
    ];
    let lower = name.trim().to_lowercase();
    NAMES.iter().find(|(full, _)| *full == lower).map_or(lower, |(_, code)| (*code).to_owned())
}

#[async_trait]
impl Transcriber for RemoteTranscriber {
    fn name(&self) -> &str {
        &self.settings.model
    }

    async fn transcribe(&self, path: &Path, progress: Progress) -> Result<Transcript, TranscribeError> {
        progress(0.0, None);
        let mut delay = self.settings.backoff;
        let mut attempt = 1;
        let answer = loop {
            let mut request = self.client.post(self.url()).multipart(self.form(path).await?);
            if let Some(key) = &self.settings.api_key {
                request = request.bearer_auth(key);
            }
            let (server, message) = match request.send().await {
                Ok(response) if response.status().is_success() => {
                    break response.json::<VerboseJson>().await.map_err(|error| {
                        TranscribeError::Failed(format!("the server's answer is unreadable: {error}"))
                    })?;
                }
                Ok(response) if retryable(response.status()) => {
                    (retry_after(response.headers()), error_text(response).await)
                }
                Ok(response) => {
                    return Err(TranscribeError::Failed(format!(
                        "the transcription server refused the recording: {}",
                        error_text(response).await
                    )));
                }
                Err(error) if error.is_connect() || error.is_timeout() || error.is_request() => {
                    (None, error.to_string())
                }
                Err(error) => return Err(TranscribeError::Failed(error.to_string())),
            };
            if attempt >= self.settings.attempts {
                return Err(TranscribeError::Failed(format!(
                    "the transcription server failed {attempt} times: {message}"
                )));
            }
            tracing::warn!(attempt, %message, "transcription server failed; retrying");
            tokio::time::sleep(pause(server, delay)).await;
            delay *= 2;
            attempt += 1;
        };
        let mut segments: Vec<Segment> = answer
            .segments
            .into_iter()
            .map(|s| Segment { start: s.start, end: s.end, text: s.text.trim().to_owned() })
            .filter(|s| !s.text.is_empty())
            .collect();
        // A server that answers plain `json` gives the text alone: one segment.
        if segments.is_empty() && !answer.text.trim().is_empty() {
            segments.push(Segment { start: 0.0, end: answer.duration.unwrap_or(0.0), text: answer.text.trim().into() });
        }
        let duration = answer.duration.unwrap_or_else(|| segments.last().map_or(0.0, |s| s.end));
        progress(duration, Some(duration));
        let language = answer.language.as_deref().map_or_else(|| "en".to_owned(), language_code);
        Ok(Transcript { segments, language, duration })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_language_names_become_codes() {
        assert_eq!(language_code("English"), "en");
        assert_eq!(language_code("de"), "de");
        assert_eq!(language_code("klingon"), "klingon");
    }

    #[test]
    fn text_joins_the_segments() {
        let transcript = Transcript {
            segments: vec![
                Segment { start: 0.0, end: 1.0, text: " Hello there. ".into() },
                Segment { start: 1.0, end: 2.0, text: "".into() },
                Segment { start: 2.0, end: 3.0, text: "General Kenobi.".into() },
            ],
            language: "en".into(),
            duration: 3.0,
        };
        assert_eq!(transcript.text(), "Hello there. General Kenobi.");
    }
}
