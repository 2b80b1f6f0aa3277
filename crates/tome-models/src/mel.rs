//! Whisper's mel filter bank, computed rather than shipped: `librosa.filters.mel(sr=16000,
//! n_fft=400, n_mels)` — Slaney mel scale and area normalisation — as one row of
//! `N_FFT / 2 + 1` weights per mel band, the layout candle's `pcm_to_mel` reads.

const SAMPLE_RATE: f64 = 16_000.0;
const N_FFT: usize = 400;

/// Hz to mel on the Slaney scale: linear below 1 kHz, logarithmic above.
fn hz_to_mel(hz: f64) -> f64 {
    let (f_sp, min_log_hz) = (200.0 / 3.0, 1000.0);
    let min_log_mel = min_log_hz / f_sp;
    let log_step = 6.4f64.ln() / 27.0;
    if hz >= min_log_hz { min_log_mel + (hz / min_log_hz).ln() / log_step } else { hz / f_sp }
}

fn mel_to_hz(mel: f64) -> f64 {
    let (f_sp, min_log_hz) = (200.0 / 3.0, 1000.0);
    let min_log_mel = min_log_hz / f_sp;
    let log_step = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel { min_log_hz * (log_step * (mel - min_log_mel)).exp() } else { f_sp * mel }
}

/// The filter bank: `n_mels` rows of `N_FFT / 2 + 1` weights.
pub fn filters(n_mels: usize) -> Vec<f32> {
    let bins = N_FFT / 2 + 1;
    let fft_hz: Vec<f64> = (0..bins).map(|i| i as f64 * SAMPLE_RATE / N_FFT as f64).collect();
    let (low, high) = (hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2.0));
    let points: Vec<f64> =
        (0..n_mels + 2).map(|i| mel_to_hz(low + (high - low) * i as f64 / (n_mels + 1) as f64)).collect();
    let mut weights = vec![0f32; n_mels * bins];
    for band in 0..n_mels {
        let (left, centre, right) = (points[band], points[band + 1], points[band + 2]);
        let norm = 2.0 / (right - left);
        for (bin, hz) in fft_hz.iter().enumerate() {
            let rising = (hz - left) / (centre - left);
            let falling = (right - hz) / (right - centre);
            weights[band * bins + bin] = (rising.min(falling).max(0.0) * norm) as f32;
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_bank_matches_librosa() {
        let bank = filters(80);
        assert_eq!(bank.len(), 80 * 201);
        // Whisper's own assets/mel_filters.npz (librosa.filters.mel(sr=16000, n_fft=400,
        // n_mels=80)): row 0 peaks at bin 1 with 0.02486259; row 40 covers bins 42–44 and
        // peaks at 0.014735566; row 79 is non-zero from bin 186; the largest is 0.025880683.
        assert!((bank[1] - 0.024_862_59).abs() < 1e-6, "{}", bank[1]);
        assert_eq!(bank[0], 0.0);
        let last = &bank[79 * 201..];
        assert_eq!(last.iter().position(|w| *w > 0.0), Some(186));
        let row: Vec<usize> = (0..201).filter(|bin| bank[40 * 201 + bin] > 0.0).collect();
        assert_eq!(row, [42, 43, 44]);
        let peak = |values: &[f32]| values.iter().copied().fold(0f32, f32::max);
        assert!((peak(&bank[40 * 201..41 * 201]) - 0.014_735_566).abs() < 1e-6);
        assert!((peak(&bank) - 0.025_880_683).abs() < 1e-6);
    }
}
