//! The local GGUF chat model (SmolLM2-135M-Instruct, Q4_1) in-process: its tokenizer and chat
//! template come from the file, it answers short questions, and a dropped stream stops it.
//! A Qwen2-architecture file (tiny, random weights, written here) loads and generates too.

#![expect(clippy::unwrap_used, reason = "tests")]

use futures::StreamExt;
use tome_models::chat::{ChatEvent, ChatMessage, ChatModel, ChatRequest, ChatRole, complete};

fn request(question: &str, max_tokens: usize) -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage::new(ChatRole::System, "You are a helpful assistant. Answer in one short sentence."),
            ChatMessage::new(ChatRole::User, question),
        ],
        temperature: 0.0,
        max_tokens,
        question: question.to_owned(),
        passages: Vec::new(),
        tools: Vec::new(),
    }
}

#[test]
fn the_tokenizer_and_template_come_from_the_file() {
    let model = tome_testkit::smollm();
    assert_eq!(model.name(), "SmolLM2-135M-Instruct.Q4_1");
    assert_eq!(model.context_tokens(), 4096);
    let prompt = model.prompt(&request("Hello", 8).messages).unwrap();
    assert_eq!(
        prompt,
        "<|im_start|>system\nYou are a helpful assistant. Answer in one short sentence.<|im_end|>\n\
         <|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"
    );
    // The ChatML markers are one token each; digits are split one by one, with no prefix space.
    let counter = model.token_counter();
    assert_eq!(counter.count("<|im_start|>user\n<|im_end|>"), 4);
    assert_eq!(counter.count("2024"), 4);
    assert_eq!(counter.count("Hello world"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_answers_a_short_question() {
    let model = tome_testkit::smollm();
    let (text, usage) = complete(&model, request("What is the capital of France?", 24)).await.unwrap();
    assert!(text.contains("Paris"), "{text:?}");
    assert!(usage.input_tokens > 20 && (1..=24).contains(&usage.output_tokens), "{usage:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_stream_stops_the_generation_and_frees_the_model() {
    let model = tome_testkit::smollm();
    let mut stream = model.generate(request("Write a long story about a dragon.", 400)).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert!(matches!(first, ChatEvent::Delta(ref text) if !text.is_empty()), "{first:?}");
    let before = model.tokens_written();
    drop(stream);
    // The next generation gets the model once the first has stopped, well short of 400 tokens.
    let (text, usage) = complete(&model, request("Say hello.", 4)).await.unwrap();
    assert!(!text.is_empty());
    let first_wrote = model.tokens_written() - before - usage.output_tokens as u64;
    assert!(first_wrote < 50, "the abandoned generation wrote {first_wrote} more tokens");
}

#[test]
fn a_file_that_is_not_a_model_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.gguf");
    std::fs::write(&path, b"not a gguf file").unwrap();
    let error = tome_models::gguf_chat::LocalChatModel::load(&path).unwrap_err().to_string();
    assert!(error.contains("broken.gguf"), "{error}");
}

/// GPT-2's byte-level alphabet: the character standing for each byte.
fn byte_level_alphabet() -> Vec<String> {
    let mut shifted = 0u32;
    (0u32..256)
        .map(|byte| {
            let printable = (33..=126).contains(&byte) || (161..=172).contains(&byte) || (174..=255).contains(&byte);
            let code = if printable {
                byte
            } else {
                shifted += 1;
                255 + shifted
            };
            char::from_u32(code).unwrap().to_string()
        })
        .collect()
}

/// Writes a Qwen2 GGUF with one layer of random weights, a byte-level vocabulary plus the
/// ChatML markers, and a chat template of its own.
fn write_tiny_qwen2(path: &std::path::Path) {
    use candle_core::quantized::gguf_file::Value;
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};
    let mut tokens = byte_level_alphabet();
    tokens.extend(["<|im_start|>", "<|im_end|>", "<|endoftext|>"].map(String::from));
    let mut types = vec![1i32; 256];
    types.extend([3, 3, 3]);
    let vocab = tokens.len();
    let (hidden, kv, ffn) = (32usize, 16usize, 64usize);
    let random = |shape: &[usize]| {
        let tensor = Tensor::randn(0f32, 0.2, shape, &Device::Cpu).unwrap();
        QTensor::quantize(&tensor, GgmlDType::F32).unwrap()
    };
    let ones = |size: usize| {
        QTensor::quantize(&Tensor::ones(size, candle_core::DType::F32, &Device::Cpu).unwrap(), GgmlDType::F32).unwrap()
    };
    let tensors: Vec<(String, QTensor)> = vec![
        ("token_embd.weight".into(), random(&[vocab, hidden])),
        ("output_norm.weight".into(), ones(hidden)),
        ("blk.0.attn_q.weight".into(), random(&[hidden, hidden])),
        ("blk.0.attn_k.weight".into(), random(&[kv, hidden])),
        ("blk.0.attn_v.weight".into(), random(&[kv, hidden])),
        ("blk.0.attn_q.bias".into(), random(&[hidden])),
        ("blk.0.attn_k.bias".into(), random(&[kv])),
        ("blk.0.attn_v.bias".into(), random(&[kv])),
        ("blk.0.attn_output.weight".into(), random(&[hidden, hidden])),
        ("blk.0.ffn_gate.weight".into(), random(&[ffn, hidden])),
        ("blk.0.ffn_down.weight".into(), random(&[hidden, ffn])),
        ("blk.0.ffn_up.weight".into(), random(&[ffn, hidden])),
        ("blk.0.attn_norm.weight".into(), ones(hidden)),
        ("blk.0.ffn_norm.weight".into(), ones(hidden)),
    ];
    // Written as Qwen's templates are: block tags on their own lines (trimmed), text in
    // expressions, Python string methods.
    let template = "{%- for message in messages %}\n    {{- '<|im_start|>' + message['role'] + '\\n' + message['content'].strip() + '<|im_end|>\\n' }}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n";
    let metadata: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String("qwen2".into())),
        ("qwen2.attention.head_count", Value::U32(4)),
        ("qwen2.attention.head_count_kv", Value::U32(2)),
        ("qwen2.embedding_length", Value::U32(hidden as u32)),
        ("qwen2.context_length", Value::U32(512)),
        ("qwen2.block_count", Value::U32(1)),
        ("qwen2.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
        ("qwen2.rope.freq_base", Value::F32(10_000.0)),
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("qwen2".into())),
        ("tokenizer.ggml.tokens", Value::Array(tokens.into_iter().map(Value::String).collect())),
        ("tokenizer.ggml.token_type", Value::Array(types.into_iter().map(Value::I32).collect())),
        ("tokenizer.ggml.merges", Value::Array(Vec::new())),
        ("tokenizer.ggml.eos_token_id", Value::U32(vocab as u32 - 2)),
        ("tokenizer.ggml.bos_token_id", Value::U32(vocab as u32 - 1)),
        ("tokenizer.chat_template", Value::String(template.into())),
    ];
    let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(key, value)| (*key, value)).collect();
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(name, tensor)| (name.as_str(), tensor)).collect();
    let mut file = std::fs::File::create(path).unwrap();
    candle_core::quantized::gguf_file::write(&mut file, &metadata, &tensors).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qwen2_file_loads_with_its_tokenizer_and_template_and_generates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny-qwen2.gguf");
    write_tiny_qwen2(&path);
    let model = tome_models::gguf_chat::LocalChatModel::load(&path).unwrap();
    assert_eq!((model.name(), model.context_tokens()), ("tiny-qwen2", 512));
    // The file's template (with Python's str.strip()) renders the conversation.
    let prompt = model.prompt(&request("  Hello 42  ", 8).messages).unwrap();
    assert_eq!(
        prompt,
        "<|im_start|>system\nYou are a helpful assistant. Answer in one short sentence.<|im_end|>\n\
         <|im_start|>user\nHello 42<|im_end|>\n<|im_start|>assistant\n"
    );
    // Byte-level tokens, one per byte here (the file has no merges); markers are one token.
    let counter = model.token_counter();
    assert_eq!(counter.count("<|im_start|>user"), 5);
    assert_eq!(counter.count("héllo"), 6);
    let (_, usage) = complete(&model, request("Hello", 6)).await.unwrap();
    let prompt_tokens = counter.count(&model.prompt(&request("Hello", 6).messages).unwrap());
    assert_eq!(usage.input_tokens, prompt_tokens);
    assert!(usage.output_tokens <= 6, "{usage:?}");
}
