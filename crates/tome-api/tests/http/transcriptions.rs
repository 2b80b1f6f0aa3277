//! Recordings to transcripts and minutes, end to end over a socket on SQLite and PostgreSQL:
//! real speech made by espeak-ng is uploaded, heard by Whisper in-process (or by a loopback
//! server speaking OpenAI's `/v1/audio/transcriptions`), written up as minutes (extractive, or
//! by a loopback chat server), and added as two documents that search finds and chat cites
//! with their time stamps. Bad recordings fail in words; reruns make nothing twice.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::sync::{Arc, Mutex};

use axum::extract::Multipart;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tome_domain::repo::{AudioRepo, JobQueue};
use tome_domain::{TenantId, TranscriptionJobId};
use tome_models::chat::ChatModel;
use tome_models::transcribe::{LocalTranscriber, RemoteTranscriber, RemoteTranscriberSettings, Transcriber};
use tome_testkit::TestApp;
use tome_testkit::llm::{Script, StubLlm};
use tome_testkit::speech::{speak, wer, whisper_dir};

const MEETING: [&str; 4] = [
    "Good morning everyone, the budget review is the main topic today.",
    "We decided to move the product launch to the second week of May.",
    "Alice will send the budget report by Friday.",
    "Who owns the vendor contract?",
];

tome_testkit::app_tests!(configure(|config: &mut tome_config::Config| config.whisper_model_dir = Some(tome_testkit::speech::whisper_dir())) =>
    a_recording_becomes_a_transcript_minutes_and_citable_documents,
    bad_recordings_are_refused_or_fail_in_words,
);

tome_testkit::app_tests!(configure(|config: &mut tome_config::Config| {
        config.stt_base_url = Some("http://127.0.0.1:9/v1".into());
    }) =>
    a_transcription_server_and_a_chat_model_write_the_minutes_once,
);

tome_testkit::app_tests!(a_server_without_a_transcription_model_says_so);

fn local() -> Arc<dyn Transcriber> {
    Arc::new(LocalTranscriber::load(&whisper_dir()).unwrap())
}

/// The meeting spoken by espeak-ng, with pauses between speakers, as WAV bytes.
fn meeting_wav() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("standup.wav");
    speak(&MEETING.join(" <break time=\"1s\"/> "), &path);
    std::fs::read(path).unwrap()
}

async fn post_recording(
    app: &TestApp,
    token: &str,
    name: &str,
    bytes: Vec<u8>,
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    // The file first: fields refused after it must not leave it in storage.
    let mut form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    for (key, value) in fields {
        form = form.text(key.to_string(), value.to_string());
    }
    let response =
        app.client.post(app.url("/api/v1/transcriptions")).bearer_auth(token).multipart(form).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn section<'a>(minutes: &'a str, title: &str) -> &'a str {
    let start = minutes.find(&format!("## {title}")).unwrap_or_else(|| panic!("no {title} in {minutes}"));
    let rest = &minutes[start + title.len() + 3..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

async fn a_recording_becomes_a_transcript_minutes_and_citable_documents(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let (status, job) = post_recording(&app, &admin, "standup.wav", meeting_wav(), &[("language", "en")]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["status"], "pending");
    assert_eq!(job["visibility"], "tenant", "shared by default for those who may add knowledge");
    let path = format!("/api/v1/transcriptions/{}", job["id"].as_str().unwrap());

    // The worker hears it, writes the minutes and ingests both documents.
    app.work_with(app.pipeline().with_transcriber(Some(local()))).await;
    let (status, job) = app.get_as(&admin, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["language"], "en");
    assert_eq!(job["model"], "whisper-tiny.en");
    let transcript = job["transcript"].as_str().unwrap();
    let error_rate = wer(&MEETING.join(" "), transcript);
    assert!(error_rate < 0.25, "WER {error_rate}: {transcript}");
    let total = job["progress"]["seconds_total"].as_f64().unwrap();
    assert!(total > 8.0, "{job}");
    assert_eq!(job["progress"]["seconds_done"].as_f64(), Some(total));
    let segments = job["segments"].as_array().unwrap();
    assert!(segments.len() >= 2, "{job}");
    assert!(segments.windows(2).all(|w| w[0]["start"].as_f64() <= w[1]["start"].as_f64()));

    // Extractive minutes, sorted into their sections with time stamps.
    let minutes = job["minutes"].as_str().unwrap();
    assert!(minutes.starts_with("# Minutes: standup.wav"), "{minutes}");
    assert!(section(minutes, "Decisions").to_lowercase().contains("launch"), "{minutes}");
    let actions = section(minutes, "Action items");
    assert!(actions.contains("**Alice**") && actions.contains("due friday"), "{minutes}");
    assert!(section(minutes, "Open questions").contains("vendor contract?"), "{minutes}");
    assert!(section(minutes, "Summary").contains("[00:00:"), "{minutes}");
    assert!(minutes.contains("Extractive minutes"), "{minutes}");

    // Both documents are processed knowledge; the transcript's chunks know when.
    let transcript_doc = app.document(&admin, job["transcript_document_id"].as_str().unwrap()).await;
    assert_eq!(transcript_doc["document_type"], "full_transcript");
    assert_eq!(transcript_doc["status"], "processed", "{transcript_doc}");
    assert_eq!(transcript_doc["original_name"], "standup — transcript.md");
    let minutes_doc = app.document(&admin, job["minutes_document_id"].as_str().unwrap()).await;
    assert_eq!(minutes_doc["document_type"], "meeting_minutes");
    assert_eq!(minutes_doc["status"], "processed", "{minutes_doc}");
    let chunks = app.document_chunks(&admin, transcript_doc["id"].as_str().unwrap()).await;
    assert!(chunks.iter().all(|c| c["metadata"]["time_start"].is_u64()), "{chunks:?}");

    // Chat cites the meeting with the time it was said.
    let (status, conversation) =
        app.call(&admin, Method::POST, "/api/v1/conversations", Some(json!({"title": "budget"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{conversation}");
    let ask = format!("/api/v1/conversations/{}/messages", conversation["id"].as_str().unwrap());
    let (status, turn) =
        app.call(&admin, Method::POST, &ask, Some(json!({"content": "Who sends the budget report by Friday?"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{turn}");
    let sources = turn["assistant_message"]["source_references"].as_array().unwrap();
    let cited = sources.iter().find(|s| s["document_id"] == transcript_doc["id"]).expect("the transcript is a source");
    assert!(cited["time"].as_str().unwrap().starts_with("00:00:"), "{cited}");

    // Another member neither sees nor deletes it; the audit log has it.
    let bob = app.active_user(&admin, "bob").await;
    assert_eq!(app.get_as(&bob, &path).await.0, StatusCode::NOT_FOUND);
    let (_, list) = app.get_as(&bob, "/api/v1/transcriptions").await;
    assert_eq!(list["items"], json!([]));
    assert_eq!(app.call(&bob, Method::DELETE, &path, None).await.0, StatusCode::NOT_FOUND);
    let (_, audit) = app.get_as(&admin, "/api/v1/audit-log?action=transcription.create").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");

    // Deleting the transcription keeps the documents.
    assert_eq!(app.call(&admin, Method::DELETE, &path, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.get_as(&admin, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.document(&admin, transcript_doc["id"].as_str().unwrap()).await["status"], "processed");
}

/// How many files are under `path`.
fn walk_files(path: &std::path::Path) -> usize {
    match std::fs::read_dir(path) {
        Ok(entries) => entries.flatten().map(|e| walk_files(&e.path())).sum(),
        Err(_) => usize::from(path.is_file()),
    }
}

/// A WAV file of `seconds` of 16 kHz mono 16-bit samples made by `sample`.
fn wav(seconds: usize, sample: impl Fn(usize) -> i16) -> Vec<u8> {
    let count = seconds * 16_000;
    let mut bytes = Vec::with_capacity(44 + count * 2);
    let data = (count * 2) as u32;
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&16_000u32.to_le_bytes());
    bytes.extend_from_slice(&32_000u32.to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data.to_le_bytes());
    for i in 0..count {
        bytes.extend_from_slice(&sample(i).to_le_bytes());
    }
    bytes
}

async fn bad_recordings_are_refused_or_fail_in_words(app: TestApp) {
    let admin = app.superadmin("admin").await;
    // Not a recording: 415, naming what is taken; nothing is stored.
    let (status, body) = post_recording(&app, &admin, "notes.txt", b"hello there".to_vec(), &[]).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("WAV, MP3"), "{body}");
    let (status, body) = post_recording(&app, &admin, "a.wav", wav(1, |_| 0), &[("language", "not a language!")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = post_recording(&app, &admin, "a.wav", wav(1, |_| 0), &[("colour", "blue")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, list) = app.get_as(&admin, "/api/v1/transcriptions").await;
    assert_eq!(list["items"], json!([]), "refused uploads leave no job");
    let stored = std::fs::read_dir(app.db.dir.path().join("files"))
        .map_or(0, |entries| entries.flatten().map(|e| walk_files(&e.path())).sum::<usize>());
    assert_eq!(stored, 0, "refused uploads leave no file");

    // Silence, and an MP3 that is only a tag and noise, end `failed` with a sentence.
    let (status, silent) = post_recording(&app, &admin, "silence.wav", wav(3, |_| 0), &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{silent}");
    let mut garbage = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
    garbage.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let (status, broken) = post_recording(&app, &admin, "broken.mp3", garbage, &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{broken}");
    app.work_with(app.pipeline().with_transcriber(Some(local()))).await;
    let (_, silent) = app.get_as(&admin, &format!("/api/v1/transcriptions/{}", silent["id"].as_str().unwrap())).await;
    assert_eq!(silent["status"], "failed", "{silent}");
    assert!(silent["error"].as_str().unwrap().contains("no speech was heard"), "{silent}");
    let (_, broken) = app.get_as(&admin, &format!("/api/v1/transcriptions/{}", broken["id"].as_str().unwrap())).await;
    assert_eq!(broken["status"], "failed", "{broken}");
    assert!(broken["error"].as_str().unwrap().starts_with("the recording cannot be transcribed"), "{broken}");
    assert!(broken["transcript_document_id"].is_null());
    let (_, documents) = app.get_as(&admin, "/api/v1/documents").await;
    assert_eq!(documents["items"], json!([]), "failed jobs add no documents");
}

async fn a_server_without_a_transcription_model_says_so(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let (status, body) = post_recording(&app, &admin, "a.wav", wav(1, |_| 0), &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("TOME_WHISPER_MODEL_DIR"), "{body}");
}

/// A loopback `/v1/audio/transcriptions` server answering `verbose_json`, recording the form
/// fields and file sizes it was sent.
async fn transcription_server() -> (String, Arc<Mutex<Vec<(String, usize)>>>) {
    let seen: Arc<Mutex<Vec<(String, usize)>>> = Arc::default();
    let log = seen.clone();
    let route = axum::routing::post(move |mut form: Multipart| {
        let log = log.clone();
        async move {
            while let Some(field) = form.next_field().await.unwrap() {
                let name = field.name().unwrap_or_default().to_owned();
                let bytes = field.bytes().await.unwrap();
                let entry = if name == "file" { name } else { format!("{name}={}", String::from_utf8_lossy(&bytes)) };
                log.lock().unwrap().push((entry, bytes.len()));
            }
            axum::Json(json!({
                "task": "transcribe", "language": "english", "duration": 12.5,
                "text": MEETING.join(" "),
                "segments": [
                    {"id": 0, "start": 0.0, "end": 3.0, "text": MEETING[0]},
                    {"id": 1, "start": 3.5, "end": 6.0, "text": MEETING[1]},
                    {"id": 2, "start": 7.0, "end": 9.5, "text": MEETING[2]},
                    {"id": 3, "start": 10.0, "end": 12.5, "text": MEETING[3]},
                ]
            }))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = axum::Router::new().route("/v1/audio/transcriptions", route);
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}/v1"), seen)
}

async fn a_transcription_server_and_a_chat_model_write_the_minutes_once(app: TestApp) {
    let (base_url, seen) = transcription_server().await;
    let remote: Arc<dyn Transcriber> =
        Arc::new(RemoteTranscriber::new(RemoteTranscriberSettings::new(base_url, "whisper-large")).unwrap());
    let written = "## Summary\nThe launch moves to May [00:00:03].\n\n## Decisions\n- Launch in May [00:00:03]\n\n\
                   ## Action items\n- Alice — budget report — Friday [00:00:07]\n\n## Open questions\n- Vendor contract owner [00:00:10]";
    let llm = StubLlm::start(Script::answer(&[written])).await;
    let writer: Arc<dyn ChatModel> = Arc::new(llm.model("stub-writer"));
    let pipeline = || app.pipeline().with_transcriber(Some(remote.clone())).with_minutes_model(Some(writer.clone()));

    let admin = app.superadmin("admin").await;
    let audio = wav(2, |i| ((i as f32 * 0.05).sin() * 8000.0) as i16);
    let size = audio.len();
    let (status, job) = post_recording(&app, &admin, "weekly.wav", audio, &[("visibility", "private")]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    app.work_with(pipeline()).await;
    let path = format!("/api/v1/transcriptions/{}", job["id"].as_str().unwrap());
    let (_, job) = app.get_as(&admin, &path).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["language"], "en", "the server's language name becomes a code");
    assert_eq!(job["model"], "whisper-large");
    assert_eq!(job["segments"].as_array().unwrap().len(), 4);
    assert_eq!(job["progress"]["seconds_total"].as_f64(), Some(12.5));
    // The server got the whole file and asked for timed segments.
    let fields = seen.lock().unwrap().clone();
    assert!(fields.contains(&("file".to_owned(), size)), "{fields:?}");
    assert!(fields.iter().any(|(f, _)| f == "response_format=verbose_json"), "{fields:?}");
    assert!(fields.iter().any(|(f, _)| f == "model=whisper-large"), "{fields:?}");
    // The chat model wrote the minutes from the stamped transcript.
    let minutes = job["minutes"].as_str().unwrap();
    assert!(minutes.contains("- Alice — budget report — Friday [00:00:07]"), "{minutes}");
    assert!(minutes.contains("Written by the model stub-writer"), "{minutes}");
    let prompt = llm.requests().last().unwrap().to_string();
    assert!(prompt.contains("[00:00:07] Alice will send the budget report by Friday."), "{prompt}");
    let minutes_doc = app.document(&admin, job["minutes_document_id"].as_str().unwrap()).await;
    assert_eq!(minutes_doc["visibility"], "private");
    // The tokens the minutes cost count against the tenant's day (the stub reports 42 + 7).
    let tenant = tome_domain::repo::TenantRepo::default_tenant(&app.db.store).await.unwrap().id;
    let today = tome_domain::now().replace_time(time::Time::MIDNIGHT);
    let spent = tome_domain::repo::ChatRepo::tokens_since(&app.db.store, tenant, today).await.unwrap();
    assert_eq!(spent, 49, "the minutes' one model call");

    // A rerun after a crash between steps finds its documents again instead of adding more.
    app.db
        .execute_raw(
            "UPDATE transcription_jobs SET status = 'processing', transcript_document_id = NULL, \
             minutes_document_id = NULL, minutes = NULL WHERE original_name = 'weekly.wav'",
        )
        .await
        .unwrap();
    let (_, me) = app.get_as(&admin, "/api/v1/auth/me").await;
    let tenant = TenantId(me["tenant"]["id"].as_str().unwrap().parse().unwrap());
    let id = TranscriptionJobId(job["id"].as_str().unwrap().parse().unwrap());
    let stored = app.db.store.get_transcription(tenant, id).await.unwrap();
    app.db.store.enqueue(tome_domain::transcriptions::run_job(stored.tenant_id, stored.id)).await.unwrap();
    app.work_with(pipeline()).await;
    let (_, again) = app.get_as(&admin, &path).await;
    assert_eq!(again["status"], "completed", "{again}");
    assert_eq!(again["transcript_document_id"], job["transcript_document_id"]);
    assert_eq!(again["minutes_document_id"], job["minutes_document_id"]);
    let (_, documents) = app.get_as(&admin, "/api/v1/documents").await;
    assert_eq!(documents["items"].as_array().unwrap().len(), 2, "{documents}");
}
