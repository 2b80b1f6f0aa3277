//! The tools a model that does function calling may use during a turn: `search_knowledge`
//! (more passages from what the asker may read, numbered after those already given, so that
//! `[n]` stays one numbering) and `create_openscad_object` (stores an `objects` row with
//! OpenSCAD source, linked from the answer). Every call and output is recorded for the
//! message's `tool_calls` and `tool_outputs`; a bad call gets an error output the model can
//! read, never a failed turn.

use serde::Deserialize;
use serde_json::{Value, json};
use tome_domain::access::Access;
use tome_domain::repo::Store;
use tome_domain::search::SearchFilters;
use tome_domain::{DomainError, DomainResult, ObjectId, ProjectId, objects};
use tome_models::chat::{Passage, ToolCall, ToolSpec};

use crate::chat::citations::{Citation, from_results};
use crate::retrieve::{MAX_QUERY_CHARS, Retriever, SearchRequest};

pub const SEARCH_KNOWLEDGE: &str = "search_knowledge";
pub const CREATE_OPENSCAD_OBJECT: &str = "create_openscad_object";
/// Tool rounds in one answer; then the model must answer.
pub const MAX_ROUNDS: usize = 3;
/// Passages one `search_knowledge` call adds.
const SEARCH_PASSAGES: usize = 4;

/// The tools offered to a model that supports them.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: SEARCH_KNOWLEDGE.into(),
            description: "Search the organization's documents that the user may read. Returns numbered passages; \
                          cite them as [n]."
                .into(),
            parameters: json!({"type": "object", "properties": {
                "query": {"type": "string", "description": "What to look for, in a few words."}},
                "required": ["query"]}),
        },
        ToolSpec {
            name: CREATE_OPENSCAD_OBJECT.into(),
            description: "Store a 3D model written in OpenSCAD so that the user can download it as a .scad file."
                .into(),
            parameters: json!({"type": "object", "properties": {
                "name": {"type": "string", "description": "A short name for the object."},
                "source": {"type": "string", "description": "The complete OpenSCAD source."}},
                "required": ["name", "source"]}),
        },
    ]
}

/// Retrieval for a question: hybrid search over what the asker may read, within the project
/// when given; nothing (rather than an error) without `documents.read`. Numbered from 1.
pub async fn search(
    retriever: &Retriever,
    store: &dyn Store,
    access: &Access,
    question: &str,
    project: Option<ProjectId>,
    limit: usize,
) -> DomainResult<(Vec<Citation>, Vec<Passage>)> {
    let request = SearchRequest {
        query: question.chars().take(MAX_QUERY_CHARS).collect(),
        mode: None,
        limit: Some(limit),
        filters: SearchFilters { project_ids: project.into_iter().collect(), ..SearchFilters::default() },
    };
    match retriever.search(store, access, request).await {
        Ok(outcome) => Ok(from_results(outcome.results)),
        Err(DomainError::Forbidden(_) | DomainError::Invalid { .. }) => Ok((Vec::new(), Vec::new())),
        Err(error) => Err(error),
    }
}

/// The tools of one turn, and what they did.
pub struct Tools<'a> {
    retriever: &'a Retriever,
    store: &'a dyn Store,
    access: &'a Access,
    project: Option<ProjectId>,
    /// Every passage the answer may cite: the turn's, then those its searches found.
    pub citations: Vec<Citation>,
    pub calls: Vec<Value>,
    pub outputs: Vec<Value>,
    /// The last object created.
    pub object_id: Option<ObjectId>,
}

#[derive(Deserialize)]
struct SearchArguments {
    query: String,
}

#[derive(Deserialize)]
struct ObjectArguments {
    name: String,
    source: String,
}

impl<'a> Tools<'a> {
    pub fn new(
        retriever: &'a Retriever,
        store: &'a dyn Store,
        access: &'a Access,
        project: Option<ProjectId>,
        citations: Vec<Citation>,
    ) -> Self {
        Self { retriever, store, access, project, citations, calls: Vec::new(), outputs: Vec::new(), object_id: None }
    }

    /// Runs a call; its output, as the model reads it.
    pub async fn run(&mut self, call: &ToolCall) -> String {
        let arguments: Value = serde_json::from_str(&call.arguments).unwrap_or(Value::String(call.arguments.clone()));
        self.calls.push(json!({"id": call.id, "name": call.name, "arguments": arguments}));
        let result = match call.name.as_str() {
            SEARCH_KNOWLEDGE => self.search_knowledge(&call.arguments).await,
            CREATE_OPENSCAD_OBJECT => self.create_object(&call.arguments).await,
            other => Err(format!("there is no tool named {other}")),
        };
        let (output, error) = match result {
            Ok(output) => (output, None),
            Err(error) => (format!("error: {error}"), Some(error)),
        };
        self.outputs.push(json!({"tool_call_id": call.id, "name": call.name, "output": output, "error": error}));
        output
    }

    async fn search_knowledge(&mut self, arguments: &str) -> Result<String, String> {
        let SearchArguments { query } = serde_json::from_str(arguments)
            .map_err(|error| format!("the arguments must be {{\"query\": …}}: {error}"))?;
        if query.trim().is_empty() {
            return Err("the query must not be empty".into());
        }
        let (found, passages) = search(self.retriever, self.store, self.access, &query, self.project, SEARCH_PASSAGES)
            .await
            .map_err(|error| error.to_string())?;
        let mut lines = Vec::new();
        for (mut citation, passage) in found.into_iter().zip(passages) {
            if self.citations.iter().any(|known| known.chunk_id == citation.chunk_id) {
                continue;
            }
            citation.number = self.citations.len() + 1;
            lines.push(format!("[{}] {}\n{}", citation.number, passage.title, passage.text));
            self.citations.push(citation);
        }
        Ok(if lines.is_empty() { "No further passages were found.".to_owned() } else { lines.join("\n\n") })
    }

    async fn create_object(&mut self, arguments: &str) -> Result<String, String> {
        let ObjectArguments { name, source } = serde_json::from_str(arguments)
            .map_err(|error| format!("the arguments must be {{\"name\": …, \"source\": …}}: {error}"))?;
        let object =
            objects::create(self.store, self.access, &name, &source).await.map_err(|error| error.to_string())?;
        self.object_id = Some(object.id);
        Ok(json!({"object_id": object.id, "name": object.name,
                  "download": format!("/api/v1/objects/{}/download", object.id)})
        .to_string())
    }
}
