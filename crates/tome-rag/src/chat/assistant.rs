//! The assistant: runs a turn of a conversation — or a stateless question from the
//! OpenAI-compatible API — in a task of its own that reports by channel: the stored user
//! message, the citations, the answer's text as it is written, then the stored answer (or
//! the error). A caller that stops listening cancels the generation; the partial answer is
//! kept and marked. Nothing the user wrote is lost when the model fails.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde_json::json;
use tokio::sync::mpsc;
use tome_domain::access::Access;
use tome_domain::catalog::{DEFAULT_PERSONA_NAME, DEFAULT_SYSTEM_PROMPT};
use tome_domain::chat::{Conversation, ConversationPatch, Message, MessageRole, NewMessage, Persona};
use tome_domain::conversations::{self, CHAT, ModelCatalog, selected_path};
use tome_domain::repo::Store;
use tome_domain::validate::user_message_content;
use tome_domain::{ConversationId, DomainError, DomainResult, MessageId, PersonaId};
use tome_models::chat::{ChatEvent, ChatMessage, ChatModel, ChatRequest, ChatRole, Passage, Usage, complete};

use crate::chat::citations::{Citation, MarkerFilter, cited_numbers};
use crate::chat::extractive::Extractive;
use crate::chat::prompt::{self, PromptInput};
use crate::chat::tools::{self, Tools};
use crate::retrieve::Retriever;

/// Passages retrieved for a question.
pub const PASSAGES: usize = 6;
/// The longest generated title, in characters.
const TITLE_CHARS: usize = 80;

/// What a turn reports, in this order: `Message`, `Sources`, `Delta`…, then `Done` or `Failed`.
#[derive(Clone, Debug)]
pub enum TurnEvent {
    /// The user message answered (stored).
    Message(Box<Message>),
    Sources(Vec<Citation>),
    Delta(String),
    /// The stored answer (None for a stateless question) and the tokens used.
    Done {
        message: Option<Box<Message>>,
        usage: Usage,
        model: String,
    },
    /// The model failed; the answer stored with the error, if the turn stores one.
    Failed {
        error: String,
        message: Option<Box<Message>>,
    },
}

/// A running turn. Dropping it cancels the generation.
pub struct Turn {
    receiver: mpsc::Receiver<TurnEvent>,
    /// The model answering.
    pub model: String,
}

impl Turn {
    pub async fn next(&mut self) -> Option<TurnEvent> {
        self.receiver.recv().await
    }

    pub fn into_stream(self) -> impl futures::Stream<Item = TurnEvent> + Send + 'static {
        futures::stream::unfold(self.receiver, |mut receiver| async move {
            receiver.recv().await.map(|event| (event, receiver))
        })
    }
}

/// A new user message.
#[derive(Clone, Debug, Default)]
pub struct PostInput {
    pub content: String,
    /// Answer under this message (default: the end of the branch shown).
    pub parent_id: Option<MessageId>,
    /// Edit this user message: the new one becomes its sibling, on a branch of its own.
    pub edit_of: Option<MessageId>,
}

/// A stateless question (the OpenAI-compatible API): the client sends the history.
#[derive(Clone, Debug, Default)]
pub struct Ask {
    /// A model or persona name; None: the default persona and model.
    pub model: Option<String>,
    /// The client's messages; the last must be the user's question.
    pub messages: Vec<ChatMessage>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<usize>,
}

/// How a turn is generated.
#[derive(Clone)]
struct Settings {
    system_prompt: String,
    model: Arc<dyn ChatModel>,
    temperature: f64,
    max_tokens: usize,
    persona_id: Option<PersonaId>,
}

/// What a generation produced.
#[derive(Default)]
struct Outcome {
    text: String,
    usage: Usage,
    error: Option<String>,
    cancelled: bool,
    first_token_ms: Option<f64>,
    /// What tools were called and answered (None when none were).
    tool_calls: Option<serde_json::Value>,
    tool_outputs: Option<serde_json::Value>,
    object_id: Option<tome_domain::ObjectId>,
}

/// The assistant: retrieval and the chat models offered (the first is the default; the
/// extractive answerer is always offered, last).
#[derive(Clone)]
pub struct Assistant {
    retriever: Retriever,
    models: Arc<Vec<Arc<dyn ChatModel>>>,
    /// Most model tokens a tenant may spend per UTC day (None: no limit).
    tokens_per_day: Option<i64>,
}

impl Assistant {
    pub fn new(retriever: Retriever, models: Vec<Arc<dyn ChatModel>>) -> Self {
        let mut models = models;
        models.push(Arc::new(Extractive));
        Self { retriever, models: Arc::new(models), tokens_per_day: None }
    }

    /// Refuses turns of a tenant that has spent `tokens_per_day` since midnight UTC.
    pub fn with_token_quota(mut self, tokens_per_day: Option<i64>) -> Self {
        self.tokens_per_day = tokens_per_day;
        self
    }

    /// Whether the tenant may start another model call today.
    async fn admit(&self, store: &dyn Store, access: &Access) -> DomainResult<()> {
        tome_domain::usage::admit_tokens(store, access.tenant_id, self.tokens_per_day).await
    }

    pub fn with_retriever(mut self, retriever: Retriever) -> Self {
        self.retriever = retriever;
        self
    }

    pub fn retriever(&self) -> &Retriever {
        &self.retriever
    }

    /// The models offered, default first.
    pub fn models(&self) -> &[Arc<dyn ChatModel>] {
        &self.models
    }

    pub fn catalog(&self) -> ModelCatalog {
        ModelCatalog { models: self.models.iter().map(|m| (m.name().to_owned(), m.max_output_tokens())).collect() }
    }

    /// The model named (if offered), else the default.
    pub fn model(&self, name: Option<&str>) -> Arc<dyn ChatModel> {
        let named = name.and_then(|name| self.models.iter().find(|m| m.name() == name));
        named.or_else(|| self.models.first()).cloned().unwrap_or_else(|| Arc::new(Extractive))
    }

    /// Posts a user message to a conversation and starts its answer.
    pub async fn post(
        &self,
        store: Arc<dyn Store>,
        access: Access,
        conversation: ConversationId,
        input: PostInput,
    ) -> DomainResult<Turn> {
        let conversation = conversations::get(store.as_ref(), &access, conversation).await?;
        let content = user_message_content(&input.content)?;
        self.admit(store.as_ref(), &access).await?;
        let parent =
            conversations::parent_for(store.as_ref(), &access, &conversation, input.parent_id, input.edit_of).await?;
        let settings = self.settings(store.as_ref(), &access, &conversation).await?;
        let mut new = NewMessage::text(conversation.id, MessageRole::User, content.clone());
        new.author_id = Some(access.user_id);
        new.parent_id = parent;
        let user_message = store.create_message(access.tenant_id, new).await?;
        // The first question names the conversation until a model names it better.
        let first = parent.is_none() && conversation.auto_title;
        let patch = ConversationPatch {
            current_message_id: Some(Some(user_message.id)),
            title: first.then(|| title_from_question(&content)),
            ..Default::default()
        };
        store.update_conversation(access.tenant_id, conversation.id, patch).await?;
        Ok(self.start(store, access, conversation, settings, user_message, first))
    }

    /// Answers a user message again: the new answer becomes a sibling of `message`.
    pub async fn regenerate(&self, store: Arc<dyn Store>, access: Access, message: MessageId) -> DomainResult<Turn> {
        let (conversation, answer) = conversations::own_message(store.as_ref(), &access, message).await?;
        if answer.role != MessageRole::Assistant {
            return Err(DomainError::invalid("message", "only an answer can be regenerated"));
        }
        let question = answer.parent_id.ok_or_else(|| DomainError::invalid("message", "answers no question"))?;
        let user_message = store.get_message(access.tenant_id, question).await?;
        self.admit(store.as_ref(), &access).await?;
        let settings = self.settings(store.as_ref(), &access, &conversation).await?;
        Ok(self.start(store, access, conversation, settings, user_message, false))
    }

    /// A stateless question with the client's history: nothing is stored.
    pub async fn ask(&self, store: Arc<dyn Store>, access: Access, ask: Ask) -> DomainResult<Turn> {
        access.require(CHAT)?;
        let Some((last, history)) = ask.messages.split_last() else {
            return Err(DomainError::invalid("messages", "must not be empty"));
        };
        if last.role != ChatRole::User {
            return Err(DomainError::invalid("messages", "the last message must be the user's"));
        }
        let question = user_message_content(&last.content)
            .map_err(|_| DomainError::invalid("messages", "the last message must hold 1–10000 characters"))?;
        self.admit(store.as_ref(), &access).await?;
        let mut settings = self.named_settings(store.as_ref(), &access, ask.model.as_deref()).await?;
        let client_system: Vec<&str> =
            history.iter().filter(|m| m.role == ChatRole::System).map(|m| m.content.as_str()).collect();
        if !client_system.is_empty() {
            settings.system_prompt = format!("{}\n\n{}", settings.system_prompt, client_system.join("\n\n"));
        }
        if let Some(temperature) = ask.temperature {
            settings.temperature = tome_domain::validate::temperature(temperature)
                .map_err(|_| DomainError::invalid("temperature", "must be between 0 and 2"))?;
        }
        if let Some(max_tokens) = ask.max_tokens {
            if max_tokens == 0 || max_tokens > settings.model.max_output_tokens() {
                return Err(DomainError::invalid(
                    "max_tokens",
                    format!("must be between 1 and {}", settings.model.max_output_tokens()),
                ));
            }
            settings.max_tokens = max_tokens;
        }
        let history: Vec<ChatMessage> = history.iter().filter(|m| m.role != ChatRole::System).cloned().collect();
        let (sender, receiver) = mpsc::channel(64);
        let model = settings.model.name().to_owned();
        let assistant = self.clone();
        tokio::spawn(async move {
            let sources = assistant.sources(store.as_ref(), &access, &question, None).await;
            let (outcome, _) = match sources {
                Ok(sources) => {
                    let place = Place { store: store.as_ref(), access: &access, project: None };
                    assistant.generate(&settings, &question, history, sources, place, &sender).await
                }
                Err(error) => {
                    let _ = sender.send(TurnEvent::Failed { error: error.to_string(), message: None }).await;
                    return;
                }
            };
            spent(store.as_ref(), &access, settings.model.name(), "api", &outcome.usage).await;
            let event = match outcome.error {
                Some(error) => TurnEvent::Failed { error, message: None },
                None => TurnEvent::Done { message: None, usage: outcome.usage, model: settings.model.name().into() },
            };
            let _ = sender.send(event).await;
        });
        Ok(Turn { receiver, model })
    }

    /// Spawns the turn's task.
    fn start(
        &self,
        store: Arc<dyn Store>,
        access: Access,
        conversation: Conversation,
        settings: Settings,
        user_message: Message,
        first: bool,
    ) -> Turn {
        let (sender, receiver) = mpsc::channel(64);
        let model = settings.model.name().to_owned();
        let assistant = self.clone();
        tokio::spawn(async move {
            assistant.run(store, access, conversation, settings, user_message, first, sender).await;
        });
        Turn { receiver, model }
    }

    #[expect(clippy::too_many_arguments, reason = "the parts of one turn, passed once into its task")]
    async fn run(
        &self,
        store: Arc<dyn Store>,
        access: Access,
        conversation: Conversation,
        settings: Settings,
        user_message: Message,
        first: bool,
        sender: mpsc::Sender<TurnEvent>,
    ) {
        let started = Instant::now();
        if sender.send(TurnEvent::Message(Box::new(user_message.clone()))).await.is_err() {
            return;
        }
        let question = user_message.content.clone();
        let history = self.history(store.as_ref(), &access, &conversation, &user_message).await;
        let retrieval_started = Instant::now();
        let sources = self.sources(store.as_ref(), &access, &question, conversation.project_id).await;
        let retrieval_ms = retrieval_started.elapsed().as_secs_f64() * 1000.0;
        let (outcome, citations) = match sources {
            Ok(sources) => {
                let place = Place { store: store.as_ref(), access: &access, project: conversation.project_id };
                self.generate(&settings, &question, history, sources, place, &sender).await
            }
            Err(error) => (Outcome { error: Some(error.to_string()), ..Outcome::default() }, Vec::new()),
        };
        let metadata = json!({
            "latency_ms": started.elapsed().as_secs_f64() * 1000.0,
            "retrieval_ms": retrieval_ms,
            "first_token_ms": outcome.first_token_ms,
            "cancelled": outcome.cancelled,
            "persona_id": settings.persona_id,
            "temperature": settings.temperature,
        });
        let error = match (&outcome.error, outcome.cancelled) {
            (Some(error), _) => Some(error.clone()),
            (None, true) => Some("cancelled: the client left before the answer was complete".to_owned()),
            (None, false) => None,
        };
        let new = NewMessage {
            author_id: None,
            parent_id: Some(user_message.id),
            source_references: serde_json::to_value(&citations).unwrap_or_else(|_| json!([])),
            model: Some(settings.model.name().to_owned()),
            input_tokens: Some(i32::try_from(outcome.usage.input_tokens).unwrap_or(i32::MAX)),
            output_tokens: Some(i32::try_from(outcome.usage.output_tokens).unwrap_or(i32::MAX)),
            error,
            metadata,
            tool_calls: outcome.tool_calls.clone(),
            tool_outputs: outcome.tool_outputs.clone(),
            object_id: outcome.object_id,
            ..NewMessage::text(conversation.id, MessageRole::Assistant, outcome.text.clone())
        };
        spent(store.as_ref(), &access, settings.model.name(), "chat", &outcome.usage).await;
        let stored = match store.create_message(access.tenant_id, new).await {
            Ok(message) => message,
            Err(error) => {
                tracing::error!(%error, "the answer could not be stored");
                let _ = sender.send(TurnEvent::Failed { error: error.to_string(), message: None }).await;
                return;
            }
        };
        let patch = ConversationPatch { current_message_id: Some(Some(stored.id)), ..Default::default() };
        if let Err(error) = store.update_conversation(access.tenant_id, conversation.id, patch).await {
            tracing::warn!(%error, "the conversation's branch was not moved to the new answer");
        }
        let event = match outcome.error {
            Some(error) => TurnEvent::Failed { error, message: Some(Box::new(stored)) },
            None => TurnEvent::Done {
                message: Some(Box::new(stored)),
                usage: outcome.usage,
                model: settings.model.name().to_owned(),
            },
        };
        let succeeded = matches!(event, TurnEvent::Done { .. }) && !outcome.cancelled;
        let _ = sender.send(event).await;
        drop(sender);
        if first && succeeded && settings.model.is_generative() {
            self.name_conversation(store.as_ref(), &access, &conversation, &settings, &question).await;
        }
    }

    /// Prompt → generation (with tool rounds when the model supports tools), streaming
    /// `Sources` and `Delta`s to `sender`.
    async fn generate(
        &self,
        settings: &Settings,
        question: &str,
        history: Vec<ChatMessage>,
        sources: (Vec<Citation>, Vec<Passage>),
        place: Place<'_>,
        sender: &mpsc::Sender<TurnEvent>,
    ) -> (Outcome, Vec<Citation>) {
        let (mut citations, passages) = sources;
        let model = settings.model.as_ref();
        let built = prompt::build(
            model,
            PromptInput {
                system_prompt: &settings.system_prompt,
                passages,
                history,
                question,
                answer_tokens: settings.max_tokens,
            },
        );
        citations.truncate(built.passages.len());
        let _ = sender.send(TurnEvent::Sources(citations.clone())).await;
        let request = ChatRequest {
            messages: built.messages,
            temperature: settings.temperature,
            max_tokens: settings.max_tokens,
            question: question.to_owned(),
            passages: built.passages,
            tools: if model.supports_tools() { tools::specs() } else { Vec::new() },
        };
        let mut tools = Tools::new(&self.retriever, place.store, place.access, place.project, citations);
        let outcome = stream_answer(model, request, built.tokens, &mut tools, sender).await;
        let mut citations = tools.citations;
        let cited = cited_numbers(&outcome.text);
        for citation in &mut citations {
            citation.cited = cited.contains(&citation.number);
        }
        (outcome, citations)
    }

    /// The passages for a question (see `tools::search`).
    async fn sources(
        &self,
        store: &dyn Store,
        access: &Access,
        question: &str,
        project: Option<tome_domain::ProjectId>,
    ) -> DomainResult<(Vec<Citation>, Vec<Passage>)> {
        tools::search(&self.retriever, store, access, question, project, PASSAGES).await
    }

    /// The branch above `message`, oldest first, as prompt turns (failed answers left out).
    async fn history(
        &self,
        store: &dyn Store,
        access: &Access,
        conversation: &Conversation,
        message: &Message,
    ) -> Vec<ChatMessage> {
        let Ok(messages) = store.list_messages(access.tenant_id, conversation.id).await else { return Vec::new() };
        let path = selected_path(&messages, Some(message.id));
        let above = path.iter().take_while(|id| **id != message.id);
        above
            .filter_map(|id| messages.iter().find(|m| m.id == *id))
            .filter(|m| m.error.is_none() && !m.content.trim().is_empty())
            .filter_map(|m| match m.role {
                MessageRole::User => Some(ChatMessage::new(ChatRole::User, m.content.clone())),
                MessageRole::Assistant => Some(ChatMessage::new(ChatRole::Assistant, m.content.clone())),
                MessageRole::System | MessageRole::Tool => None,
            })
            .collect()
    }

    /// The persona (the conversation's, else the tenant's default) and model of a conversation.
    async fn settings(
        &self,
        store: &dyn Store,
        access: &Access,
        conversation: &Conversation,
    ) -> DomainResult<Settings> {
        let persona = match conversation.persona_id {
            Some(id) => optional(store.get_persona(access.tenant_id, id).await)?,
            None => None,
        };
        let persona = match persona {
            Some(persona) => Some(persona),
            None => optional(store.get_persona_by_name(access.tenant_id, None, DEFAULT_PERSONA_NAME).await)?,
        };
        let model_name = conversation.model.clone().or_else(|| persona.as_ref().and_then(|p| p.model.clone()));
        Ok(self.settings_of(persona.as_ref(), model_name.as_deref()))
    }

    /// Settings for a model or persona name (None: the default persona).
    async fn named_settings(&self, store: &dyn Store, access: &Access, name: Option<&str>) -> DomainResult<Settings> {
        if let Some(name) = name
            && self.models.iter().any(|m| m.name() == name)
        {
            let persona = optional(store.get_persona_by_name(access.tenant_id, None, DEFAULT_PERSONA_NAME).await)?;
            return Ok(self.settings_of(persona.as_ref(), Some(name)));
        }
        let persona = match name {
            Some(name) => tome_domain::personas::find(store, access, name).await.map_err(|error| match error {
                DomainError::NotFound(_) => {
                    DomainError::invalid("model", format!("no model or persona is named {name}"))
                }
                other => other,
            })?,
            None => match optional(store.get_persona_by_name(access.tenant_id, None, DEFAULT_PERSONA_NAME).await)? {
                Some(persona) => persona,
                None => return Ok(self.settings_of(None, None)),
            },
        };
        let model = persona.model.clone();
        Ok(self.settings_of(Some(&persona), model.as_deref()))
    }

    fn settings_of(&self, persona: Option<&Persona>, model: Option<&str>) -> Settings {
        let model = self.model(model);
        let max_tokens = persona
            .map_or(1024, |p| usize::try_from(p.max_tokens).unwrap_or(1024))
            .clamp(1, model.max_output_tokens().max(1));
        Settings {
            system_prompt: persona
                .map(|p| p.system_prompt.clone())
                .filter(|prompt| !prompt.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_SYSTEM_PROMPT.to_owned()),
            temperature: persona.map_or(0.7, |p| p.default_temperature),
            max_tokens,
            persona_id: persona.map(|p| p.id),
            model,
        }
    }

    /// Asks the model for a short title after the first exchange (kept from the question
    /// if the model fails).
    async fn name_conversation(
        &self,
        store: &dyn Store,
        access: &Access,
        conversation: &Conversation,
        settings: &Settings,
        question: &str,
    ) {
        let request = ChatRequest {
            messages: vec![
                ChatMessage::new(
                    ChatRole::System,
                    "Write a short title, at most eight words, for a conversation that begins with the user's \
                     question. Answer with the title alone.",
                ),
                ChatMessage::new(ChatRole::User, question.chars().take(2_000).collect::<String>()),
            ],
            temperature: 0.2,
            max_tokens: 24,
            question: question.to_owned(),
            passages: Vec::new(),
            tools: Vec::new(),
        };
        let Ok((text, usage)) = complete(settings.model.as_ref(), request).await else { return };
        spent(store, access, settings.model.name(), "title", &usage).await;
        let Some(title) = clean_title(&text) else { return };
        let patch = ConversationPatch { title: Some(title), auto_title: Some(false), ..Default::default() };
        if let Err(error) = store.update_conversation(access.tenant_id, conversation.id, patch).await {
            tracing::warn!(%error, "the generated title was not stored");
        }
    }
}

/// Records what one model call spent, for the daily token quota (a failure is logged: the
/// answer is already given).
async fn spent(store: &dyn Store, access: &Access, model: &str, source: &'static str, usage: &Usage) {
    if usage.input_tokens == 0 && usage.output_tokens == 0 {
        return;
    }
    let record = tome_domain::chat::NewTokenUsage {
        user_id: Some(access.user_id),
        model: model.to_owned(),
        source,
        input_tokens: i64::try_from(usage.input_tokens).unwrap_or(i64::MAX),
        output_tokens: i64::try_from(usage.output_tokens).unwrap_or(i64::MAX),
    };
    if let Err(error) = store.record_tokens(access.tenant_id, record).await {
        tracing::warn!(%error, "the tokens of a model call were not recorded");
    }
}

/// Where a turn's tools act: the store, the asker, and the conversation's project.
struct Place<'a> {
    store: &'a dyn Store,
    access: &'a Access,
    project: Option<tome_domain::ProjectId>,
}

/// Runs the model, passing its text through the marker filter to `sender`; runs the tools
/// it calls (at most `tools::MAX_ROUNDS` rounds) and asks it again with their outputs;
/// stops when the receiver is gone (cancelled) or the model fails.
async fn stream_answer(
    model: &dyn ChatModel,
    mut request: ChatRequest,
    prompt_tokens: usize,
    tools: &mut Tools<'_>,
    sender: &mpsc::Sender<TurnEvent>,
) -> Outcome {
    let started = Instant::now();
    let mut outcome = Outcome::default();
    let mut usage: Option<Usage> = None;
    let mut filter = MarkerFilter::new(tools.citations.len());
    for round in 0..=tools::MAX_ROUNDS {
        if round == tools::MAX_ROUNDS {
            request.tools.clear();
        }
        let mut stream = match model.generate(request.clone()).await {
            Ok(stream) => stream,
            Err(error) => {
                outcome.error = Some(error.to_string());
                break;
            }
        };
        let mut said = String::new();
        let mut calls = Vec::new();
        loop {
            let event = tokio::select! {
                () = sender.closed() => {
                    outcome.cancelled = true;
                    break;
                }
                event = stream.next() => event,
            };
            match event {
                None => break,
                Some(Ok(ChatEvent::Delta(text))) => {
                    outcome.first_token_ms.get_or_insert_with(|| started.elapsed().as_secs_f64() * 1000.0);
                    said.push_str(&text);
                    let shown = filter.push(&text);
                    outcome.text.push_str(&shown);
                    if !shown.is_empty() && sender.send(TurnEvent::Delta(shown)).await.is_err() {
                        outcome.cancelled = true;
                        break;
                    }
                }
                Some(Ok(ChatEvent::ToolCalls(called))) => calls = called,
                Some(Ok(ChatEvent::Done(done))) => {
                    let total = usage.unwrap_or_default();
                    usage = Some(Usage {
                        input_tokens: total.input_tokens + done.input_tokens,
                        output_tokens: total.output_tokens + done.output_tokens,
                    });
                }
                Some(Err(error)) => {
                    outcome.error = Some(error.to_string());
                    break;
                }
            }
        }
        drop(stream);
        if calls.is_empty() || outcome.cancelled || outcome.error.is_some() || request.tools.is_empty() {
            break;
        }
        let known = tools.citations.len();
        request.messages.push(ChatMessage::calling(said, calls.clone()));
        for call in &calls {
            let output = tools.run(call).await;
            request.messages.push(ChatMessage::tool_output(call.id.clone(), output));
        }
        if tools.citations.len() > known {
            filter.extend(tools.citations.len());
            let _ = sender.send(TurnEvent::Sources(tools.citations.clone())).await;
        }
    }
    let rest = filter.finish();
    if !rest.is_empty() {
        outcome.text.push_str(&rest);
        if !outcome.cancelled {
            let _ = sender.send(TurnEvent::Delta(rest)).await;
        }
    }
    if !tools.calls.is_empty() {
        outcome.tool_calls = Some(serde_json::Value::Array(tools.calls.clone()));
        outcome.tool_outputs = Some(serde_json::Value::Array(tools.outputs.clone()));
        outcome.object_id = tools.object_id;
    }
    outcome.usage = usage.unwrap_or_else(|| Usage {
        input_tokens: prompt_tokens,
        output_tokens: model.token_counter().count(&outcome.text),
    });
    outcome
}

/// Not-found as None; other errors stay errors.
fn optional<T>(result: DomainResult<T>) -> DomainResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(DomainError::NotFound(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

/// A title from the question: its first line, whitespace collapsed, cut at a word.
pub fn title_from_question(question: &str) -> String {
    let line = question.lines().find(|line| !line.trim().is_empty()).unwrap_or(question);
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut title = String::new();
    for word in words {
        if title.chars().count() + word.chars().count() + 1 > TITLE_CHARS {
            title.push('…');
            break;
        }
        if !title.is_empty() {
            title.push(' ');
        }
        title.push_str(word);
    }
    if title.is_empty() { conversations::PLACEHOLDER_TITLE.to_owned() } else { title }
}

/// A model's title, tidied: first line, no quotes or trailing full stop, ≤ 255 characters.
fn clean_title(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|line| !line.is_empty())?;
    let line = line.trim_start_matches("Title:").trim();
    let decoration = |c: char| matches!(c, '"' | '\'' | '*' | '#' | '`' | '.') || c.is_whitespace();
    let line = line.trim_start_matches(decoration).trim_end_matches(decoration);
    if line.is_empty() {
        return None;
    }
    Some(line.chars().take(255).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_question_becomes_a_title_cut_at_a_word() {
        let question = format!("{}\nsecond line", "word ".repeat(40));
        let title = title_from_question(&question);
        assert!(title.chars().count() <= TITLE_CHARS + 1, "{title}");
        assert!(title.ends_with("word…"), "{title}");
        assert_eq!(title_from_question("  What fuel?  "), "What fuel?");
    }

    #[test]
    fn model_titles_are_tidied() {
        assert_eq!(clean_title("\n\"Rocket Fuel Basics\".\nmore").as_deref(), Some("Rocket Fuel Basics"));
        assert_eq!(clean_title("Title: Budgets").as_deref(), Some("Budgets"));
        assert_eq!(clean_title("  \n \"\" "), None);
    }
}
