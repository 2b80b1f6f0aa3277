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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_each_get_their_own_vectors() {
    let model = MiniLm::load(&tome_testkit::minilm_dir()).unwrap();
    let requests: Vec<Vec<String>> = (0..12)
        .map(|i| (0..=(i % 3)).map(|j| format!("Document {i}, chunk {j}: the committee met on day {i}.")).collect())
        .collect();
    // Alone, one at a time…
    let mut alone = Vec::new();
    for texts in &requests {
        alone.push(model.embed(texts.clone()).await.unwrap());
    }
    // …and all at once, so that the embedding thread joins them into shared batches.
    let calls = requests.iter().map(|texts| {
        let model = model.clone();
        let texts = texts.clone();
        tokio::spawn(async move { model.embed(texts).await })
    });
    let together: Vec<Vec<Vec<f32>>> =
        futures::future::join_all(calls).await.into_iter().map(|r| r.unwrap().unwrap()).collect();
    for (one, other) in alone.iter().zip(&together) {
        assert_eq!(one.len(), other.len());
        for (a, b) in one.iter().zip(other) {
            assert!(cosine(a, b) > 0.9999, "a caller got another caller's vector");
        }
    }
    assert!(model.embed(Vec::new()).await.unwrap().is_empty());
}

/// The packed encoder (`tome_models::bert`) against candle's reference `BertModel` on the
/// same weights: each text alone through candle, mean-pooled and scaled to unit length.
#[tokio::test]
async fn the_packed_encoder_agrees_with_candles_bert() {
    use candle_core::{DType, Device, Tensor};
    use candle_transformers::models::bert::{BertModel, Config};

    let dir = tome_testkit::minilm_dir();
    let config: Config = serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let tensors = candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu).unwrap();
    let reference =
        BertModel::load(candle_nn::VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu), &config).unwrap();
    let mut tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    tokenizer.with_truncation(Some(tokenizers::TruncationParams { max_length: 256, ..Default::default() })).unwrap();
    tokenizer.with_padding(None);

    let texts: Vec<String> = vec![
        "Tome answers from the organization's documents.".into(),
        "Über die Brücke gehen: naïve café façades, 東京 and emoji 🎉.".into(),
        "x".into(),
        "The committee's minutes, paragraph after paragraph, run past the model's limit. ".repeat(30),
        "Quarterly revenue rose 12% while operating costs fell.".into(),
    ];
    let model = MiniLm::load(&dir).unwrap();
    let packed = model.embed(texts.clone()).await.unwrap();
    for (text, ours) in texts.iter().zip(&packed) {
        let ids = tokenizer.encode(text.as_str(), true).unwrap().get_ids().to_vec();
        let length = ids.len();
        let ids = Tensor::from_vec(ids, (1, length), &Device::Cpu).unwrap();
        let types = ids.zeros_like().unwrap();
        let hidden = reference.forward(&ids, &types, None).unwrap();
        let mut mean: Vec<f32> = hidden.mean(1).unwrap().squeeze(0).unwrap().to_vec1().unwrap();
        let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
        mean.iter_mut().for_each(|v| *v /= norm);
        let worst = ours.iter().zip(&mean).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "{length} tokens: largest difference {worst} from candle's BertModel");
    }
}
