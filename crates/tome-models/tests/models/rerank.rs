//! The `/v1/rerank` client against a loopback server that speaks the real protocol: scores
//! come back best first and are put back in passage order; 5xx is retried; a refused
//! request (unknown model) says why; an unreachable server is an error after the last try.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use tome_models::rerank::{RemoteReranker, RerankSettings};
use tome_testkit::rerank::{RERANK_MODEL, StubReranker};

fn reranker(base_url: &str, model: &str) -> RemoteReranker {
    let mut settings = RerankSettings::new(base_url, model);
    settings.backoff = Duration::from_millis(10);
    settings.api_key = Some("rk-test".into());
    RemoteReranker::new(settings).unwrap()
}

fn passages() -> Vec<String> {
    ["no match here", "tea, tea and more tea", "one tea"].iter().map(|p| (*p).to_owned()).collect()
}

#[tokio::test]
async fn scores_come_back_in_passage_order_after_a_retry() {
    let stub = StubReranker::start("tea", 1).await;
    let scores = reranker(&stub.base_url, RERANK_MODEL).scores("tea", &passages()).await.unwrap();
    // The server answers best first (index 1, 2, 0): the client puts them back.
    assert_eq!(scores, [0.0, 3.0, 1.0]);
    let requests = stub.requests();
    assert_eq!(requests.len(), 2, "one 500, then the answer");
    assert_eq!(requests[1]["query"], "tea");
    assert_eq!(requests[1]["documents"].as_array().unwrap().len(), 3);
    assert_eq!(requests[1]["top_n"], 3);
}

#[tokio::test]
async fn a_refused_request_says_why_and_is_not_retried() {
    let stub = StubReranker::start("tea", 0).await;
    let error = reranker(&stub.base_url, "no-such-model").scores("tea", &passages()).await.unwrap_err().to_string();
    assert!(error.contains("404") && error.contains("model not found"), "{error}");
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_after_the_last_attempt() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let error = reranker(&format!("http://127.0.0.1:{port}/v1"), RERANK_MODEL)
        .scores("tea", &passages())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("after 3 attempts"), "{error}");
}

#[tokio::test]
async fn no_passages_need_no_request() {
    let stub = StubReranker::start("tea", 0).await;
    assert!(reranker(&stub.base_url, RERANK_MODEL).scores("tea", &[]).await.unwrap().is_empty());
    assert!(stub.requests().is_empty());
}
