//! Personas: a system prompt with generation settings. The tenant's (no owner) are read by
//! every member with `chat.use` and changed only with `personas.manage`; a user's own are
//! theirs alone (others get 404).

use crate::access::Access;
use crate::chat::{NewPersona, Persona, PersonaPatch};
use crate::conversations::{CHAT, ModelCatalog};
use crate::repo::Store;
use crate::validate::{optional_text, required_text, temperature};
use crate::{DomainError, DomainResult, Page, PageRequest, PersonaId};

const MANAGE: &str = "personas.manage";

/// A new persona.
#[derive(Clone, Debug)]
pub struct PersonaInput {
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub system_prompt: String,
    pub model: Option<String>,
    pub default_temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    /// The tenant's (needs `personas.manage`) rather than the caller's own.
    pub shared: bool,
}

/// A persona's name: 1–64 characters of `a-z 0-9 . _ -` (it is what `model` names in the
/// OpenAI-compatible API).
fn persona_name(raw: &str) -> DomainResult<String> {
    let name = required_text("name", raw, 64)?;
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')) {
        return Err(DomainError::invalid("name", "may hold only a-z, 0-9, '.', '_' and '-'"));
    }
    Ok(name)
}

fn max_tokens(value: i32, model: Option<&str>, models: &ModelCatalog) -> DomainResult<i32> {
    let limit = models.max_output(model).max(1);
    if value < 1 || usize::try_from(value).unwrap_or(0) > limit {
        return Err(DomainError::invalid("max_tokens", format!("must be between 1 and {limit} for this model")));
    }
    Ok(value)
}

/// 1,024 tokens, or less when the model cannot write that many.
fn default_max_tokens(model: Option<&str>, models: &ModelCatalog) -> i32 {
    i32::try_from(models.max_output(model).clamp(1, 1024)).unwrap_or(1024)
}

fn system_prompt(raw: &str) -> DomainResult<String> {
    if raw.chars().count() > 20_000 {
        return Err(DomainError::invalid("system_prompt", "must be at most 20000 characters"));
    }
    Ok(raw.to_owned())
}

/// Whether the caller may change this persona.
fn changeable(access: &Access, persona: &Persona) -> DomainResult<()> {
    match persona.owner_id {
        Some(owner) if owner == access.user_id => Ok(()),
        Some(_) => Err(DomainError::NotFound("persona")),
        None => access.require(MANAGE),
    }
}

/// The tenant's personas and the caller's own.
pub async fn list(store: &dyn Store, access: &Access, page: PageRequest) -> DomainResult<Page<Persona>> {
    access.require(CHAT)?;
    store.list_personas(access.tenant_id, Some(access.user_id), page).await
}

/// A persona the caller may read.
pub async fn get(store: &dyn Store, access: &Access, id: PersonaId) -> DomainResult<Persona> {
    access.require(CHAT)?;
    let persona = store.get_persona(access.tenant_id, id).await?;
    match persona.owner_id {
        Some(owner) if owner != access.user_id => Err(DomainError::NotFound("persona")),
        _ => Ok(persona),
    }
}

/// A persona by name, as `model` names one in the OpenAI-compatible API.
pub async fn find(store: &dyn Store, access: &Access, name: &str) -> DomainResult<Persona> {
    let persona = store.get_persona_by_name(access.tenant_id, Some(access.user_id), name).await?;
    get(store, access, persona.id).await
}

pub async fn create(
    store: &dyn Store,
    access: &Access,
    input: PersonaInput,
    models: &ModelCatalog,
) -> DomainResult<Persona> {
    access.require(CHAT)?;
    if input.shared {
        access.require(MANAGE)?;
    }
    if let Some(model) = &input.model {
        models.check("model", model)?;
    }
    let name = persona_name(&input.name)?;
    let display_name = match input.display_name {
        Some(raw) => required_text("display_name", &raw, 255)?,
        None => name.clone(),
    };
    let new = NewPersona {
        owner_id: (!input.shared).then_some(access.user_id),
        name,
        display_name,
        description: optional_text("description", input.description, 2000)?,
        system_prompt: system_prompt(&input.system_prompt)?,
        default_temperature: temperature(input.default_temperature.unwrap_or(0.7))?,
        max_tokens: max_tokens(
            input.max_tokens.unwrap_or_else(|| default_max_tokens(input.model.as_deref(), models)),
            input.model.as_deref(),
            models,
        )?,
        model: input.model,
    };
    let shared = input.shared;
    store.create_persona(access.tenant_id, new).await.map_err(|error| match error {
        // Only a name the caller can already see clashes: their own personas, or the shared ones.
        DomainError::Conflict(_) if shared => DomainError::Conflict("a shared persona with this name exists".into()),
        DomainError::Conflict(_) => DomainError::Conflict("you already have a persona with this name".into()),
        other => other,
    })
}

pub async fn update(
    store: &dyn Store,
    access: &Access,
    id: PersonaId,
    patch: PersonaPatch,
    models: &ModelCatalog,
) -> DomainResult<Persona> {
    let persona = get(store, access, id).await?;
    changeable(access, &persona)?;
    if let Some(Some(model)) = &patch.model {
        models.check("model", model)?;
    }
    let model = match &patch.model {
        Some(model) => model.clone(),
        None => persona.model.clone(),
    };
    let patch = PersonaPatch {
        display_name: patch.display_name.as_deref().map(|raw| required_text("display_name", raw, 255)).transpose()?,
        system_prompt: patch.system_prompt.as_deref().map(system_prompt).transpose()?,
        description: patch.description.map(|d| optional_text("description", d, 2000)).transpose()?,
        default_temperature: patch.default_temperature.map(temperature).transpose()?,
        max_tokens: patch.max_tokens.map(|value| max_tokens(value, model.as_deref(), models)).transpose()?,
        ..patch
    };
    store.update_persona(access.tenant_id, id, patch).await
}

pub async fn delete(store: &dyn Store, access: &Access, id: PersonaId) -> DomainResult<()> {
    let persona = get(store, access, id).await?;
    changeable(access, &persona)?;
    store.delete_persona(access.tenant_id, id).await
}
