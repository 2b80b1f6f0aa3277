//! The prompt: the persona's system prompt with the numbered passages, as much of the
//! branch's history as fits the model's context (counted in the model's tokens), and the
//! question last.

use tome_models::chat::{ChatMessage, ChatModel, ChatRole, Passage};

/// Tokens kept free for the chat template's own markers around each message.
const PER_MESSAGE: usize = 8;

/// What goes into a prompt.
pub struct PromptInput<'a> {
    pub system_prompt: &'a str,
    pub passages: Vec<Passage>,
    /// Earlier turns of the branch, oldest first.
    pub history: Vec<ChatMessage>,
    pub question: &'a str,
    /// Tokens kept for the answer.
    pub answer_tokens: usize,
}

/// The rendered prompt and the passages that fit into it.
pub struct Prompt {
    pub messages: Vec<ChatMessage>,
    pub passages: Vec<Passage>,
    /// The prompt's size in the model's tokens.
    pub tokens: usize,
}

/// Fits passages first (best first), then history (newest first) into the context.
pub fn build(model: &dyn ChatModel, input: PromptInput<'_>) -> Prompt {
    let counter = model.token_counter();
    let count = |text: &str| counter.count(text) + PER_MESSAGE;
    let mut budget = model
        .context_tokens()
        .saturating_sub(input.answer_tokens)
        .saturating_sub(count(input.question))
        .saturating_sub(count(input.system_prompt) + 32);
    let mut passages = Vec::new();
    for passage in input.passages {
        let cost = counter.count(&render_passage(&passage)) + 2;
        if cost > budget {
            break;
        }
        budget -= cost;
        passages.push(passage);
    }
    let mut history = Vec::new();
    for message in input.history.into_iter().rev() {
        let cost = count(&message.content);
        if cost > budget {
            break;
        }
        budget -= cost;
        history.push(message);
    }
    history.reverse();
    let mut messages = Vec::with_capacity(history.len() + 2);
    messages.push(ChatMessage::new(ChatRole::System, system_text(input.system_prompt, &passages)));
    messages.extend(history);
    messages.push(ChatMessage::new(ChatRole::User, input.question));
    let tokens = messages.iter().map(|m| count(&m.content)).sum();
    Prompt { messages, passages, tokens }
}

fn render_passage(passage: &Passage) -> String {
    format!("[{}] {}\n{}", passage.number, passage.title, passage.text.trim())
}

fn system_text(system_prompt: &str, passages: &[Passage]) -> String {
    let mut text = system_prompt.trim().to_owned();
    if passages.is_empty() {
        text.push_str("\n\nNo passages were found for this question in the documents the user may read.");
        return text;
    }
    text.push_str("\n\nPassages:");
    for passage in passages {
        text.push_str("\n\n");
        text.push_str(&render_passage(passage));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::extractive::Extractive;

    /// A model with a small context, counting tokens by estimate.
    struct Small;

    #[async_trait::async_trait]
    impl ChatModel for Small {
        fn name(&self) -> &str {
            "small"
        }
        fn context_tokens(&self) -> usize {
            120
        }
        fn max_output_tokens(&self) -> usize {
            20
        }
        fn token_counter(&self) -> std::sync::Arc<dyn tome_models::tokens::TokenCounter> {
            Extractive.token_counter()
        }
        async fn generate(
            &self,
            request: tome_models::chat::ChatRequest,
        ) -> Result<tome_models::chat::ChatStream, tome_models::chat::ChatError> {
            Extractive.generate(request).await
        }
    }

    #[test]
    fn history_is_cut_oldest_first_when_the_context_is_full() {
        let history: Vec<ChatMessage> =
            (0..20).map(|i| ChatMessage::new(ChatRole::User, format!("turn {i} with a few words in it"))).collect();
        let passages = vec![Passage { number: 1, title: "a.md".into(), text: "Rockets burn fuel.".into() }];
        let prompt = build(
            &Small,
            PromptInput { system_prompt: "Be brief.", passages, history, question: "Why?", answer_tokens: 20 },
        );
        assert_eq!(prompt.passages.len(), 1);
        assert!(prompt.messages.len() > 2 && prompt.messages.len() < 22, "{}", prompt.messages.len());
        let kept = &prompt.messages[1].content;
        assert!(kept.starts_with("turn ") && !kept.starts_with("turn 0 "), "the newest turns stay: {kept}");
        assert_eq!(prompt.messages.last().map(|m| m.content.as_str()), Some("Why?"));
        assert!(prompt.tokens <= 100, "{}", prompt.tokens);
        assert!(prompt.messages[0].content.contains("[1] a.md\nRockets burn fuel."));
    }
}
