//! A BERT encoder's forward pass (all-MiniLM-L6-v2 and its kin) over packed token rows, on
//! the calling thread.
//!
//! Why not candle's `BertModel`: that one pads every input of a batch to the longest, masks
//! the padding, and spreads each operation over all cores, joining them after each (a few
//! hundred joins per pass). Here the inputs' tokens are packed back to back (no padding, no
//! mask), every dense layer is one matrix product over all of them, attention runs per
//! input and head on strided views of the packed rows, and a pass stays on one thread. The
//! caller runs one pass per core on separate inputs, so the cores never wait for each
//! other. The matrix products are `gemm`'s (candle's own kernels, `matmul.rs`); the rest is
//! plain loops the compiler vectorizes.

use std::collections::HashMap;

use candle_core::Tensor;
use serde::Deserialize;

use crate::matmul::{View, ViewMut, product};

/// The parts of a Hugging Face `config.json` the encoder needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_types")]
    pub type_vocab_size: usize,
}

fn default_eps() -> f64 {
    1e-12
}

fn default_act() -> String {
    "gelu".into()
}

fn default_types() -> usize {
    2
}

/// A dense layer, its weight stored transposed (`inputs × outputs`, row-major).
struct Linear {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Linear {
    fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// `out = input · W + b` for every row of `input`.
    fn apply(&self, input: &[f32], inputs: usize, out: &mut [f32]) {
        let outputs = self.outputs();
        for row in out.chunks_exact_mut(outputs) {
            row.copy_from_slice(&self.bias);
        }
        product(ViewMut::rows(out, outputs), View::rows(input, inputs), View::rows(&self.weight, outputs), 1.0, true);
    }
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl Norm {
    /// Layer normalization of every row, in place.
    fn apply(&self, rows: &mut [f32]) {
        let width = self.gamma.len();
        for row in rows.chunks_exact_mut(width) {
            let mean = sum(row) / width as f32;
            for value in row.iter_mut() {
                *value -= mean;
            }
            let variance = sum_of_squares(row) / width as f32;
            let scale = 1.0 / (variance + self.eps).sqrt();
            for ((value, gamma), beta) in row.iter_mut().zip(&self.gamma).zip(&self.beta) {
                *value = *value * scale * gamma + beta;
            }
        }
    }
}

struct Layer {
    /// Query, key and value in one product: outputs `[q | k | v]`.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    output_norm: Norm,
}

/// The loaded encoder.
pub struct Encoder {
    word: Vec<f32>,
    position: Vec<f32>,
    /// Token type 0's embedding: sentence embedders give every token type 0.
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    /// The CPU's vector instructions, detected once; the loops outside the matrix products
    /// are compiled for them (`SoftmaxRows`, `Gelu`).
    arch: pulp::Arch,
}

/// Scratch space of one pass, reused from layer to layer.
struct Scratch {
    qkv: Vec<f32>,
    context: Vec<f32>,
    sum: Vec<f32>,
    inner: Vec<f32>,
    scores: Vec<f32>,
}

impl Encoder {
    /// Builds the encoder from a `model.safetensors`' tensors (with or without a `bert.`
    /// prefix on their names).
    pub fn load(config: &Config, tensors: HashMap<String, Tensor>) -> Result<Self, String> {
        if config.hidden_act != "gelu" {
            return Err(format!("hidden_act {:?} is not supported (only \"gelu\")", config.hidden_act));
        }
        let hidden = config.hidden_size;
        let heads = config.num_attention_heads;
        if heads == 0 || !hidden.is_multiple_of(heads) {
            return Err(format!("hidden_size {hidden} is not a multiple of num_attention_heads {heads}"));
        }
        let eps = config.layer_norm_eps as f32;
        let mut weights = Weights(tensors);
        let word = weights.take("embeddings.word_embeddings.weight", &[config.vocab_size, hidden])?;
        let position =
            weights.take("embeddings.position_embeddings.weight", &[config.max_position_embeddings, hidden])?;
        let mut token_type =
            weights.take("embeddings.token_type_embeddings.weight", &[config.type_vocab_size, hidden])?;
        token_type.truncate(hidden);
        let embedding_norm = weights.norm("embeddings", hidden, eps)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for index in 0..config.num_hidden_layers {
            let prefix = format!("encoder.layer.{index}");
            let inner = config.intermediate_size;
            let query = weights.linear(&format!("{prefix}.attention.self.query"), hidden, hidden)?;
            let key = weights.linear(&format!("{prefix}.attention.self.key"), hidden, hidden)?;
            let value = weights.linear(&format!("{prefix}.attention.self.value"), hidden, hidden)?;
            let qkv = Linear {
                weight: (0..hidden)
                    .flat_map(|row| [&query, &key, &value].map(|part| &part.weight[row * hidden..(row + 1) * hidden]))
                    .flatten()
                    .copied()
                    .collect(),
                bias: [query.bias, key.bias, value.bias].concat(),
            };
            layers.push(Layer {
                qkv,
                attention_out: weights.linear(&format!("{prefix}.attention.output.dense"), hidden, hidden)?,
                attention_norm: weights.norm(&format!("{prefix}.attention.output"), hidden, eps)?,
                up: weights.linear(&format!("{prefix}.intermediate.dense"), inner, hidden)?,
                down: weights.linear(&format!("{prefix}.output.dense"), hidden, inner)?,
                output_norm: weights.norm(&format!("{prefix}.output"), hidden, eps)?,
            });
        }
        Ok(Self { word, position, token_type, embedding_norm, layers, hidden, heads, arch: pulp::Arch::new() })
    }

    /// The width of the vectors `mean_pooled` returns.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// The longest input the position embeddings allow.
    pub fn max_positions(&self) -> usize {
        self.position.len() / self.hidden
    }

    /// The mean of each input's final token vectors (special tokens included, as the
    /// sentence-transformers pooling does), one row per input. Each input is its token ids,
    /// at most `max_positions` long; ids outside the vocabulary are an error.
    pub fn mean_pooled(&self, inputs: &[&[u32]]) -> Result<Vec<Vec<f32>>, String> {
        let hidden = self.hidden;
        let total: usize = inputs.iter().map(|ids| ids.len()).sum();
        let longest = inputs.iter().map(|ids| ids.len()).max().unwrap_or(0);
        let positions = self.max_positions();
        if longest > positions {
            return Err(format!("an input of {longest} tokens is longer than the model's {positions}"));
        }
        let vocab = self.word.len() / hidden;
        let mut states = vec![0.0f32; total * hidden];
        let mut rows = states.chunks_exact_mut(hidden);
        for ids in inputs {
            for (position, &id) in ids.iter().enumerate() {
                let id = id as usize;
                if id >= vocab {
                    return Err(format!("token id {id} is outside the vocabulary of {vocab}"));
                }
                let word = &self.word[id * hidden..(id + 1) * hidden];
                let place = &self.position[position * hidden..(position + 1) * hidden];
                if let Some(row) = rows.next() {
                    for (((out, w), p), t) in row.iter_mut().zip(word).zip(place).zip(&self.token_type) {
                        *out = w + p + t;
                    }
                }
            }
        }
        self.embedding_norm.apply(&mut states);
        let inner = self.layers.first().map(|layer| layer.up.outputs()).unwrap_or(0);
        let mut scratch = Scratch {
            qkv: vec![0.0; total * 3 * hidden],
            context: vec![0.0; total * hidden],
            sum: vec![0.0; total * hidden],
            inner: vec![0.0; total * inner],
            scores: vec![0.0; longest * longest],
        };
        let lengths: Vec<usize> = inputs.iter().map(|ids| ids.len()).collect();
        for layer in &self.layers {
            self.layer(layer, &lengths, &mut states, &mut scratch);
        }
        let mut pooled = Vec::with_capacity(inputs.len());
        let mut start = 0;
        for &length in &lengths {
            let mut mean = vec![0.0f32; hidden];
            for row in states[start * hidden..(start + length) * hidden].chunks_exact(hidden) {
                for (m, v) in mean.iter_mut().zip(row) {
                    *m += v;
                }
            }
            let count = length.max(1) as f32;
            for m in &mut mean {
                *m /= count;
            }
            pooled.push(mean);
            start += length;
        }
        Ok(pooled)
    }

    /// One encoder layer over the packed rows `states`, in place.
    fn layer(&self, layer: &Layer, lengths: &[usize], states: &mut [f32], scratch: &mut Scratch) {
        let hidden = self.hidden;
        let width = 3 * hidden;
        let head = hidden / self.heads;
        let scale = 1.0 / (head as f32).sqrt();
        layer.qkv.apply(states, hidden, &mut scratch.qkv);
        // Attention within each input: its queries see only its own keys, so packing the
        // inputs needs no mask.
        let mut start = 0;
        for &length in lengths.iter().filter(|&&length| length > 0) {
            let qkv = &scratch.qkv[start * width..(start + length) * width];
            let context = &mut scratch.context[start * hidden..(start + length) * hidden];
            let scores = &mut scratch.scores[..length * length];
            for h in 0..self.heads {
                let query = View::new(&qkv[h * head..], length, head, width, 1);
                // Keys read column-wise: the transpose without copying.
                let keys = View::new(&qkv[hidden + h * head..], head, length, 1, width);
                let values = View::new(&qkv[2 * hidden + h * head..], length, head, width, 1);
                product(ViewMut::rows(scores, length), query, keys, scale, false);
                self.arch.dispatch(SoftmaxRows { scores, width: length });
                let out = ViewMut::new(&mut context[h * head..], length, head, hidden, 1);
                product(out, View::rows(scores, length), values, 1.0, false);
            }
            start += length;
        }
        layer.attention_out.apply(&scratch.context, hidden, &mut scratch.sum);
        for (s, x) in scratch.sum.iter_mut().zip(states.iter()) {
            *s += x;
        }
        layer.attention_norm.apply(&mut scratch.sum);
        layer.up.apply(&scratch.sum, hidden, &mut scratch.inner);
        self.arch.dispatch(Gelu(&mut scratch.inner));
        layer.down.apply(&scratch.inner, layer.up.outputs(), states);
        for (x, s) in states.iter_mut().zip(&scratch.sum) {
            *x += s;
        }
        layer.output_norm.apply(states);
    }
}

/// A safetensors file's tensors, taken out by name as the encoder is built.
struct Weights(HashMap<String, Tensor>);

impl Weights {
    /// The tensor `name` (or `bert.name`) as `f32`s, if it has `shape`.
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let tensor = self
            .0
            .remove(name)
            .or_else(|| self.0.remove(&format!("bert.{name}")))
            .ok_or_else(|| format!("the weights have no tensor {name}"))?;
        if tensor.dims() != shape {
            return Err(format!("tensor {name} has shape {:?}, expected {shape:?}", tensor.dims()));
        }
        tensor
            .to_dtype(candle_core::DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| format!("tensor {name}: {e}"))
    }

    /// A dense layer stored as PyTorch does (`outputs × inputs`), transposed for `Linear`.
    fn linear(&mut self, prefix: &str, outputs: usize, inputs: usize) -> Result<Linear, String> {
        let weight = self.take(&format!("{prefix}.weight"), &[outputs, inputs])?;
        let bias = self.take(&format!("{prefix}.bias"), &[outputs])?;
        Ok(Linear { weight: transpose(&weight, outputs, inputs), bias })
    }

    fn norm(&mut self, prefix: &str, width: usize, eps: f32) -> Result<Norm, String> {
        Ok(Norm {
            gamma: self.take(&format!("{prefix}.LayerNorm.weight"), &[width])?,
            beta: self.take(&format!("{prefix}.LayerNorm.bias"), &[width])?,
            eps,
        })
    }
}

/// Softmax of each `width`-long row of `scores`, compiled (by `pulp::Arch::dispatch`) for
/// the widest vector instructions the CPU has: the build targets baseline x86-64, whose
/// 4-lane vectors would leave these loops a third of a pass's time.
struct SoftmaxRows<'a> {
    scores: &'a mut [f32],
    width: usize,
}

impl pulp::WithSimd for SoftmaxRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        for row in self.scores.chunks_exact_mut(self.width) {
            softmax(row);
        }
    }
}

/// GELU over every value, compiled as `SoftmaxRows` is.
struct Gelu<'a>(&'a mut [f32]);

impl pulp::WithSimd for Gelu<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        for value in self.0.iter_mut() {
            *value = gelu(*value);
        }
    }
}

/// `rows × cols` row-major → `cols × rows` row-major.
fn transpose(matrix: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; matrix.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = matrix[r * cols + c];
        }
    }
    out
}

/// Sums in eight lanes, so that the compiler vectorizes the loop (one running sum would
/// fix the order of the additions and keep it scalar).
#[inline(always)]
fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

#[inline(always)]
fn sum_of_squares(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().map(|v| v * v).sum();
    for chunk in chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *lane += v * v;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

#[inline(always)]
fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for value in row.iter_mut() {
        *value = exp(*value - max);
    }
    let scale = 1.0 / sum(row);
    for value in row.iter_mut() {
        *value *= scale;
    }
}

/// `e^x` to about 2 ulp, branch-free so that loops over it vectorize: `x = n·ln2 + r` with
/// `|r| ≤ ln2/2`, a degree-6 polynomial for `e^r`, and `2^n` put in the exponent bits.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 in two parts, so that n·ln2 subtracts exactly.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 · 2^23: adding and subtracting it rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * scale
}

/// GELU with the error function (BERT's `gelu`): `x/2 · (1 + erf(x/√2))`. erf by
/// Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7), branch-free.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    let z = x * std::f32::consts::FRAC_1_SQRT_2;
    let a = z.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152 + t * 1.061_405_4))));
    let erf_abs = 1.0 - poly * exp(-a * a);
    let erf = erf_abs.copysign(z);
    0.5 * x * (1.0 + erf)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// A two-layer encoder of width 8 with pseudo-random weights; `skip` leaves one tensor out.
    fn tiny(skip: Option<&str>) -> Result<Encoder, String> {
        let config = Config {
            vocab_size: 10,
            hidden_size: 8,
            num_hidden_layers: 2,
            num_attention_heads: 2,
            intermediate_size: 16,
            max_position_embeddings: 16,
            layer_norm_eps: 1e-12,
            hidden_act: "gelu".into(),
            type_vocab_size: 2,
        };
        let mut shapes: Vec<(String, Vec<usize>)> = vec![
            ("embeddings.word_embeddings.weight".into(), vec![10, 8]),
            ("embeddings.position_embeddings.weight".into(), vec![16, 8]),
            ("embeddings.token_type_embeddings.weight".into(), vec![2, 8]),
            ("embeddings.LayerNorm.weight".into(), vec![8]),
            ("embeddings.LayerNorm.bias".into(), vec![8]),
        ];
        for layer in 0..2 {
            let dense = [
                ("attention.self.query", 8, 8),
                ("attention.self.key", 8, 8),
                ("attention.self.value", 8, 8),
                ("attention.output.dense", 8, 8),
                ("intermediate.dense", 16, 8),
                ("output.dense", 8, 16),
            ];
            for (name, outputs, inputs) in dense {
                shapes.push((format!("encoder.layer.{layer}.{name}.weight"), vec![outputs, inputs]));
                shapes.push((format!("encoder.layer.{layer}.{name}.bias"), vec![outputs]));
            }
            for norm in ["attention.output", "output"] {
                shapes.push((format!("encoder.layer.{layer}.{norm}.LayerNorm.weight"), vec![8]));
                shapes.push((format!("encoder.layer.{layer}.{norm}.LayerNorm.bias"), vec![8]));
            }
        }
        let mut seed = 1u32;
        let tensors = shapes
            .into_iter()
            .filter(|(name, _)| Some(name.as_str()) != skip)
            .map(|(name, shape)| {
                let values: Vec<f32> = (0..shape.iter().product::<usize>())
                    .map(|_| {
                        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
                    })
                    .collect();
                (name, Tensor::from_vec(values, shape, &candle_core::Device::Cpu).unwrap())
            })
            .collect();
        Encoder::load(&config, tensors)
    }

    #[test]
    fn packed_inputs_get_the_vectors_they_get_alone_and_an_empty_one_gets_zeros() {
        let encoder = tiny(None).unwrap();
        let inputs: [&[u32]; 4] = [&[1, 2, 3], &[], &[4, 5], &[6, 7, 8, 9, 0, 1, 2]];
        let packed = encoder.mean_pooled(&inputs).unwrap();
        assert_eq!(packed.len(), 4);
        assert!(packed[1].iter().all(|&v| v == 0.0), "an input without tokens pools to zeros");
        for index in [0, 2, 3] {
            let alone = encoder.mean_pooled(&[inputs[index]]).unwrap();
            let worst = alone[0].iter().zip(&packed[index]).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "input {index}: packed differs from alone by {worst}");
            assert!(packed[index].iter().any(|&v| v != 0.0));
        }
        // Different inputs get different vectors (attention does not leak between them, and
        // a bug that pooled every input alike would fail here).
        assert!(packed[0].iter().zip(&packed[2]).any(|(a, b)| (a - b).abs() > 1e-3));
    }

    #[test]
    fn bad_ids_lengths_and_weights_are_errors_not_panics() {
        let encoder = tiny(None).unwrap();
        let error = encoder.mean_pooled(&[&[1, 10]]).unwrap_err();
        assert!(error.contains("outside the vocabulary"), "{error}");
        let error = encoder.mean_pooled(&[&[1; 17]]).unwrap_err();
        assert!(error.contains("longer than the model's 16"), "{error}");
        let error = tiny(Some("encoder.layer.1.output.dense.bias")).err().unwrap();
        assert!(error.contains("encoder.layer.1.output.dense.bias"), "{error}");
    }

    #[test]
    fn exp_is_close_to_the_standard_library_over_the_range_softmax_uses() {
        let mut worst = 0.0f32;
        for i in 0..=20_000 {
            let x = -80.0 + i as f32 * 0.0045;
            let relative = ((exp(x) - x.exp()) / x.exp()).abs();
            worst = worst.max(relative);
        }
        assert!(worst < 1e-6, "worst relative error {worst}");
        assert!((0.0..1e-37).contains(&exp(-1000.0)));
    }

    #[test]
    fn gelu_matches_its_definition() {
        // erf from its Taylor series in f64, which converges fast for |z| ≤ 3.
        fn erf(z: f64) -> f64 {
            let mut term = z;
            let mut total = z;
            for n in 1..200 {
                term *= -z * z / n as f64;
                total += term / (2 * n + 1) as f64;
            }
            2.0 / std::f64::consts::PI.sqrt() * total
        }
        for i in 0..=400 {
            let x = -4.0 + i as f64 * 0.02;
            let expected = 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2));
            let got = gelu(x as f32) as f64;
            assert!((got - expected).abs() < 1e-6, "gelu({x}) = {got}, expected {expected}");
        }
    }

    #[test]
    fn softmax_rows_sum_to_one_and_keep_their_order() {
        let mut row = vec![1.0, 3.0, -2.0, 0.5, 3.0, 10.0, -50.0, 2.0, 2.5];
        softmax(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(row[5] > row[1] && row[1] == row[4] && row[1] > row[8] && row[6] < row[2]);
    }

    #[test]
    fn layer_norm_centres_and_scales_each_row() {
        let norm = Norm { gamma: vec![2.0; 10], beta: vec![1.0; 10], eps: 1e-12 };
        let mut rows: Vec<f32> = (0..20).map(|i| (i * i) as f32).collect();
        norm.apply(&mut rows);
        for row in rows.chunks_exact(10) {
            let mean = row.iter().sum::<f32>() / 10.0;
            let variance = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 10.0;
            assert!((mean - 1.0).abs() < 1e-5, "mean {mean}");
            assert!((variance - 4.0).abs() < 1e-3, "variance {variance}");
        }
    }
}
