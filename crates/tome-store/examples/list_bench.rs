//! How fast document lists are at 100,000 documents, on SQLite and on PostgreSQL (the test
//! server of `scripts/pg`): the first page, a page deep in the cursor chain, a status
//! filter, a visibility-and-owner filter (what a member's list is), and a name search.
//!
//!   scripts/bench-lists [DOCS]        (wraps `cargo run --release -p tome-store --example list_bench`)

use std::time::Instant;

use tome_domain::knowledge::{DocumentFilter, DocumentPatch, DocumentStatus, DocumentType, NewDocument, Visibility};
use tome_domain::repo::{KnowledgeRepo, StoreAdmin, TenantRepo, UserRepo};
use tome_domain::{DocumentId, PageRequest, TenantId, UserId};
use tome_testkit::TestDb;

const PAGE: u32 = 50;
const RUNS: usize = 50;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let docs: usize = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(100_000);
    for db in [Some(TestDb::sqlite().await), TestDb::postgres().await].into_iter().flatten() {
        let store = db.store.clone();
        let (tenant, owner) = fill(&store, docs).await?;
        println!("== {} with {docs} documents (page of {PAGE}, median of {RUNS} runs)", store.backend());
        let member = DocumentFilter { readable_by: Some(owner), ..DocumentFilter::default() };
        let cases: Vec<(&str, DocumentFilter)> = vec![
            ("first page", DocumentFilter::default()),
            ("first page as a member (tenant or own private)", member.clone()),
            ("status = error", DocumentFilter { status: Some(DocumentStatus::Error), ..DocumentFilter::default() }),
            ("name contains \"report-4242\"", DocumentFilter { name_contains: Some("report-4242".into()), ..member }),
        ];
        for (name, filter) in cases {
            let millis =
                median(RUNS, || store.list_documents(tenant, filter.clone(), PageRequest::first(PAGE))).await?;
            println!("{name:<50} {millis:>8.2} ms");
        }
        // Walk 1,000 pages deep, then time the next page.
        let mut page = PageRequest::first(PAGE);
        for _ in 0..(docs / PAGE as usize / 2).min(1000) {
            let found = store.list_documents(tenant, DocumentFilter::default(), page).await?;
            page = PageRequest::parse(Some(PAGE), found.next_cursor.as_deref())?;
        }
        let millis = median(RUNS, || store.list_documents(tenant, DocumentFilter::default(), page)).await?;
        println!("{:<50} {millis:>8.2} ms", "a page halfway down the cursor chain");
    }
    Ok(())
}

async fn median<F, Fut, T>(runs: usize, mut call: F) -> Result<f64, Box<dyn std::error::Error>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = tome_domain::DomainResult<T>>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        call().await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[runs / 2])
}

/// One tenant holding `docs` documents of two owners; every 50th is private, every 100th
/// failed.
async fn fill(store: &tome_store::SqlStore, docs: usize) -> Result<(TenantId, UserId), Box<dyn std::error::Error>> {
    let tenant = store.default_tenant().await?.id;
    let mut owners = Vec::new();
    for name in ["ada", "linus"] {
        let user = tome_domain::identity::NewUser {
            email: tome_domain::validate::Email::parse(&format!("{name}@example.com"))?,
            username: tome_domain::validate::Username::parse(name)?,
            name: None,
            password_hash: "x".into(),
            is_active: true,
            is_superadmin: false,
        };
        owners.push(store.create_user(user).await?.id);
    }
    let started = Instant::now();
    for i in 0..docs {
        let new = NewDocument {
            owner_id: Some(owners[i % 2]),
            project_id: None,
            visibility: if i % 50 == 0 { Visibility::Private } else { Visibility::Tenant },
            original_name: format!("report-{i}.pdf"),
            storage_key: format!("k/{i}"),
            mime_type: "application/pdf".into(),
            size_bytes: 1000,
            sha256: format!("{i:064x}"),
            document_type: DocumentType::GeneralDocument,
        };
        let document: DocumentId = store.create_document(tenant, new).await?.id;
        if i % 100 == 0 {
            let failed = DocumentPatch { status: Some(DocumentStatus::Error), ..DocumentPatch::default() };
            store.update_document(tenant, document, failed).await?;
        }
    }
    eprintln!("inserted {docs} documents in {:.0} s", started.elapsed().as_secs_f64());
    Ok((tenant, owners[0]))
}
