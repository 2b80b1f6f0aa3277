//! The local GGUF chat model (SmolLM2-135M-Instruct, Q4_1) in-process: its tokenizer and chat
//! template come from the file, it answers short questions, and a dropped stream stops it.

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
