//! Tome's HTTP API: the axum router with its middleware (request ids, tracing, metrics,
//! timeouts, body limits, panics and bare errors turned into the error envelope), the
//! generated OpenAPI document, and a server that shuts down gracefully.
//!
//! Handlers extract, call one domain function, and map the result; no SQL and no business
//! rule lives here.

pub mod auth;
pub mod browser;
pub mod error;
pub mod extract;
mod form;
pub mod guard;
pub mod limits;
pub mod mail;
pub mod metrics;
mod openapi_answers;
pub mod rates;
pub mod routes;
mod server;
pub mod turn_hub;
pub mod web;

pub use server::{ServeOptions, serve, serve_with};

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use axum::response::Response;
use secrecy::ExposeSecret;
use tome_config::{Config, SignupMode};
use tome_domain::auth::{AuthSettings, Signup, Tokens};
use tome_domain::auth_cache::AuthCache;
use tome_domain::outbox::StorageQuota;
use tome_domain::passwords::Mailer;
use tome_domain::repo::Store;
use tome_models::chat::ChatModel;
use tome_models::embed::Embedder;
use tome_models::rerank::{RemoteReranker, RerankSettings};
use tome_rag::chat::assistant::Assistant;
use tome_rag::intake::Intake;
use tome_rag::retrieve::{FusionSettings, Reranker, Retriever};
use tome_rag::storage::FileStore;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{code_for_status, envelope};
use crate::limits::{LimitSettings, Limits};
use crate::metrics::Metrics;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub tokens: Arc<Tokens>,
    /// What credentials resolved to, valid while the auth epoch stays (see `auth_cache`).
    pub auth_cache: Arc<AuthCache>,
    pub auth: Arc<AuthSettings>,
    /// Password-reset mail: the log unless replaced (SMTP, or an outbox in tests).
    pub mailer: Arc<dyn Mailer>,
    /// Attempt limits on login and password reset.
    pub limits: Arc<Limits>,
    /// Request rates of costly actions, per account and client address (`TOME_RATE_LIMITS`).
    pub rates: Arc<rates::Rates>,
    /// Uploads: where files go and how large they may be.
    pub intake: Intake,
    /// Searches: the query embedder and fusion settings (keyword only until one is set).
    pub retriever: Retriever,
    /// Chat: retrieval plus the chat models offered (the extractive answerer until others
    /// are set).
    pub assistant: Assistant,
    /// Peers whose `X-Forwarded-For` names the client (`TOME_TRUSTED_PROXIES`).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    /// How the browser session cookie is written and which origin may use it
    /// (`TOME_PUBLIC_URL`).
    pub cookies: Arc<browser::CookiePolicy>,
    /// Streamed answers being written, which clients can re-attach to.
    pub turns: Arc<turn_hub::TurnHub>,
}

impl AppState {
    /// `signing_key` signs access tokens (from `TOME_JWT_SECRET` or the data folder).
    /// The state of a server; fails when a configured backend (the SMTP URL) is unusable.
    pub fn new(store: Arc<dyn Store>, config: Config, signing_key: &[u8]) -> Result<Self, String> {
        let mailer = mail::from_config(&config)?;
        let files = FileStore::open(config.storage_url.as_deref(), &config.data_dir.join("files"))
            .map_err(|error| error.to_string())?;
        let intake = Intake::new(files, config.max_upload_bytes)
            .with_quota(StorageQuota { max_documents: config.quota_documents, max_bytes: config.quota_storage_bytes });
        let fusion = FusionSettings {
            fusion: config.search_fusion.parse().map_err(|_| {
                format!(
                    "invalid configuration: search_fusion (TOME_SEARCH_FUSION) must be rrf or convex, not {:?}",
                    config.search_fusion
                )
            })?,
            keyword_weight: config.search_keyword_weight,
            semantic_weight: config.search_semantic_weight,
        };
        if !(fusion.keyword_weight >= 0.0 && fusion.semantic_weight >= 0.0) {
            return Err("invalid configuration: search weights must be zero or more".to_owned());
        }
        let mut retriever = Retriever::new(None, fusion);
        if let Some(reranker) = reranker(&config)? {
            retriever = retriever.with_reranker(reranker, config.rerank_depth as usize);
        }
        let auth = AuthSettings {
            signup: match config.signup {
                SignupMode::Open => Signup::Open,
                SignupMode::Approval => Signup::Approval,
                SignupMode::Closed => Signup::Closed,
            },
            keyring: match &config.secret_key {
                Some(key) => tome_domain::secrets::Keyring::parse(key.expose_secret())
                    .map_err(|reason| format!("invalid configuration: key `secret_key` (TOME_SECRET_KEY) {reason}"))?,
                None => tome_domain::secrets::Keyring::generate(),
            },
            ..AuthSettings::default()
        };
        let trusted_proxies = Arc::new(auth::parse_trusted_proxies(config.trusted_proxies.as_deref())?);
        let cookies = Arc::new(browser::CookiePolicy::from_public_url(config.public_url.as_deref())?);
        let config_rates = config.rate_limits.clone();
        let tokens_per_day = config.quota_tokens_per_day;
        Ok(Self {
            trusted_proxies,
            cookies,
            turns: Arc::default(),
            store,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::new()),
            tokens: Arc::new(Tokens::new(signing_key)),
            auth_cache: Arc::new(AuthCache::default()),
            auth: Arc::new(auth),
            mailer,
            limits: Arc::new(Limits::new(LimitSettings::default())),
            rates: Arc::new(rates::Rates::new(&rates::parse_rates(config_rates.as_deref())?)),
            intake,
            assistant: Assistant::new(retriever.clone(), Vec::new()).with_token_quota(tokens_per_day),
            retriever,
        })
    }

    /// Counts one `action` by `user` (when known) from the client's address: 429 with
    /// `Retry-After` once either rate is spent.
    pub fn spend(
        &self,
        action: rates::Action,
        client: &tome_domain::auth::ClientInfo,
        user: Option<tome_domain::UserId>,
    ) -> Result<(), crate::error::ApiError> {
        self.rates.spend(action, client.ip.as_deref(), user.map(|id| id.to_string()).as_deref())
    }

    /// Second-factor secrets are sealed with `keyring` (the server's `TOME_SECRET_KEY`).
    pub fn with_keyring(mut self, keyring: tome_domain::secrets::Keyring) -> Self {
        let mut auth = (*self.auth).clone();
        auth.keyring = keyring;
        self.auth = Arc::new(auth);
        self
    }

    /// Searches embed their queries with `embedder` (the ingestion pipeline's), enabling
    /// semantic and hybrid search.
    pub fn with_embedder(mut self, embedder: Option<Arc<dyn Embedder>>) -> Self {
        self.retriever = self.retriever.with_embedder(embedder);
        self.assistant = self.assistant.with_retriever(self.retriever.clone());
        self
    }

    /// Chat answers with `models` (the first is the default); the extractive answerer stays
    /// offered after them.
    pub fn with_chat_models(mut self, models: Vec<Arc<dyn ChatModel>>) -> Self {
        self.assistant =
            Assistant::new(self.retriever.clone(), models).with_token_quota(self.config.quota_tokens_per_day);
        self
    }
}

/// The reranker of `rerank_base_url`, if one is configured.
fn reranker(config: &Config) -> Result<Option<Arc<dyn Reranker>>, String> {
    let Some(base_url) = &config.rerank_base_url else { return Ok(None) };
    let Some(model) = &config.rerank_model else {
        return Err("invalid configuration: rerank_base_url (TOME_RERANK_BASE_URL) is set, so rerank_model \
                    (TOME_RERANK_MODEL) must name the server's reranking model"
            .to_owned());
    };
    if config.rerank_depth == 0 {
        return Err("invalid configuration: rerank_depth (TOME_RERANK_DEPTH) must be at least 1".to_owned());
    }
    let mut settings = RerankSettings::new(base_url.clone(), model.clone());
    settings.api_key = config.rerank_api_key.as_ref().map(|key| key.expose_secret().to_owned());
    let reranker = RemoteReranker::new(settings).map_err(|error| error.to_string())?;
    tracing::info!(base_url = %tome_config::redact_url(base_url), model, depth = config.rerank_depth, "reranking with a server");
    Ok(Some(Arc::new(reranker)))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tome",
        description = "Self-hosted, multi-tenant knowledge assistant. Errors answer \
        `{\"error\": {\"code\", \"message\"}}`; lists take `?limit=&cursor=` and answer \
        `{\"items\": [...], \"next_cursor\": …}`."
    ),
    components(schemas(error::ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts, login, sessions, API keys"),
        (name = "users", description = "Administering accounts"),
        (name = "tenants", description = "Tenants and their members"),
        (name = "system", description = "Health, readiness, metrics"),
        (name = "access", description = "Roles and permissions"),
        (name = "documents", description = "Uploading documents and reading what was extracted"),
        (name = "jobs", description = "The background job queue (superadmins)"),
        (name = "search", description = "Hybrid retrieval over the documents the caller may read"),
        (name = "chat", description = "Conversations, grounded answers with citations, personas, feedback, usage"),
        (name = "openai", description = "OpenAI-compatible API: chat completions, models, embeddings"),
        (name = "transcriptions", description = "Recordings to timed transcripts and meeting minutes, added as documents"),
    )
)]
struct ApiDoc;

/// Declares the `bearer` security scheme that authenticated routes name.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT or API key").build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The routes and their OpenAPI document.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::health::router())
        .merge(routes::auth::router())
        .merge(routes::browser::router())
        .merge(routes::passwords::router())
        .merge(routes::api_keys::router())
        .merge(routes::users::router())
        .merge(routes::tenants::router())
        .merge(routes::members::router())
        .merge(routes::invitations::router())
        .merge(routes::roles::router())
        .merge(routes::audit::router())
        .merge(routes::settings::router())
        .merge(routes::permissions::router())
        .merge(routes::folders::router())
        .merge(routes::projects::router())
        .merge(routes::social_links::router())
        .merge(routes::avatar::router())
        .merge(routes::two_factor::router())
        .merge(routes::documents::router())
        .merge(routes::document_text::router())
        .merge(routes::jobs::router())
        .merge(routes::search::router())
        .merge(routes::personas::router())
        .merge(routes::conversations::router())
        .merge(routes::messages::router())
        .merge(routes::feedback::router())
        .merge(routes::usage::router())
        .merge(routes::objects::router())
        .merge(routes::transcriptions::router())
        .merge(routes::openai::router());
    let (router, mut doc) = api.split_for_parts();
    openapi_answers::add(&mut doc);
    (router, doc)
}

/// The OpenAPI document generated from the code.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().1
}

/// The whole application: routes, docs, middleware, state.
pub fn router(state: AppState) -> Router {
    router_with(Router::new(), state)
}

/// The application with `extra` routes mounted inside the same middleware stack (limits,
/// timeouts, envelope, metrics). Used by tests to exercise the middleware with probe routes.
pub fn router_with(extra: Router<AppState>, state: AppState) -> Router {
    let (api, openapi) = api();
    let api = api.merge(extra);
    let limits = guard::TimeLimits {
        request: Duration::from_secs(state.config.request_timeout_secs),
        upload: Duration::from_secs(state.config.upload_timeout_secs),
    };
    let body_limit = usize::try_from(state.config.max_body_bytes).unwrap_or(usize::MAX);
    let metrics = state.metrics.clone();
    let middleware = ServiceBuilder::new()
        .layer(CatchPanicLayer::custom(|_| {
            envelope(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error", None)
        }))
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
        .layer(from_fn(guard::security_headers))
        .layer(from_fn(guard::bound_request_id))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let request_id = request.headers().get(REQUEST_ID).and_then(|value| value.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(map_response(bare_errors_in_envelope))
        .layer(from_fn(move |request, next| guard::time_limit(limits, request, next)))
        .layer(DefaultBodyLimit::max(body_limit));
    api.merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", openapi))
        .route_layer(from_fn_with_state(metrics, metrics::track))
        .fallback(fallback)
        .layer(middleware)
        .with_state(state)
}

/// Page paths and built files of the web app (see `web`); any other unknown route: 404 in
/// the envelope, counted under the route `unmatched`.
async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    if web::is_app_path(request.method(), request.uri().path()) {
        let response = web::respond(request.uri().path(), request.headers());
        metrics::track_web(&state.metrics, request.method().as_str(), response.status().as_u16());
        return response;
    }
    let response = envelope(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {} {}", request.method(), request.uri().path()),
        None,
    );
    metrics::track_unmatched(&state.metrics, request.method().as_str(), response.status().as_u16());
    response
}

/// Gives error responses that carry no body of ours (axum's 405, the timeout's 408, the
/// body limit's 413) the envelope, so that clients see one error format everywhere.
async fn bare_errors_in_envelope(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let message = status.canonical_reason().unwrap_or("error").to_owned();
    let mut replaced = envelope(status, code_for_status(status), message, None);
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = response.headers().get(&name) {
            replaced.headers_mut().insert(name, value.clone());
        }
    }
    replaced
}
