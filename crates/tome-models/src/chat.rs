//! The `ChatModel` trait: a conversation in, a stream of text out. Dropping the stream
//! cancels the generation (a remote request is closed, a local one stops at the next token).

use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Stream;
use serde::{Deserialize, Serialize};

use crate::tokens::TokenCounter;

/// Who said a turn of the prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    System,
    User,
    Assistant,
    /// A tool's output, answering one of the assistant's `tool_calls`.
    Tool,
}

impl ChatRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Tool => "tool",
        }
    }
}

/// One turn of the prompt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: ChatRole,
    pub content: String,
    /// The tools an assistant turn called.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call a tool turn answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    pub fn new(role: ChatRole, content: impl Into<String>) -> Self {
        Self { role, content: content.into(), tool_calls: Vec::new(), tool_call_id: None }
    }

    /// An assistant turn that calls tools.
    pub fn calling(content: impl Into<String>, calls: Vec<ToolCall>) -> Self {
        Self { tool_calls: calls, ..Self::new(ChatRole::Assistant, content) }
    }

    /// A tool's output for the call `id`.
    pub fn tool_output(id: impl Into<String>, output: impl Into<String>) -> Self {
        Self { tool_call_id: Some(id.into()), ..Self::new(ChatRole::Tool, output) }
    }
}

/// A tool the model may call: its name, what it does, and its JSON Schema parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

/// A call the model made: its id, the tool, and the arguments as the JSON text it wrote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// A passage the answer may quote, numbered as the prompt numbers it (`[n]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Passage {
    pub number: usize,
    pub title: String,
    pub text: String,
}

/// What a model is asked.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatRequest {
    /// The whole prompt: system prompt with the passages, history, the question last.
    pub messages: Vec<ChatMessage>,
    pub temperature: f64,
    pub max_tokens: usize,
    /// The question and passages on their own, for models that work from them directly
    /// (the extractive answerer) rather than from the rendered prompt.
    pub question: String,
    pub passages: Vec<Passage>,
    /// Tools offered (only to models that `supports_tools`).
    pub tools: Vec<ToolSpec>,
}

/// Tokens read and written, as the model counted them (or estimated, if it did not say).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub input_tokens: usize,
    pub output_tokens: usize,
}

/// What a generation yields: text as it comes, then the usage once.
#[derive(Clone, Debug, PartialEq)]
pub enum ChatEvent {
    Delta(String),
    /// The model asks for these tools' outputs before it goes on (just before `Done`).
    ToolCalls(Vec<ToolCall>),
    Done(Usage),
}

/// Why a generation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("the chat model cannot be loaded: {0}")]
    Load(String),
    #[error("generation failed: {0}")]
    Generation(String),
    #[error("the chat model server failed: {0}")]
    Remote(String),
}

pub type ChatStream = Pin<Box<dyn Stream<Item = Result<ChatEvent, ChatError>> + Send>>;

/// A chat model: remote (OpenAI-compatible), local (GGUF with candle) or extractive.
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// The name stored on each answer and offered by `GET /v1/models`.
    fn name(&self) -> &str;
    /// Prompt and answer together, in tokens.
    fn context_tokens(&self) -> usize;
    /// The longest answer the model may be asked for.
    fn max_output_tokens(&self) -> usize;
    /// Counts tokens as this model does, for fitting the history into the context.
    fn token_counter(&self) -> Arc<dyn TokenCounter>;
    /// Whether it writes its own text (titles can then be generated) rather than quoting.
    fn is_generative(&self) -> bool {
        true
    }
    /// Whether it can be offered tools (OpenAI function calling).
    fn supports_tools(&self) -> bool {
        false
    }
    /// Starts a generation. Errors before the first token come back here (after retries);
    /// later ones arrive in the stream.
    async fn generate(&self, request: ChatRequest) -> Result<ChatStream, ChatError>;
}

/// Runs a generation to the end: the whole text and the usage.
pub async fn complete(model: &dyn ChatModel, request: ChatRequest) -> Result<(String, Usage), ChatError> {
    use futures::StreamExt;
    let mut stream = model.generate(request).await?;
    let mut text = String::new();
    let mut usage = Usage::default();
    while let Some(event) = stream.next().await {
        match event? {
            ChatEvent::Delta(delta) => text.push_str(&delta),
            ChatEvent::Done(done) => usage = done,
            ChatEvent::ToolCalls(_) => {}
        }
    }
    Ok((text, usage))
}
