//! all-MiniLM-L6-v2 run in-process from the model folder that the test scripts fetch.

#![expect(clippy::unwrap_used, reason = "tests")]

use tome_models::embed::{Embedder, cosine};
use tome_models::minilm::MiniLm;

#[tokio::test]
async fn minilm_reproduces_the_reference_similarity() {
    let model = MiniLm::load(&tome_testkit::minilm_dir()).unwrap();
    assert_eq!(model.dimensions(), Some(384));
    assert_eq!(model.model_name(), "all-MiniLM-L6-v2");
    let texts = vec![
        "A man is eating food.".to_owned(),
        "A man is eating a piece of bread.".to_owned(),
        "The new movie is awesome.".to_owned(),
    ];
    let vectors = model.embed(texts).await.unwrap();
    assert_eq!(vectors.len(), 3);
    for vector in &vectors {
        let norm: f32 = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "unit length: {norm}");
    }
    let related = cosine(&vectors[0], &vectors[1]);
    assert!((related - 0.755).abs() < 0.01, "reference cosine 0.755, got {related}");
    assert!(cosine(&vectors[0], &vectors[2]) < 0.2);
}

#[tokio::test]
async fn batching_and_order_do_not_change_a_vector() {
    let model = MiniLm::load(&tome_testkit::minilm_dir()).unwrap();
    let long = "Retrieval quality depends on the passages found. ".repeat(40);
    let texts: Vec<String> =
        (0..40).map(|i| if i == 7 { long.clone() } else { format!("sentence number {i}") }).collect();
    let together = model.embed(texts.clone()).await.unwrap();
    let alone = model.embed(vec![texts[3].clone(), long]).await.unwrap();
    assert!(cosine(&together[3], &alone[0]) > 0.9999);
    assert!(cosine(&together[7], &alone[1]) > 0.9999);
    let counter = model.token_counter().unwrap();
    assert_eq!(counter.count("A man is eating food."), 8, "[CLS] a man is eating food . [SEP]");
    assert!(counter.count(&texts[7]) > 256, "counting does not truncate");
}
