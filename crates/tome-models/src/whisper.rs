//! Whisper run in-process with candle, from a CTranslate2 model folder (`model.bin`,
//! `config.json`, `tokenizer.json`, `vocabulary.txt` — what the installable Whisper wheels
//! ship): `ct2.rs` reads the weights, `candle_names` maps them onto candle's Whisper (fused
//! attention projections split), `mel.rs` supplies the filter bank. Audio goes in as 16 kHz
//! mono samples, one 30-second window at a time; greedy decoding with Whisper's timestamp
//! rules gives timed segments. A window whose last segment is cut off is resumed from that
//! segment's start.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, IndexOp, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::whisper::{self as spec, Config, audio, model::Whisper};
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use crate::ct2::Ct2File;
use crate::mel;

/// Samples per second of the audio Whisper reads.
pub const SAMPLE_RATE: usize = spec::SAMPLE_RATE;
/// Samples in one window (30 s).
pub const WINDOW: usize = spec::N_SAMPLES;
/// Seconds per timestamp step.
const TIME_STEP: f64 = 0.02;
/// Tokens written per window at most (half the decoder's context, as Whisper does).
const MAX_TOKENS: usize = 224;
/// The first timestamp may be at most this many steps in (1 s).
const MAX_INITIAL_TIMESTAMP: u32 = 50;
const NO_SPEECH_THRESHOLD: f64 = 0.6;
const LOGPROB_THRESHOLD: f64 = -1.0;
/// Root-mean-square level below which a window is silence (-60 dBFS).
const SILENCE_RMS: f64 = 1e-3;

/// The files a model folder must hold.
pub const FILES: [&str; 4] = ["model.bin", "config.json", "tokenizer.json", "vocabulary.txt"];

/// A stretch of speech: seconds from the start of the recording, and what was said.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// What one window gave: its segments (times from the window's start) and how many of its
/// samples they account for (the rest is read again with the next window).
#[derive(Clone, Debug, PartialEq)]
pub struct WindowResult {
    pub segments: Vec<Segment>,
    pub consumed: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error("the transcription model cannot be loaded: {0}")]
    Load(String),
    #[error("transcription failed: {0}")]
    Failed(String),
    #[error(transparent)]
    Audio(#[from] crate::audio::AudioError),
}

fn load_error(dir: &Path, error: impl std::fmt::Display) -> TranscribeError {
    TranscribeError::Load(format!("{}: {error}", dir.display()))
}

fn failed(error: impl std::fmt::Display) -> TranscribeError {
    TranscribeError::Failed(error.to_string())
}

#[derive(Deserialize)]
struct Ct2Config {
    #[serde(default)]
    suppress_ids: Vec<u32>,
    #[serde(default)]
    suppress_ids_begin: Vec<u32>,
    #[serde(default)]
    lang_ids: Vec<u32>,
}

/// Special token ids, from `vocabulary.txt` (the tokenizer lacks the timestamp tokens).
#[derive(Clone, Debug)]
struct Specials {
    sot: u32,
    eot: u32,
    transcribe: Option<u32>,
    no_timestamps: u32,
    no_speech: Option<u32>,
    timestamp_begin: u32,
    vocab: usize,
}

/// The in-process Whisper transcriber.
#[derive(Clone)]
pub struct LocalWhisper {
    name: String,
    model: Whisper,
    tokenizer: Tokenizer,
    specials: Specials,
    suppress: Vec<u32>,
    suppress_begin: Vec<u32>,
    /// Language tokens and their codes, for multilingual models (empty for `.en` ones).
    languages: Vec<(u32, String)>,
    filters: Vec<f32>,
}

impl std::fmt::Debug for LocalWhisper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalWhisper").field("name", &self.name).finish()
    }
}

/// Whether `dir` holds a model's files.
pub fn present(dir: &Path) -> bool {
    FILES.iter().all(|file| dir.join(file).is_file())
}

/// candle's name for a CTranslate2 variable (None for those it does not use), and for fused
/// projections the part: (name, index of the part, parts).
fn candle_names(name: &str) -> Vec<(String, usize, usize)> {
    let (side, rest) = match name.split_once('/') {
        Some(("encoder", rest)) => ("model.encoder", rest),
        Some(("decoder", rest)) => ("model.decoder", rest),
        _ => return Vec::new(),
    };
    let leaf = |path: &str, kind: &str| match kind {
        "gamma" | "weight" => format!("{side}.{path}.weight"),
        _ => format!("{side}.{path}.bias"),
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        ["conv1" | "conv2", kind] => vec![(leaf(parts[0], kind), 0, 1)],
        ["layer_norm", kind] => vec![(leaf("layer_norm", kind), 0, 1)],
        ["embeddings", "weight"] => vec![(format!("{side}.embed_tokens.weight"), 0, 1)],
        ["position_encodings", "encodings"] if side == "model.decoder" => {
            vec![(format!("{side}.embed_positions.weight"), 0, 1)]
        }
        [layer, block, module @ .., kind] if layer.starts_with("layer_") => {
            let index = &layer["layer_".len()..];
            let prefix = format!("layers.{index}");
            let module = module.join("/");
            let one = |path: &str| vec![(leaf(&format!("{prefix}.{path}"), kind), 0, 1)];
            let split = |paths: &[&str]| {
                paths
                    .iter()
                    .enumerate()
                    .filter(|(_, path)| !(kind == &"bias" && path.ends_with("k_proj")))
                    .map(|(part, path)| (leaf(&format!("{prefix}.{path}"), kind), part, paths.len()))
                    .collect()
            };
            match (*block, module.as_str()) {
                ("self_attention", "layer_norm") => one("self_attn_layer_norm"),
                ("self_attention", "linear_0") => split(&["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"]),
                ("self_attention", "linear_1") => one("self_attn.out_proj"),
                ("attention", "layer_norm") => one("encoder_attn_layer_norm"),
                ("attention", "linear_0") => one("encoder_attn.q_proj"),
                ("attention", "linear_1") => split(&["encoder_attn.k_proj", "encoder_attn.v_proj"]),
                ("attention", "linear_2") => one("encoder_attn.out_proj"),
                ("ffn", "layer_norm") => one("final_layer_norm"),
                ("ffn", "linear_0") => one("fc1"),
                ("ffn", "linear_1") => one("fc2"),
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// The number of `side/layer_N/` blocks.
fn layers(file: &Ct2File, side: &str) -> usize {
    let prefix = format!("{side}/layer_");
    file.names()
        .filter_map(|name| name.strip_prefix(&prefix)?.split('/').next()?.parse::<usize>().ok())
        .max()
        .map_or(0, |last| last + 1)
}

impl LocalWhisper {
    /// Loads a CTranslate2 Whisper folder; the model is named after the folder.
    pub fn load(dir: &Path) -> Result<Self, TranscribeError> {
        let file = Ct2File::open(&dir.join("model.bin")).map_err(|error| load_error(dir, error))?;
        if file.spec != "WhisperSpec" {
            return Err(load_error(dir, format!("model.bin holds a {}, not Whisper", file.spec)));
        }
        let config: Ct2Config = std::fs::read(dir.join("config.json"))
            .map_err(|error| load_error(dir, error))
            .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|error| load_error(dir, error)))?;
        let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|error| load_error(dir, error))?;
        let vocabulary: Vec<String> = std::fs::read_to_string(dir.join("vocabulary.txt"))
            .map_err(|error| load_error(dir, error))?
            .lines()
            .map(str::to_owned)
            .collect();
        let id = |token: &str| vocabulary.iter().position(|t| t == token).map(|i| i as u32);
        let required = |token: &str| id(token).ok_or_else(|| load_error(dir, format!("the vocabulary lacks {token}")));
        let specials = Specials {
            sot: required("<|startoftranscript|>")?,
            eot: required("<|endoftext|>")?,
            transcribe: id("<|transcribe|>"),
            no_timestamps: required("<|notimestamps|>")?,
            no_speech: id("<|nospeech|>").or_else(|| id("<|nocaptions|>")),
            timestamp_begin: required("<|0.00|>")?,
            vocab: vocabulary.len(),
        };
        let shape =
            |name: &str| file.get(name).map(|v| v.dims.clone()).ok_or_else(|| load_error(dir, format!("no {name}")));
        let conv1 = shape("encoder/conv1/weight")?;
        let embeddings = shape("decoder/embeddings/weight")?;
        let heads = |side: &str| {
            file.integer(&format!("{side}/num_heads")).map(|n| n as usize).map_err(|error| load_error(dir, error))
        };
        let whisper_config = Config {
            num_mel_bins: conv1.get(1).copied().unwrap_or(80),
            max_source_positions: shape("encoder/position_encodings/encodings")?[0],
            d_model: conv1[0],
            encoder_attention_heads: heads("encoder")?,
            encoder_layers: layers(&file, "encoder"),
            vocab_size: embeddings[0],
            max_target_positions: shape("decoder/position_encodings/encodings")?[0],
            decoder_attention_heads: heads("decoder")?,
            decoder_layers: layers(&file, "decoder"),
            suppress_tokens: Vec::new(),
        };
        let mut tensors: HashMap<String, Tensor> = HashMap::new();
        let names: Vec<String> = file.names().map(str::to_owned).collect();
        for name in names {
            let targets = candle_names(&name);
            if targets.is_empty() {
                continue;
            }
            let tensor = file.tensor(&name).map_err(|error| load_error(dir, error))?;
            for (target, part, parts) in targets {
                let piece = if parts == 1 {
                    tensor.clone()
                } else {
                    let size = tensor.dim(0).map_err(|error| load_error(dir, error))? / parts;
                    tensor
                        .narrow(0, part * size, size)
                        .and_then(|t| t.contiguous())
                        .map_err(|error| load_error(dir, error))?
                };
                tensors.insert(target, piece);
            }
        }
        let builder = VarBuilder::from_tensors(tensors, spec::DTYPE, &Device::Cpu);
        let model = Whisper::load(&builder, whisper_config.clone()).map_err(|error| load_error(dir, error))?;
        // Whisper's rule: English-only models have 51,864 tokens, multilingual ones more.
        let multilingual = whisper_config.vocab_size >= 51_865;
        let languages = config
            .lang_ids
            .iter()
            .filter_map(|id| {
                let token = vocabulary.get(*id as usize)?;
                Some((*id, token.trim_start_matches("<|").trim_end_matches("|>").to_owned()))
            })
            .filter(|_| multilingual)
            .collect();
        let name = dir.file_name().map_or_else(|| "whisper".to_owned(), |n| n.to_string_lossy().into_owned());
        Ok(Self {
            name,
            model,
            tokenizer,
            specials,
            suppress: config.suppress_ids,
            suppress_begin: config.suppress_ids_begin,
            languages,
            filters: mel::filters(whisper_config.num_mel_bins),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the model transcribes several languages (else English only).
    pub fn multilingual(&self) -> bool {
        !self.languages.is_empty()
    }

    /// The log-mel input of one window (padded to 30 s).
    fn mel(&self, samples: &[f32]) -> Result<Tensor, TranscribeError> {
        let bins = self.model.config.num_mel_bins;
        let mel = audio::pcm_to_mel(&self.model.config, samples, &self.filters);
        let frames = mel.len() / bins;
        let mel = Tensor::from_vec(mel, (1, bins, frames), &Device::Cpu).map_err(failed)?;
        mel.narrow(2, 0, spec::N_FRAMES.min(frames)).map_err(failed)
    }

    /// The most likely language of a window's audio features (multilingual models).
    fn language(&mut self, features: &Tensor) -> Result<Option<(u32, String)>, TranscribeError> {
        if self.languages.is_empty() {
            return Ok(None);
        }
        let logits = self.step(&[self.specials.sot], features, true)?;
        let best = self.languages.iter().max_by(|a, b| logits[a.0 as usize].total_cmp(&logits[b.0 as usize])).cloned();
        Ok(best)
    }

    /// The next-token logits after `tokens`.
    fn step(&mut self, tokens: &[u32], features: &Tensor, first: bool) -> Result<Vec<f32>, TranscribeError> {
        let input = Tensor::new(tokens, &Device::Cpu).and_then(|t| t.unsqueeze(0)).map_err(failed)?;
        let hidden = self.model.decoder.forward(&input, features, first).map_err(failed)?;
        let last = hidden.i((..1, tokens.len() - 1..)).map_err(failed)?;
        let logits = self.model.decoder.final_linear(&last).map_err(failed)?;
        logits.squeeze(0).and_then(|l| l.squeeze(0)).and_then(|l| l.to_vec1::<f32>()).map_err(failed)
    }

    /// Transcribes one window of at most 30 s of 16 kHz mono samples; `language` is the
    /// language found so far (None: detect, for multilingual models). Returns the window's
    /// segments and the language.
    pub fn window(
        &mut self,
        samples: &[f32],
        language: Option<&str>,
    ) -> Result<(WindowResult, String), TranscribeError> {
        let samples = &samples[..samples.len().min(WINDOW)];
        // Whisper hears words in silence ("you"): a window without sound is not decoded.
        let energy = samples.iter().map(|s| f64::from(*s) * f64::from(*s)).sum::<f64>() / samples.len().max(1) as f64;
        if energy.sqrt() < SILENCE_RMS {
            let code = if self.multilingual() { language.unwrap_or("en") } else { "en" };
            return Ok((WindowResult { segments: Vec::new(), consumed: samples.len() }, code.to_owned()));
        }
        let mel = self.mel(samples)?;
        let features = self.model.encoder.forward(&mel, true).map_err(failed)?;
        let mut prompt = vec![self.specials.sot];
        let mut code = "en".to_owned();
        if self.multilingual() {
            let found = match language {
                Some(code) => self.languages.iter().find(|(_, c)| c == code).cloned(),
                None => self.language(&features)?,
            };
            if let Some((token, found)) = found {
                prompt.push(token);
                code = found;
            }
            prompt.extend(self.specials.transcribe);
        }
        let mut tokens = prompt.clone();
        let mut sampled: Vec<u32> = Vec::new();
        let mut logprob_sum = 0.0f64;
        let mut no_speech = 0.0f64;
        for index in 0..MAX_TOKENS {
            let mut logits = self.step(&tokens, &features, index == 0)?;
            if index == 0
                && let Some(id) = self.specials.no_speech
            {
                no_speech = softmax_at(&logits, id as usize);
            }
            self.apply_rules(&mut logits, &sampled);
            let (next, logprob) = argmax_logprob(&logits);
            logprob_sum += logprob;
            if next == self.specials.eot {
                break;
            }
            sampled.push(next);
            tokens.push(next);
        }
        let average = logprob_sum / (sampled.len() + 1) as f64;
        if no_speech > NO_SPEECH_THRESHOLD && average < LOGPROB_THRESHOLD {
            return Ok((WindowResult { segments: Vec::new(), consumed: samples.len() }, code));
        }
        Ok((self.segments(&sampled, samples.len()), code))
    }

    /// Whisper's decoding rules: suppressed tokens, timestamps in pairs and never going
    /// back, a timestamp first (within 1 s), and a timestamp whenever timestamps together
    /// are likelier than any text token.
    fn apply_rules(&self, logits: &mut [f32], sampled: &[u32]) {
        let begin = self.specials.timestamp_begin as usize;
        let vocab = logits.len().min(self.specials.vocab);
        let forbid = |logits: &mut [f32], range: std::ops::Range<usize>| {
            for value in &mut logits[range] {
                *value = f32::NEG_INFINITY;
            }
        };
        for id in &self.suppress {
            if let Some(value) = logits.get_mut(*id as usize) {
                *value = f32::NEG_INFINITY;
            }
        }
        logits[self.specials.no_timestamps as usize] = f32::NEG_INFINITY;
        if sampled.is_empty() {
            for id in &self.suppress_begin {
                if let Some(value) = logits.get_mut(*id as usize) {
                    *value = f32::NEG_INFINITY;
                }
            }
            // A timestamp first, and early.
            forbid(logits, 0..begin);
            forbid(logits, (begin + MAX_INITIAL_TIMESTAMP as usize + 1).min(vocab)..vocab);
            return;
        }
        let is_time = |token: u32| token >= self.specials.timestamp_begin;
        let last = sampled.last().copied().is_some_and(is_time);
        let penultimate = sampled.len() < 2 || is_time(sampled[sampled.len() - 2]);
        if last {
            if penultimate {
                forbid(logits, begin..vocab);
            } else {
                forbid(logits, 0..self.specials.eot as usize);
            }
        }
        if let Some(previous) = sampled.iter().rev().copied().find(|t| is_time(*t)) {
            let floor = if last && !penultimate { previous } else { previous + 1 };
            forbid(logits, begin..(floor as usize).min(vocab));
        }
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let log_total = max + logits.iter().map(|v| (v - max).exp()).sum::<f32>().ln();
        let time_mass = {
            let slice = &logits[begin..vocab];
            let top = slice.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            top + slice.iter().map(|v| (v - top).exp()).sum::<f32>().ln() - log_total
        };
        let best_text = logits[..begin].iter().copied().fold(f32::NEG_INFINITY, f32::max) - log_total;
        if time_mass > best_text {
            forbid(logits, 0..begin);
        }
    }

    /// Segments from a window's tokens; a segment left open at the end is dropped and the
    /// window consumed up to its start.
    fn segments(&self, sampled: &[u32], window_samples: usize) -> WindowResult {
        let begin = self.specials.timestamp_begin;
        let time = |token: u32| f64::from(token - begin) * TIME_STEP;
        let mut segments = Vec::new();
        let mut start: Option<f64> = None;
        let mut text: Vec<u32> = Vec::new();
        let mut last_closed = None;
        for &token in sampled {
            if token >= begin {
                match start {
                    Some(from) if !text.is_empty() => {
                        let words = self.tokenizer.decode(&text, true).unwrap_or_default().trim().to_owned();
                        if !words.is_empty() {
                            segments.push(Segment { start: from, end: time(token), text: words });
                        }
                        text.clear();
                        start = None;
                        last_closed = Some(time(token));
                    }
                    _ => start = Some(time(token)),
                }
            } else if token < self.specials.eot {
                text.push(token);
            }
        }
        let window_seconds = window_samples as f64 / SAMPLE_RATE as f64;
        let consumed = match (text.is_empty(), last_closed) {
            // Cut off mid-segment: read it again from its start with the next window.
            (false, Some(end)) if end > 1.0 => ((end * SAMPLE_RATE as f64) as usize).min(window_samples),
            (false, _) => {
                let words = self.tokenizer.decode(&text, true).unwrap_or_default().trim().to_owned();
                if !words.is_empty() {
                    segments.push(Segment { start: start.unwrap_or(0.0), end: window_seconds, text: words });
                }
                window_samples
            }
            (true, _) => window_samples,
        };
        WindowResult { segments, consumed }
    }
}

fn softmax_at(logits: &[f32], index: usize) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let total: f64 = logits.iter().map(|v| f64::from((v - max).exp())).sum();
    logits.get(index).map_or(0.0, |v| f64::from((v - max).exp()) / total)
}

/// The best token and its log-probability.
fn argmax_logprob(logits: &[f32]) -> (u32, f64) {
    let (index, best) =
        logits.iter().copied().enumerate().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or((0, f32::NEG_INFINITY));
    let total: f64 = logits.iter().map(|v| f64::from((v - best).exp())).sum();
    (index as u32, -total.ln())
}

/// A recording read piece by piece (`read(count)` gives up to `count` more 16 kHz mono
/// samples, empty at the end), transcribed window by window: at most one window and the
/// part of the previous one left to read again are held. `progress` gets the seconds done.
pub fn transcribe_stream<E>(
    model: &mut LocalWhisper,
    mut read: impl FnMut(usize) -> Result<Vec<f32>, E>,
    mut progress: impl FnMut(f64),
) -> Result<(Vec<Segment>, String), TranscribeError>
where
    TranscribeError: From<E>,
{
    let mut buffer: Vec<f32> = Vec::with_capacity(WINDOW);
    let mut offset = 0usize;
    let mut ended = false;
    let mut segments = Vec::new();
    let mut language: Option<String> = None;
    loop {
        if !ended && buffer.len() < WINDOW {
            let more = read(WINDOW - buffer.len())?;
            ended = more.is_empty();
            buffer.extend(more);
            if !ended {
                continue;
            }
        }
        if buffer.is_empty() {
            break;
        }
        let (result, code) = model.window(&buffer, language.as_deref())?;
        language.get_or_insert(code);
        let shift = offset as f64 / SAMPLE_RATE as f64;
        segments.extend(result.segments.into_iter().map(|s| Segment {
            start: s.start + shift,
            end: s.end + shift,
            ..s
        }));
        // At the end, whatever is left was read; otherwise at least a second moves on.
        let step =
            if ended && result.consumed >= buffer.len() { buffer.len() } else { result.consumed.max(SAMPLE_RATE) };
        let step = step.min(buffer.len());
        buffer.drain(..step);
        offset += step;
        progress(offset as f64 / SAMPLE_RATE as f64);
    }
    Ok((segments, language.unwrap_or_else(|| "en".into())))
}

/// A whole recording (16 kHz mono) in memory, window by window; `progress` gets the
/// seconds done.
pub fn transcribe(
    model: &mut LocalWhisper,
    samples: &[f32],
    progress: impl FnMut(f64),
) -> Result<(Vec<Segment>, String), TranscribeError> {
    let mut rest = samples;
    transcribe_stream(
        model,
        |count| {
            let (piece, after) = rest.split_at(count.min(rest.len()));
            rest = after;
            Ok::<_, TranscribeError>(piece.to_vec())
        },
        progress,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_projections_are_split_into_candles_names() {
        let names = candle_names("encoder/layer_3/self_attention/linear_0/weight");
        assert_eq!(
            names,
            [
                ("model.encoder.layers.3.self_attn.q_proj.weight".to_owned(), 0, 3),
                ("model.encoder.layers.3.self_attn.k_proj.weight".to_owned(), 1, 3),
                ("model.encoder.layers.3.self_attn.v_proj.weight".to_owned(), 2, 3),
            ]
        );
        // The key projection has no bias.
        let biases = candle_names("decoder/layer_0/attention/linear_1/bias");
        assert_eq!(biases, [("model.decoder.layers.0.encoder_attn.v_proj.bias".to_owned(), 1, 2)]);
        assert_eq!(candle_names("decoder/layer_norm/gamma")[0].0, "model.decoder.layer_norm.weight");
        assert!(candle_names("encoder/position_encodings/encodings").is_empty());
    }
}
