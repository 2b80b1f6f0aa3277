//! Embedding throughput of the in-process MiniLM against the machine's own matrix-multiply
//! throughput (measured with candle's matmul over every core, in this process):
//!
//!   cargo run --release -p tome-models --example embed_bench -- MODEL_DIR CORPUS.jsonl [DOCS [GROUP]]
//!
//! CORPUS is BEIR-style JSON lines (`title`, `text`); the first DOCS documents (default 1000)
//! are embedded as title + text, cut at the model's 256 tokens as in the pipeline. Prints
//! tokens/s, the model's floating-point work per token, the GFLOP/s that makes, and the
//! fraction of the measured f32 matmul GFLOP/s it reaches.

use std::io::BufRead;
use std::time::Instant;

use candle_core::{Device, Tensor};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tome_models::embed::Embedder;
use tome_models::minilm::{MAX_TOKENS, MiniLm};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(model_dir), Some(corpus)) = (args.next(), args.next()) else {
        return Err("usage: embed_bench MODEL_DIR CORPUS.jsonl [DOCS [GROUP]]".into());
    };
    let docs: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(1000);
    // Texts per call (default: all at once, batched inside); 2–3 is what one short document
    // of the pipeline hands over.
    let group: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(usize::MAX).max(1);
    let texts = read_corpus(&corpus, docs)?;

    let matmul = matmul_gflops()?;
    println!("matmul (candle, f32): {matmul:.1} GFLOP/s measured on this machine");

    let model = MiniLm::load(std::path::Path::new(&model_dir))?;
    let counter = model.token_counter().ok_or("no tokenizer")?;
    let tokens: usize = texts.iter().map(|t| counter.count(t).min(MAX_TOKENS)).sum();
    // Warm-up, then the measured run.
    model.embed_blocking(&texts[..texts.len().min(32)])?;
    let started = Instant::now();
    let mut vectors = Vec::with_capacity(texts.len());
    for part in texts.chunks(group.min(texts.len())) {
        vectors.extend(model.embed_blocking(part)?);
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(vectors.len(), texts.len());

    let flops_per_token = flops_per_token(tokens as f64 / texts.len() as f64);
    let achieved = tokens as f64 * flops_per_token / seconds / 1e9;
    println!("texts: {}, tokens: {tokens} (mean {:.0}/text)", texts.len(), tokens as f64 / texts.len() as f64);
    println!(
        "embedding: {:.1} s, {:.0} tokens/s, {:.1} texts/s",
        seconds,
        tokens as f64 / seconds,
        texts.len() as f64 / seconds
    );
    println!(
        "work: {:.1} MFLOP/token → {achieved:.1} GFLOP/s = {:.0}% of the measured matmul throughput",
        flops_per_token / 1e6,
        100.0 * achieved / matmul
    );
    Ok(())
}

fn read_corpus(path: &str, limit: usize) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut texts = Vec::new();
    for line in file.lines().take(limit) {
        let doc: serde_json::Value = serde_json::from_str(&line?)?;
        let title = doc["title"].as_str().unwrap_or_default();
        let text = doc["text"].as_str().unwrap_or_default();
        texts.push(format!("{title}\n\n{text}"));
    }
    Ok(texts)
}

/// all-MiniLM-L6-v2 (6 layers, hidden 384, intermediate 1536) per token at sequence length
/// `seq`: the four attention projections and the two feed-forward matrices (2 FLOPs per
/// multiply-add), plus scores and weighted sums over the sequence.
fn flops_per_token(seq: f64) -> f64 {
    let (layers, hidden, inner) = (6.0, 384.0, 1536.0);
    let dense = 2.0 * (4.0 * hidden * hidden + 2.0 * hidden * inner);
    let attention = 2.0 * 2.0 * seq * hidden;
    layers * (dense + attention)
}

/// The best of several f32 matmuls shaped like the model's feed-forward layer at a batch of
/// 32 texts of 128 tokens: (4096 × 384) · (384 × 1536).
fn matmul_gflops() -> Result<f64, Box<dyn std::error::Error>> {
    let device = Device::Cpu;
    let (m, k, n) = (4096usize, 384usize, 1536usize);
    let a = Tensor::randn(0f32, 1.0, (m, k), &device)?;
    let b = Tensor::randn(0f32, 1.0, (k, n), &device)?;
    let mut best = f64::MAX;
    for _ in 0..20 {
        let started = Instant::now();
        let c = a.matmul(&b)?;
        best = best.min(started.elapsed().as_secs_f64());
        drop(c);
    }
    Ok(2.0 * (m * k * n) as f64 / best / 1e9)
}
