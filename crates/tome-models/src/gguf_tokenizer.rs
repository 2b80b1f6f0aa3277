//! The tokenizer a GGUF file describes in its metadata (`tokenizer.ggml.*`), as a
//! `tokenizers::Tokenizer`: byte-level BPE from the token list and merges, the
//! pre-tokenizer named by `tokenizer.ggml.pre`, and the control tokens (ChatML markers and
//! the like) registered as special so that the chat template's markers encode as one id.
//!
//! Written here because neither crate does it right: candle's `TokenizerFromGguf` does not
//! know the `smollm` pre-tokenizer and adds a prefix space, which gives wrong ids.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::Value;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, PreTokenizerWrapper, SplitDelimiterBehavior, Tokenizer};

/// The Llama 3 (`llama-bpe`) split pattern.
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The Qwen2 split pattern: as Llama 3's, but every digit on its own.
const QWEN2_PATTERN: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// GGUF token type of control tokens.
const CONTROL: i32 = 3;

/// Builds the tokenizer of a GGUF file's metadata.
pub fn from_metadata(metadata: &HashMap<String, Value>) -> Result<Tokenizer, String> {
    let get = |key: &str| metadata.get(key).ok_or_else(|| format!("the file has no {key}"));
    let model = get("tokenizer.ggml.model")?.to_string().map_err(|e| e.to_string())?;
    if model != "gpt2" {
        return Err(format!("tokenizer {model:?} is not supported (byte-level BPE, \"gpt2\", only)"));
    }
    let tokens: Vec<String> = get("tokenizer.ggml.tokens")?
        .to_vec()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|token| token.to_string().cloned().map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let merges: Vec<(String, String)> = get("tokenizer.ggml.merges")?
        .to_vec()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|merge| {
            let merge = merge.to_string().map_err(|e| e.to_string())?;
            merge
                .split_once(' ')
                .map(|(left, right)| (left.to_owned(), right.to_owned()))
                .ok_or_else(|| format!("merge {merge:?} is not two tokens"))
        })
        .collect::<Result<_, String>>()?;
    let types: Vec<i32> = match metadata.get("tokenizer.ggml.token_type") {
        Some(value) => value.to_vec().map_err(|e| e.to_string())?.iter().map(|t| t.to_i32().unwrap_or(1)).collect(),
        None => Vec::new(),
    };
    let vocab: tokenizers::models::bpe::Vocab =
        tokens.iter().enumerate().map(|(id, token)| (token.clone(), id as u32)).collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|error| format!("the BPE model does not build: {error}"))?;
    let mut tokenizer = Tokenizer::new(bpe);
    let pre = metadata.get("tokenizer.ggml.pre").and_then(|value| value.to_string().ok()).map(String::as_str);
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer(pre.unwrap_or("default"))?));
    tokenizer.with_decoder(Some(ByteLevel::default()));
    let special: Vec<AddedToken> = tokens
        .iter()
        .zip(types.iter().chain(std::iter::repeat(&1)))
        .filter(|(token, kind)| **kind == CONTROL || (token.starts_with("<|") && token.ends_with("|>")))
        .map(|(token, _)| AddedToken::from(token.clone(), true))
        .collect();
    tokenizer.add_special_tokens(special).map_err(|error| error.to_string())?;
    Ok(tokenizer)
}

/// The pre-tokenizer llama.cpp applies for `name`.
fn pre_tokenizer(name: &str) -> Result<PreTokenizerWrapper, String> {
    let byte_level = |use_regex| PreTokenizerWrapper::from(ByteLevel::new(false, true, use_regex));
    Ok(match name {
        // GPT-2 splitting, with every digit on its own.
        "smollm" | "starcoder" | "refact" => Sequence::new(vec![Digits::new(true).into(), byte_level(true)]).into(),
        "llama-bpe" | "llama3" | "smaug-bpe" | "qwen2" => {
            let pattern = if name == "qwen2" { QWEN2_PATTERN } else { LLAMA3_PATTERN };
            let split = Split::new(SplitPattern::Regex(pattern.into()), SplitDelimiterBehavior::Isolated, false)
                .map_err(|error| error.to_string())?;
            Sequence::new(vec![split.into(), byte_level(false)]).into()
        }
        "default" | "gpt2" | "gpt-2" => byte_level(true),
        other => return Err(format!("pre-tokenizer {other:?} is not supported (smollm, llama-bpe, qwen2, gpt2)")),
    })
}
