//! Streamed answers that outlive their connection. A streamed turn is driven by a task of
//! its own that writes every event into a log kept under the question's id; the HTTP stream
//! only reads that log. A client that reloads or loses its connection re-attaches with
//! `GET /api/v1/messages/{id}/events` (and `Last-Event-ID`) and gets what it missed, then
//! the rest as it comes. Only `POST /api/v1/messages/{id}/cancel` ends a generation early.
//!
//! The log lives in this process: a client re-attaching through another node of the same
//! database gets 404 and reads the stored answer once it is done.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tome_domain::{TenantId, UserId};
use tome_rag::chat::assistant::{Turn, TurnEvent};
use uuid::Uuid;

/// How long a finished turn's log can still be re-attached to.
const KEEP_FINISHED: Duration = Duration::from_secs(300);

/// One event as sent: its name and JSON data.
pub type Wire = Arc<(&'static str, String)>;

/// The events of one turn so far, and whether it has ended.
pub struct TurnLog {
    tenant: TenantId,
    user: UserId,
    events: Mutex<Vec<Wire>>,
    /// The number of events, and whether the turn has ended.
    progress: watch::Sender<(usize, bool)>,
    cancel: watch::Sender<bool>,
}

impl TurnLog {
    fn push(&self, event: Wire) {
        let count = match self.events.lock() {
            Ok(mut events) => {
                events.push(event);
                events.len()
            }
            Err(_) => return,
        };
        self.progress.send_replace((count, false));
    }

    fn finish(&self) {
        let count = self.events.lock().map(|events| events.len()).unwrap_or_default();
        self.progress.send_replace((count, true));
    }

    /// The events after the first `seen`, and whether the turn has ended.
    pub fn since(&self, seen: usize) -> (Vec<Wire>, bool) {
        let ended = self.progress.borrow().1;
        let events = self.events.lock().map(|events| events.iter().skip(seen).cloned().collect()).unwrap_or_default();
        (events, ended)
    }

    /// Waits until there is more than `seen` events or the turn has ended.
    pub async fn wait(&self, seen: usize) {
        let mut progress = self.progress.subscribe();
        let _ = progress.wait_for(|(count, ended)| *count > seen || *ended).await;
    }
}

/// The turns of this process, by question id.
#[derive(Default)]
pub struct TurnHub {
    turns: Mutex<HashMap<Uuid, Arc<TurnLog>>>,
}

impl TurnHub {
    /// Drives `turn` to its end in a task of its own, logging each event under the question's
    /// id (the id of the first event's message). Returns that id and the log.
    pub async fn start(
        self: &Arc<Self>,
        mut turn: Turn,
        tenant: TenantId,
        user: UserId,
        wire: fn(TurnEvent) -> Wire,
    ) -> Option<(Uuid, Arc<TurnLog>)> {
        let first = turn.next().await?;
        let TurnEvent::Message(question) = &first else {
            // A turn that ends before it stored the question: nothing to re-attach to.
            let (progress, _) = watch::channel((0, false));
            let (cancel, _) = watch::channel(false);
            let log = Arc::new(TurnLog { tenant, user, events: Mutex::default(), progress, cancel });
            log.push(wire(first));
            log.finish();
            return Some((Uuid::nil(), log));
        };
        let id = question.id.0;
        let (progress, _) = watch::channel((0, false));
        let (cancel, _) = watch::channel(false);
        let log = Arc::new(TurnLog { tenant, user, events: Mutex::default(), progress, cancel });
        log.push(wire(first));
        if let Ok(mut turns) = self.turns.lock() {
            turns.insert(id, Arc::clone(&log));
        }
        let hub = Arc::clone(self);
        let driven = Arc::clone(&log);
        tokio::spawn(async move {
            let mut cancelled = driven.cancel.subscribe();
            loop {
                tokio::select! {
                    event = turn.next() => match event {
                        Some(event) => driven.push(wire(event)),
                        None => break,
                    },
                    _ = cancelled.wait_for(|stop| *stop) => {
                        // Dropping the turn stops the model; the partial answer is stored,
                        // marked cancelled.
                        drop(turn);
                        driven.push(Arc::new(("cancelled", "{}".to_owned())));
                        break;
                    }
                }
            }
            driven.finish();
            tokio::time::sleep(KEEP_FINISHED).await;
            if let Ok(mut turns) = hub.turns.lock()
                && turns.get(&id).is_some_and(|kept| Arc::ptr_eq(kept, &driven))
            {
                turns.remove(&id);
            }
        });
        Some((id, log))
    }

    /// The log of the turn that answers question `id`, if `user` of `tenant` asked it.
    pub fn find(&self, id: Uuid, tenant: TenantId, user: UserId) -> Option<Arc<TurnLog>> {
        let turns = self.turns.lock().ok()?;
        turns.get(&id).filter(|log| log.tenant == tenant && log.user == user).cloned()
    }

    /// Asks the turn answering question `id` to stop; false when there is none of `user`'s.
    pub fn cancel(&self, id: Uuid, tenant: TenantId, user: UserId) -> bool {
        match self.find(id, tenant, user) {
            Some(log) => {
                log.cancel.send_replace(true);
                true
            }
            None => false,
        }
    }
}
