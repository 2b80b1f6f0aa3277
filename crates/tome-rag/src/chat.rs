//! Chat: a question in, a grounded answer out. `assistant` runs a turn (retrieve over what the
//! asker may read → prompt → generation → stored answer with citations), `prompt` fits the
//! prompt into the model's context, `citations` numbers the passages and keeps the answer's
//! `[n]` markers honest, `extractive` answers when no language model is configured, `tools` runs
//! the tools a model calls, and `purge` removes deleted conversations.

pub mod assistant;
pub mod citations;
pub mod extractive;
pub mod prompt;
pub mod purge;
pub mod tools;
