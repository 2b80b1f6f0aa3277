//! Recordings as 16 kHz mono samples, read a piece at a time so that a long file never sits
//! in memory whole: symphonia demuxes and decodes (WAV, MP3, FLAC, Ogg/Vorbis, MP4/AAC) —
//! Ogg Opus, which symphonia demuxes but cannot decode, is decoded by the pure-Rust
//! `opus-decoder` straight to 16 kHz —, channels are averaged, and rubato's FFT resampler
//! brings other rates to 16 kHz.

use std::path::Path;

use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Resampler};
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// The rate Whisper reads.
pub const RATE: usize = 16_000;
/// Frames the resampler takes at a time.
const RESAMPLE_CHUNK: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("the file cannot be read: {0}")]
    Io(String),
    #[error("this is not an audio format Tome reads (WAV, MP3, FLAC, Ogg Vorbis or Opus, M4A/AAC): {0}")]
    Unsupported(String),
    #[error("the audio is damaged and cannot be decoded: {0}")]
    Corrupt(String),
}

/// A recording being read as 16 kHz mono.
pub struct AudioReader {
    format: Box<dyn FormatReader>,
    decoder: Decoder,
    track: u32,
    rate: usize,
    /// The recording's length in seconds, when the container says.
    pub duration: Option<f64>,
    resampler: Option<Stream>,
    ready: Vec<f32>,
    interleaved: Vec<f32>,
    finished: bool,
}

/// What turns packets into samples.
enum Decoder {
    Symphonia(Box<dyn AudioDecoder>),
    /// Opus decoded at 16 kHz: the encoder's pre-skip (at 16 kHz) still to drop.
    Opus {
        decoder: Box<opus_decoder::OpusDecoder>,
        channels: usize,
        skip: usize,
        pcm: Vec<i16>,
    },
}

/// The resampler and the source samples it has not taken yet.
struct Stream {
    fft: Fft<f32>,
    pending: Vec<f32>,
    output: Vec<f32>,
    /// Output frames still to drop: the resampler's delay.
    skip: usize,
    /// Source frames received, and output frames given out.
    received: usize,
    given: usize,
    rate: usize,
}

fn resample_error(error: impl std::fmt::Display) -> AudioError {
    AudioError::Corrupt(format!("resampling failed: {error}"))
}

impl Stream {
    fn new(rate: usize) -> Result<Self, AudioError> {
        let fft = Fft::<f32>::new(rate, RATE, RESAMPLE_CHUNK, 1, FixedSync::Input)
            .map_err(|error| AudioError::Unsupported(format!("sample rate {rate}: {error}")))?;
        let output = vec![0.0; fft.output_frames_max()];
        let skip = fft.output_delay();
        Ok(Self { fft, pending: Vec::new(), output, skip, received: 0, given: 0, rate })
    }

    fn push(&mut self, samples: impl Iterator<Item = f32>, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let before = self.pending.len();
        self.pending.extend(samples);
        self.received += self.pending.len() - before;
        while self.pending.len() >= self.fft.input_frames_next() {
            self.chunk(out)?;
        }
        Ok(())
    }

    /// The source's length at 16 kHz: no more is given out.
    fn expected(&self) -> usize {
        (self.received as u128 * RATE as u128 / self.rate as u128) as usize
    }

    /// Resamples one chunk of pending samples (padded with silence if short).
    fn chunk(&mut self, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let need = self.fft.input_frames_next();
        let take = need.min(self.pending.len());
        let mut chunk: Vec<f32> = self.pending.drain(..take).collect();
        chunk.resize(need, 0.0);
        let input = SequentialSlice::new(&chunk, 1, need).map_err(resample_error)?;
        let frames = self.output.len();
        let mut output = SequentialSlice::new_mut(&mut self.output, 1, frames).map_err(resample_error)?;
        let (_, made) = self.fft.process_into_buffer(&input, &mut output, None).map_err(resample_error)?;
        let drop = self.skip.min(made);
        self.skip -= drop;
        let room = self.expected().saturating_sub(self.given);
        let fresh = &self.output[drop..made];
        let fresh = &fresh[..fresh.len().min(room)];
        self.given += fresh.len();
        out.extend_from_slice(fresh);
        Ok(())
    }

    /// The rest, and the resampler's delay line flushed with silence.
    fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let mut rounds = 0;
        while (self.given < self.expected() || !self.pending.is_empty()) && rounds < 16 {
            self.chunk(out)?;
            rounds += 1;
        }
        Ok(())
    }
}

impl AudioReader {
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        let file = std::fs::File::open(path).map_err(|error| AudioError::Io(error.to_string()))?;
        let stream = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(extension) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(extension);
        }
        let format = symphonia::default::get_probe()
            .probe(&hint, stream, FormatOptions::default(), MetadataOptions::default())
            .map_err(|error| AudioError::Unsupported(error.to_string()))?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| AudioError::Unsupported("the file holds no audio track".into()))?;
        let parameters = track
            .codec_params
            .as_ref()
            .and_then(|params| params.audio())
            .ok_or_else(|| AudioError::Unsupported("the audio track has no codec parameters".into()))?;
        let rate = parameters.sample_rate.map_or(0, |rate| rate as usize);
        if rate == 0 {
            return Err(AudioError::Unsupported("the audio track names no sample rate".into()));
        }
        let duration = track.num_frames.map(|frames| frames as f64 / rate as f64);
        let (decoder, rate) = if parameters.codec == CODEC_ID_OPUS {
            let channels = parameters.channels.as_ref().map_or(1, |c| c.count()).clamp(1, 2);
            let decoder = opus_decoder::OpusDecoder::new(RATE as u32, channels)
                .map_err(|error| AudioError::Unsupported(format!("Opus: {error}")))?;
            let skip = track.delay.unwrap_or(0) as usize * RATE / 48_000;
            let pcm = vec![0; opus_decoder::OpusDecoder::MAX_FRAME_SIZE_48K * channels];
            (Decoder::Opus { decoder: Box::new(decoder), channels, skip, pcm }, RATE)
        } else {
            let decoder = symphonia::default::get_codecs()
                .make_audio_decoder(parameters, &AudioDecoderOptions::default())
                .map_err(|error| AudioError::Unsupported(error.to_string()))?;
            (Decoder::Symphonia(decoder), rate)
        };
        let track = track.id;
        let resampler = if rate == RATE { None } else { Some(Stream::new(rate)?) };
        Ok(Self {
            format,
            decoder,
            track,
            rate,
            duration,
            resampler,
            ready: Vec::new(),
            interleaved: Vec::new(),
            finished: false,
        })
    }

    /// The source's sample rate.
    pub fn source_rate(&self) -> usize {
        self.rate
    }

    /// Up to `count` more 16 kHz mono samples; fewer only at the end (empty once done).
    pub fn read(&mut self, count: usize) -> Result<Vec<f32>, AudioError> {
        while self.ready.len() < count && !self.finished {
            self.decode_packet()?;
        }
        let take = count.min(self.ready.len());
        Ok(self.ready.drain(..take).collect())
    }

    fn decode_packet(&mut self) -> Result<(), AudioError> {
        let packet = match self.format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => return self.finish(),
            Err(SymphoniaError::IoError(error)) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
                return self.finish();
            }
            Err(error) => return Err(AudioError::Corrupt(error.to_string())),
        };
        if packet.track_id != self.track {
            return Ok(());
        }
        let decoder = match &mut self.decoder {
            Decoder::Symphonia(decoder) => decoder,
            Decoder::Opus { decoder, channels, skip, pcm } => {
                // A damaged packet is skipped, as players do.
                let Ok(frames) = decoder.decode(&packet.data, pcm, false) else { return Ok(()) };
                let mono = pcm[..frames * *channels]
                    .chunks_exact(*channels)
                    .map(|frame| frame.iter().map(|&s| f32::from(s)).sum::<f32>() / (32_768.0 * *channels as f32));
                let dropped = (*skip).min(frames);
                *skip -= dropped;
                self.ready.extend(mono.skip(dropped));
                return Ok(());
            }
        };
        let decoded = match decoder.decode(&packet) {
            Ok(decoded) => decoded,
            // A damaged packet is skipped, as players do.
            Err(SymphoniaError::DecodeError(_)) => return Ok(()),
            Err(error) => return Err(AudioError::Corrupt(error.to_string())),
        };
        let channels = decoded.spec().channels().count().max(1);
        self.interleaved.resize(decoded.samples_interleaved(), 0.0);
        decoded.copy_to_slice_interleaved(&mut self.interleaved);
        let mono = self.interleaved.chunks_exact(channels).map(|frame| frame.iter().sum::<f32>() / channels as f32);
        match &mut self.resampler {
            None => self.ready.extend(mono),
            Some(stream) => stream.push(mono, &mut self.ready)?,
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), AudioError> {
        self.finished = true;
        if let Some(stream) = &mut self.resampler {
            stream.finish(&mut self.ready)?;
        }
        Ok(())
    }
}
