//! `tome eval DATASET_DIR`: retrieval quality on a BEIR-layout dataset (corpus.jsonl,
//! queries.jsonl, qrels/test.tsv). The corpus goes through `tome ingest` into a scratch
//! installation (a temporary SQLite data folder, or an empty PostgreSQL database given with
//! `--database-url`); every test query is then searched in each mode through the same
//! `Retriever` that serves `POST /api/v1/search`, and the document rankings are scored
//! against the judgements: nDCG@10, Recall@10, Recall@100, MRR@10, and query latency.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::{Value, json};
use tome_config::Config;
use tome_domain::accounts::{AccountInput, create_account};
use tome_domain::repo::Store;
use tome_domain::search::{Fusion, SearchMode};
use tome_rag::retrieve::{FusionSettings, MAX_LIMIT, Retriever, SearchRequest};

/// What `tome eval` was asked to do.
#[derive(Debug)]
pub struct EvalRequest {
    pub dataset: PathBuf,
    pub json: bool,
    /// Evaluate on this (empty) database instead of a scratch SQLite one.
    pub database_url: Option<String>,
    /// Only the first N test queries.
    pub max_queries: Option<usize>,
}

#[derive(Deserialize)]
struct CorpusLine {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct QueryLine {
    #[serde(rename = "_id")]
    id: String,
    text: String,
}

/// A dataset read from disk: documents, the test queries and their judgements.
struct Dataset {
    corpus: Vec<CorpusLine>,
    queries: Vec<QueryLine>,
    /// query id → (document id → graded relevance).
    qrels: HashMap<String, HashMap<String, u32>>,
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<Vec<T>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).with_context(|| format!("{}: line {}", path.display(), number + 1))?);
    }
    Ok(out)
}

fn read_dataset(dir: &Path) -> anyhow::Result<Dataset> {
    let corpus: Vec<CorpusLine> = read_jsonl(&dir.join("corpus.jsonl"))?;
    let qrels_path = dir.join("qrels").join("test.tsv");
    let text = std::fs::read_to_string(&qrels_path).with_context(|| format!("cannot read {}", qrels_path.display()))?;
    let mut qrels: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for (number, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 3 || (number == 0 && fields[2].parse::<u32>().is_err()) {
            continue; // the header
        }
        let score: u32 =
            fields[2].trim().parse().with_context(|| format!("{}: line {}", qrels_path.display(), number + 1))?;
        qrels.entry(fields[0].to_owned()).or_default().insert(fields[1].to_owned(), score);
    }
    let mut queries: Vec<QueryLine> = read_jsonl(&dir.join("queries.jsonl"))?;
    queries.retain(|query| qrels.contains_key(&query.id));
    if corpus.is_empty() || queries.is_empty() {
        bail!("{}: no documents, or no query with judgements in qrels/test.tsv", dir.display());
    }
    Ok(Dataset { corpus, queries, qrels })
}

/// Writes every corpus document as a text file (title, blank line, text) named by its
/// position; returns the folder and the corpus id of each file name.
fn write_corpus(dir: &Path, corpus: &[CorpusLine]) -> anyhow::Result<HashMap<String, String>> {
    std::fs::create_dir_all(dir)?;
    let mut names = HashMap::new();
    for (index, doc) in corpus.iter().enumerate() {
        let name = format!("{index:07}.txt");
        let body =
            if doc.title.trim().is_empty() { doc.text.clone() } else { format!("{}\n\n{}", doc.title, doc.text) };
        // An empty document would be refused; a title-less, text-less entry is kept findable by id only.
        let body = if body.trim().is_empty() { format!("document {}", doc.id) } else { body };
        std::fs::write(dir.join(&name), body)?;
        names.insert(name, doc.id.clone());
    }
    Ok(names)
}

/// The metrics of one ranked list of documents against one query's judgements.
#[derive(Default, Clone, Copy)]
struct Scores {
    ndcg10: f64,
    recall10: f64,
    recall100: f64,
    mrr10: f64,
}

fn score(ranking: &[String], judged: &HashMap<String, u32>) -> Scores {
    let relevant = judged.values().filter(|r| **r > 0).count().max(1) as f64;
    let gain = |doc: &String| f64::from(judged.get(doc).copied().unwrap_or(0));
    let dcg: f64 = ranking.iter().take(10).enumerate().map(|(i, doc)| gain(doc) / (i as f64 + 2.0).log2()).sum();
    let mut ideal: Vec<u32> = judged.values().copied().collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal.iter().take(10).enumerate().map(|(i, g)| f64::from(*g) / (i as f64 + 2.0).log2()).sum();
    let found = |k: usize| ranking.iter().take(k).filter(|doc| gain(doc) > 0.0).count() as f64;
    let first = ranking.iter().take(10).position(|doc| gain(doc) > 0.0);
    Scores {
        ndcg10: if idcg > 0.0 { dcg / idcg } else { 0.0 },
        recall10: found(10) / relevant,
        recall100: found(100) / relevant,
        mrr10: first.map_or(0.0, |p| 1.0 / (p as f64 + 1.0)),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One evaluated configuration: a name, a mode and its fusion.
struct Run {
    name: &'static str,
    mode: SearchMode,
    retriever: Retriever,
}

pub async fn run(config: Config, request: EvalRequest) -> anyhow::Result<()> {
    let dataset = read_dataset(&request.dataset)?;
    let scratch = tempfile::tempdir().context("cannot create a scratch folder")?;
    let mut scratch_config = config.clone();
    scratch_config.data_dir = scratch.path().join("data");
    let url = request
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", scratch.path().join("data/tome.db").display()));
    scratch_config.database_url = Some(url.into());
    scratch_config.storage_url = None;
    let say = |line: String| if request.json { eprintln!("{line}") } else { println!("{line}") };
    say(format!(
        "{}: {} documents, {} test queries",
        request.dataset.display(),
        dataset.corpus.len(),
        dataset.queries.len()
    ));

    let store: Arc<dyn Store> = Arc::new(crate::commands::open_store(&scratch_config).await?);
    let admin = AccountInput {
        email: "eval@example.com".into(),
        username: "eval".into(),
        name: Some("tome eval".into()),
        password: tome_domain::auth::random_secret(),
        is_active: true,
        is_superadmin: true,
        tenant_id: None,
        role: "owner".into(),
    };
    create_account(store.as_ref(), admin).await.context("cannot create the scratch installation's account")?;
    let names = write_corpus(&scratch.path().join("corpus"), &dataset.corpus)?;
    let pipeline = crate::commands::pipeline(&scratch_config, store.clone())?;
    let embedder = pipeline.embedder.clone();
    let started = Instant::now();
    let ingest = crate::ingest::IngestRequest {
        paths: vec![scratch.path().join("corpus")],
        tenant: None,
        project: None,
        user: None,
        visibility: None,
        include: Vec::new(),
        exclude: Vec::new(),
        concurrency: None,
        quiet: request.json,
    };
    crate::ingest::run(scratch_config.clone(), store.clone(), pipeline, ingest).await?;
    let ingest_seconds = started.elapsed().as_secs_f64();
    store.refresh_search().await?;

    let access = tome_domain::auth::operator_access(store.as_ref(), None, None).await?;
    let store = store.for_tenant(access.tenant_id);
    let configured = FusionSettings {
        fusion: config.search_fusion.parse().map_err(|_| anyhow::anyhow!("search_fusion must be rrf or convex"))?,
        keyword_weight: config.search_keyword_weight,
        semantic_weight: config.search_semantic_weight,
    };
    let other = FusionSettings {
        fusion: if configured.fusion == Fusion::Rrf { Fusion::Convex } else { Fusion::Rrf },
        ..configured
    };
    let mut runs =
        vec![Run { name: "keyword", mode: SearchMode::Keyword, retriever: Retriever::new(None, configured) }];
    match &embedder {
        Some(embedder) => {
            let with = |fusion| Retriever::new(Some(embedder.clone()), fusion);
            runs.push(Run { name: "semantic", mode: SearchMode::Semantic, retriever: with(configured) });
            runs.push(Run { name: "hybrid", mode: SearchMode::Hybrid, retriever: with(configured) });
            let name = if other.fusion == Fusion::Convex { "hybrid_convex" } else { "hybrid_rrf" };
            runs.push(Run { name, mode: SearchMode::Hybrid, retriever: with(other) });
        }
        None => say("no embedding model is configured: only keyword search is evaluated".into()),
    }

    let queries: Vec<&QueryLine> = dataset.queries.iter().take(request.max_queries.unwrap_or(usize::MAX)).collect();
    let mut modes = BTreeMap::new();
    let mut latency = BTreeMap::new();
    for run in &runs {
        let mut total = Scores::default();
        let mut times = Vec::with_capacity(queries.len());
        for query in &queries {
            let search = SearchRequest {
                query: query.text.clone(),
                mode: Some(run.mode),
                limit: Some(MAX_LIMIT),
                ..SearchRequest::default()
            };
            let began = Instant::now();
            let outcome = run.retriever.search(store.as_ref(), &access, search).await?;
            times.push(began.elapsed().as_secs_f64() * 1000.0);
            let mut seen = HashSet::new();
            let ranking: Vec<String> = outcome
                .results
                .iter()
                .filter_map(|result| names.get(&result.chunk.document_name).cloned())
                .filter(|doc| seen.insert(doc.clone()))
                .collect();
            let scores = score(&ranking, &dataset.qrels[&query.id]);
            total.ndcg10 += scores.ndcg10;
            total.recall10 += scores.recall10;
            total.recall100 += scores.recall100;
            total.mrr10 += scores.mrr10;
        }
        let n = queries.len().max(1) as f64;
        modes.insert(
            run.name,
            json!({
                "ndcg@10": round(total.ndcg10 / n), "recall@10": round(total.recall10 / n),
                "recall@100": round(total.recall100 / n), "mrr@10": round(total.mrr10 / n),
            }),
        );
        times.sort_by(f64::total_cmp);
        latency.insert(
            run.name,
            json!({
                "p50": round(percentile(&times, 50.0)), "p95": round(percentile(&times, 95.0)),
                "p99": round(percentile(&times, 99.0)), "max": round(times.last().copied().unwrap_or(0.0)),
            }),
        );
    }
    let report = json!({
        "dataset": request.dataset.display().to_string(),
        "documents": dataset.corpus.len(),
        "queries": queries.len(),
        "embedding_model": embedder.as_ref().map(|e| e.model_name().to_owned()),
        "fusion": {"method": configured.fusion.as_str(), "keyword_weight": configured.keyword_weight,
                   "semantic_weight": configured.semantic_weight},
        "database": store.backend(),
        "ingest_seconds": round(ingest_seconds),
        "modes": modes,
        "latency_ms": latency,
    });
    if request.json {
        println!("{report}");
    } else {
        print_table(&report);
    }
    Ok(())
}

fn round(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

fn print_table(report: &Value) {
    println!(
        "{:<14} {:>8} {:>10} {:>11} {:>8}   latency ms p50 / p95 / p99",
        "mode", "nDCG@10", "Recall@10", "Recall@100", "MRR@10"
    );
    if let (Some(modes), Some(latency)) = (report["modes"].as_object(), report["latency_ms"].as_object()) {
        for (name, m) in modes {
            let l = &latency[name];
            println!(
                "{name:<14} {:>8.4} {:>10.4} {:>11.4} {:>8.4}   {:.1} / {:.1} / {:.1}",
                m["ndcg@10"].as_f64().unwrap_or(0.0),
                m["recall@10"].as_f64().unwrap_or(0.0),
                m["recall@100"].as_f64().unwrap_or(0.0),
                m["mrr@10"].as_f64().unwrap_or(0.0),
                l["p50"].as_f64().unwrap_or(0.0),
                l["p95"].as_f64().unwrap_or(0.0),
                l["p99"].as_f64().unwrap_or(0.0),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(pairs: &[(&str, u32)]) -> HashMap<String, u32> {
        pairs.iter().map(|(d, r)| ((*d).to_owned(), *r)).collect()
    }

    fn docs(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|d| (*d).to_owned()).collect()
    }

    #[test]
    fn a_perfect_ranking_scores_one() {
        let s = score(&docs(&["a", "b", "x"]), &judged(&[("a", 1), ("b", 1)]));
        assert_eq!((s.ndcg10, s.recall10, s.recall100, s.mrr10), (1.0, 1.0, 1.0, 1.0));
    }

    #[test]
    fn metrics_follow_the_trec_definitions() {
        // Relevant at ranks 2 and 12 of two relevant documents.
        let mut ranking = docs(&["x", "a"]);
        ranking.extend((0..9).map(|i| format!("n{i}")));
        ranking.push("b".into());
        let s = score(&ranking, &judged(&[("a", 1), ("b", 1)]));
        let ideal = 1.0 + 1.0 / 3f64.log2();
        assert!((s.ndcg10 - (1.0 / 3f64.log2()) / ideal).abs() < 1e-12);
        assert_eq!((s.recall10, s.recall100, s.mrr10), (0.5, 1.0, 0.5));
        assert_eq!(score(&docs(&["x"]), &judged(&[("a", 1)])).ndcg10, 0.0);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let times: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!((percentile(&times, 50.0), percentile(&times, 99.0)), (50.0, 99.0));
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
