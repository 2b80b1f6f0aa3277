//! Retrieval at scale on synthetic data: CHUNKS chunks (default 100,000) of 120 words drawn
//! from a Zipf-distributed vocabulary, with 384-dimensional vectors clustered around 2,000
//! topics, in one tenant. For the embedded backend (SQLite + the in-process tantivy and HNSW
//! indexes) and PostgreSQL (full-text + pgvector HNSW) it prints: load time, index build times,
//! memory (or disk) per chunk, hybrid query latency p50/p99 (keyword and vector rankings
//! 100 deep side by side, fused, the top 10 read back), and ANN recall@10 against exact search.
//!
//!   scripts/bench-search [CHUNKS] [sqlite|postgres|both]

use std::time::Instant;

use sqlx::Connection;
use tome_domain::ChunkId;
use tome_domain::identity::{NewTenant, NewUser};
use tome_domain::repo::{SearchRepo, StoreAdmin, TenantRepo, UserRepo};
use tome_domain::search::{Fusion, RankedChunk, SearchScope, fuse};
use tome_domain::validate::{Email, Slug, Username};
use tome_store::{Backend, SqlStore};
use tome_testkit::TestDb;
use tome_testkit::corpus::{self, Corpus, DIMS, Error, MODEL, Rng, TOPICS, WORDS_PER_CHUNK, percentile};

/// Hybrid queries timed (`BENCH_QUERIES` overrides, for a longer window to profile).
fn queries() -> usize {
    std::env::var("BENCH_QUERIES").ok().and_then(|n| n.parse().ok()).unwrap_or(200)
}

/// A tenant and reader of its own for the benchmark's chunks.
async fn reader(store: &SqlStore) -> Result<SearchScope, Error> {
    let new_tenant =
        NewTenant { name: "Bench".into(), slug: Slug::from_name("bench")?, description: None, is_default: false };
    let tenant = store.create_tenant(new_tenant).await?;
    let user = store
        .create_user(NewUser {
            email: Email::parse("bench@example.com")?,
            username: Username::parse("bench")?,
            name: None,
            password_hash: "x".into(),
            is_active: true,
            is_superadmin: false,
        })
        .await?;
    Ok(SearchScope::reader(tenant.id, user.id))
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The exact top 10 by cosine (the vectors are unit length: dot products).
fn exact_top10(vectors: &[Vec<f32>], query: &[f32]) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> =
        vectors.iter().enumerate().map(|(i, v)| (v.iter().zip(query).map(|(a, b)| a * b).sum(), i)).collect();
    scored.select_nth_unstable_by(10, |a, b| b.0.total_cmp(&a.0));
    scored.truncate(10);
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().map(|(_, i)| i).collect()
}

async fn bench(db: &TestDb, chunks: usize) -> Result<(), Error> {
    let store = db.store.clone();
    let mut rng = Rng(42);
    let corpus = Corpus::new(&mut rng);
    println!("== {} with {chunks} chunks ({DIMS}-dimensional vectors, {WORDS_PER_CHUNK} words each)", store.backend());
    let scope = reader(&store).await?;
    let loaded = corpus::load(&store, &corpus, chunks, &mut rng, scope.tenant, scope.reader).await?;
    let count = queries();
    let queries: Vec<(String, Vec<f32>)> =
        (0..count).map(|_| (corpus.query(&mut rng), corpus.near(rng.below(TOPICS), &mut rng))).collect();

    // The embedded keyword index is built from the database by the first keyword search.
    if store.backend_kind() == Backend::Sqlite {
        let before = rss_mib();
        let started = Instant::now();
        store.keyword_search(&scope, &["build".to_owned()], 1).await?;
        let build = started.elapsed().as_secs_f64();
        println!(
            "keyword index build: {build:.1} s ({:.0} chunks/s), {:.0} bytes/chunk in RAM",
            chunks as f64 / build,
            (rss_mib() - before) * 1024.0 * 1024.0 / chunks as f64
        );
    }

    // Build the vector index: the embedded one from the database; pgvector's as `tome migrate`
    // and `tome serve` do (it may have been started in the background by the first vectors).
    let before = rss_mib();
    let started = Instant::now();
    if store.backend_kind() == Backend::Postgres {
        let mut connection = sqlx::PgConnection::connect(&db.url).await?;
        // pgvector builds fast only while the graph fits in maintenance_work_mem.
        let name: (String,) = sqlx::query_as("SELECT current_database()").fetch_one(&mut connection).await?;
        let _ = sqlx::query(&format!("ALTER DATABASE {} SET maintenance_work_mem = '2GB'", name.0))
            .execute(&mut connection)
            .await;
    }
    store.refresh_search().await?;
    let build = started.elapsed().as_secs_f64();
    println!("vector index build: {build:.1} s ({:.0} vectors/s)", chunks as f64 / build);
    match store.backend_kind() {
        Backend::Sqlite => {
            let index_mib = rss_mib() - before;
            let file = std::fs::metadata(db.dir.path().join("tome.db")).map(|m| m.len()).unwrap_or(0)
                + std::fs::metadata(db.dir.path().join("tome.db-wal")).map(|m| m.len()).unwrap_or(0);
            println!(
                "memory: vector index {:.0} bytes/chunk in RAM; database file {:.0} bytes/chunk on disk",
                index_mib * 1024.0 * 1024.0 / chunks as f64,
                file as f64 / chunks as f64
            );
        }
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&db.url).await?;
            let sizes: Vec<(String, i64)> = sqlx::query_as(
                "SELECT c.relname::text, pg_relation_size(c.oid) FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid \
                 WHERE i.indrelid = 'document_chunks'::regclass",
            )
            .fetch_all(&mut connection)
            .await?;
            let table: (i64,) =
                sqlx::query_as("SELECT pg_table_size('document_chunks')").fetch_one(&mut connection).await?;
            for (name, bytes) in sizes.iter().filter(|(name, _)| name.contains("hnsw") || name.contains("search")) {
                println!("index {name}: {:.0} bytes/chunk on disk", *bytes as f64 / chunks as f64);
            }
            println!(
                "table (rows, text, vectors, tsvector): {:.0} bytes/chunk on disk",
                table.0 as f64 / chunks as f64
            );
        }
    }

    // Hybrid queries: both rankings 100 deep (side by side), fused, the top 10 read back.
    let mut times = Vec::with_capacity(count);
    let (mut keyword_times, mut vector_times) = (Vec::with_capacity(count), Vec::with_capacity(count));
    let mut matched = 0usize;
    for (text, vector) in &queries {
        let started = Instant::now();
        let terms = tome_domain::search::keywords(text);
        // Side by side, as the retriever runs them.
        let keyword_ranking = async {
            let started = Instant::now();
            let ranking = store.keyword_search(&scope, &terms, 100).await;
            (ranking, started.elapsed().as_secs_f64() * 1000.0)
        };
        let vector_ranking = async {
            let started = Instant::now();
            let ranking = store.vector_search(&scope, MODEL, vector, 100).await;
            (ranking, started.elapsed().as_secs_f64() * 1000.0)
        };
        let ((keyword, keyword_ms), (semantic, vector_ms)) = tokio::join!(keyword_ranking, vector_ranking);
        let (keyword, semantic) = (keyword?, semantic?);
        keyword_times.push(keyword_ms);
        vector_times.push(vector_ms);
        let fused: Vec<RankedChunk> = fuse(&[(&keyword, 1.0), (&semantic, 1.0)], Fusion::Rrf);
        let top: Vec<ChunkId> = fused.iter().take(10).map(|r| r.chunk_id).collect();
        let hits = store.chunk_hits(scope.tenant, &top).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        matched += keyword.len();
        assert_eq!(hits.len(), top.len());
    }
    times.sort_by(f64::total_cmp);
    keyword_times.sort_by(f64::total_cmp);
    vector_times.sort_by(f64::total_cmp);
    println!(
        "hybrid query: p50 {:.2} ms, p99 {:.2} ms ({count} queries; {:.0} keyword matches per query on average)",
        percentile(&times, 50.0),
        percentile(&times, 99.0),
        matched as f64 / count as f64
    );
    println!(
        "  of which: keyword ranking p50 {:.2} ms, p99 {:.2} ms; vector ranking p50 {:.2} ms, p99 {:.2} ms",
        percentile(&keyword_times, 50.0),
        percentile(&keyword_times, 99.0),
        percentile(&vector_times, 50.0),
        percentile(&vector_times, 99.0)
    );

    // ANN recall@10 against exact search.
    let position: std::collections::HashMap<ChunkId, usize> =
        loaded.ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut recall = 0.0;
    let sample = 100.min(count);
    for (_, vector) in queries.iter().take(sample) {
        let exact = exact_top10(&loaded.vectors, vector);
        let found = store.vector_search(&scope, MODEL, vector, 10).await?;
        let found: Vec<usize> = found.iter().filter_map(|r| position.get(&r.chunk_id).copied()).collect();
        recall += exact.iter().filter(|i| found.contains(i)).count() as f64 / 10.0;
    }
    println!("ANN recall@10 against exact search: {:.3} ({sample} queries)", recall / sample as f64);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let chunks: usize = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(100_000);
    let which = std::env::args().nth(2).unwrap_or_else(|| "both".into());
    if which == "sqlite" || which == "both" {
        bench(&TestDb::sqlite().await, chunks).await?;
    }
    if which == "postgres" || which == "both" {
        match TestDb::postgres().await {
            Some(db) => bench(&db, chunks).await?,
            None => println!("PostgreSQL skipped (TOME_TEST_POSTGRES=skip)"),
        }
    }
    Ok(())
}
