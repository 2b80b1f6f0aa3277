//! Documents over HTTP on SQLite and PostgreSQL: uploads of every supported type through the
//! real parsers and the job queue, broken and refused files, duplicates, visibility, the
//! original file, chunks, re-indexing and deletion.

#![expect(clippy::unwrap_used, reason = "tests")]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tome_jobs::Step;
use tome_testkit::{TestApp, app_tests, files};

app_tests!(
    every_supported_type_is_processed_with_its_structure,
    text_in_any_common_encoding_is_read_and_found,
    broken_files_end_in_error_with_a_sentence_and_spare_the_rest,
    the_same_content_again_returns_the_existing_document,
    visibility_and_ownership_decide_who_sees_and_changes,
    content_chunks_reindex_and_delete_round_trip,
    lists_filter_search_and_page,
    the_job_queue_shows_superadmins_what_failed_and_why,
);

app_tests!(configure(|config: &mut tome_config::Config| config.max_upload_bytes = 2 * 1024 * 1024) =>
    unsupported_and_oversized_uploads_are_refused_and_leave_nothing,
);

fn docs(answer: &Value) -> Vec<Value> {
    answer["documents"].as_array().unwrap().clone()
}

/// The uploaded document named `name`.
fn named<'a>(uploaded: &'a [Value], name: &str) -> &'a Value {
    uploaded.iter().find(|d| d["original_name"] == name).unwrap_or_else(|| panic!("{name} in {uploaded:?}"))
}

fn id(doc: &Value) -> String {
    doc["id"].as_str().unwrap().to_owned()
}

async fn every_supported_type_is_processed_with_its_structure(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let markdown = "# Handbook\n\nWelcome to the team.\n\n## Holidays\n\nEveryone gets thirty days of leave.";
    let html = "<html><body><h1>Wiki</h1><h2>Parking</h2><p>Spaces are on level two.</p></body></html>";
    let uploads = vec![
        ("report.pdf", files::pdf(&[&["Revenue was flat."], &["Costs fell by a third."]])),
        ("policy.docx", files::docx(&[(Some("Heading1"), "Security"), (None, "Lock your screen.")])),
        ("deck.pptx", files::pptx(&[&["Kickoff"], &["Roadmap for spring"]])),
        ("staff.xlsx", files::xlsx(&[("People", &[&["name", "desk"], &["Ada", "12"], &["Linus", "14"]])])),
        ("inventory.csv", b"item,count\nchairs,40\ndesks,12\n".to_vec()),
        ("wiki.html", html.as_bytes().to_vec()),
        ("handbook.md", markdown.as_bytes().to_vec()),
        ("notes.txt", b"Plain notes about the offsite.".to_vec()),
        ("config.json", br#"{"service": "mail", "port": 25}"#.to_vec()),
        // Named as text, but a PDF: the content decides.
        ("mislabelled.txt", files::pdf(&[&["Hidden inside a text name."]])),
    ];
    let (status, answer) = app.upload(&admin, &uploads, &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let uploaded = docs(&answer);
    assert_eq!(uploaded.len(), 10);
    assert!(uploaded.iter().all(|d| d["status"] == "uploaded" && d["duplicate"] == false), "{uploaded:?}");
    let expected_types = [
        ("report.pdf", "application/pdf"),
        ("policy.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("deck.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
        ("staff.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("inventory.csv", "text/csv"),
        ("wiki.html", "text/html"),
        ("handbook.md", "text/markdown"),
        ("notes.txt", "text/plain"),
        ("config.json", "application/json"),
        ("mislabelled.txt", "application/pdf"),
    ];
    for (name, mime) in expected_types {
        assert_eq!(named(&uploaded, name)["mime_type"], mime, "{name}");
    }
    let report = named(&uploaded, "report.pdf");
    assert_eq!(report["size_bytes"], json!(uploads[0].1.len()));
    assert_eq!(report["sha256"].as_str().unwrap().len(), 64);

    let steps = app.work().await;
    assert_eq!(steps.len(), 10, "{steps:?}");
    assert!(steps.iter().all(|s| matches!(s, Step::Succeeded(_))), "{steps:?}");
    for doc in &uploaded {
        let now = app.document(&admin, &id(doc)).await;
        assert_eq!(now["status"], "processed", "{now}");
        assert!(now["chunk_count"].as_i64().unwrap() >= 1, "{now}");
        assert!(now["processed_at"].is_string(), "{now}");
        assert_eq!(now["progress"]["done"], now["progress"]["total"]);
    }

    let pdf_chunks = app.document_chunks(&admin, &id(report)).await;
    let costs = pdf_chunks.iter().find(|c| c["content"].as_str().unwrap().contains("Costs fell")).unwrap();
    assert_eq!(costs["metadata"]["page_end"].as_i64().or(costs["metadata"]["page"].as_i64()), Some(2), "{costs}");
    assert_eq!(costs["ordinal"], 0);
    assert!(costs["token_count"].as_i64().unwrap() > 0);

    let docx = app.document_chunks(&admin, &id(named(&uploaded, "policy.docx"))).await;
    assert!(docx[0]["content"].as_str().unwrap().contains("Lock your screen."), "{docx:?}");
    assert_eq!(docx[0]["metadata"]["heading_path"], json!(["Security"]));
    let pptx = app.document_chunks(&admin, &id(named(&uploaded, "deck.pptx"))).await;
    assert_eq!(pptx[0]["metadata"]["slide"], 1, "{pptx:?}");
    assert!(pptx[0]["content"].as_str().unwrap().contains("Roadmap for spring"));
    let xlsx = app.document_chunks(&admin, &id(named(&uploaded, "staff.xlsx"))).await;
    assert_eq!(xlsx[0]["metadata"]["sheet"], "People");
    assert_eq!(
        (xlsx[0]["metadata"]["row_start"].clone(), xlsx[0]["metadata"]["row_end"].clone()),
        (json!(1), json!(3))
    );
    assert!(xlsx[0]["content"].as_str().unwrap().contains("name: Linus; desk: 14"), "{xlsx:?}");
    let csv = app.document_chunks(&admin, &id(named(&uploaded, "inventory.csv"))).await;
    assert!(csv[0]["content"].as_str().unwrap().contains("item: desks; count: 12"), "{csv:?}");
    let wiki = app.document_chunks(&admin, &id(named(&uploaded, "wiki.html"))).await;
    assert_eq!(wiki[0]["metadata"]["heading_path"], json!(["Wiki"]), "{wiki:?}");
    assert!(wiki[0]["content"].as_str().unwrap().contains("Spaces are on level two."));
    let handbook = app.document_chunks(&admin, &id(named(&uploaded, "handbook.md"))).await;
    assert!(handbook[0]["content"].as_str().unwrap().contains("thirty days"), "{handbook:?}");
    let json_chunks = app.document_chunks(&admin, &id(named(&uploaded, "config.json"))).await;
    assert!(json_chunks[0]["content"].as_str().unwrap().contains("service: mail"), "{json_chunks:?}");
    let hidden = app.document_chunks(&admin, &id(named(&uploaded, "mislabelled.txt"))).await;
    assert_eq!(hidden[0]["metadata"]["page"], 1);
    assert!(hidden.iter().all(|c| c["embedding_model"].is_null()), "no embedder in this test");
}

/// UTF-16 with and without a byte-order mark, Windows-1252 and Shift_JIS, as Windows tools
/// and older exports write them: each is read as the text it is, and found by its words.
async fn text_in_any_common_encoding_is_read_and_found(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let utf16 = |text: &str, bom: bool| {
        let units = bom.then_some(0xfeff_u16).into_iter().chain(text.encode_utf16());
        units.flat_map(u16::to_le_bytes).collect::<Vec<u8>>()
    };
    let (latin, _, _) = encoding_rs::WINDOWS_1252.encode("produit;quantité\nCrème brûlée;12\nCafé noisette;40\n");
    let (japanese, _, _) =
        encoding_rs::SHIFT_JIS.encode("会議の議事録：来週の予算について話し合いました。資料は共有フォルダにあります。");
    let uploads = vec![
        ("export.txt", utf16("Quarterly naïve forecast from the Zürich office.\r\nSecond line.", true)),
        ("notes.md", utf16("# Réunion\n\nLe déjeuner est à midi.", false)),
        ("menu.csv", latin.into_owned()),
        ("minutes.txt", japanese.into_owned()),
    ];
    let (status, answer) = app.upload(&admin, &uploads, &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let uploaded = docs(&answer);
    assert_eq!(named(&uploaded, "menu.csv")["mime_type"], "text/csv");
    assert_eq!(named(&uploaded, "notes.md")["mime_type"], "text/markdown");
    let steps = app.work().await;
    assert!(steps.iter().all(|s| matches!(s, Step::Succeeded(_))), "{steps:?}");
    let text =
        |chunks: Vec<Value>| chunks.iter().map(|c| c["content"].as_str().unwrap().to_owned()).collect::<String>();
    let export = text(app.document_chunks(&admin, &id(named(&uploaded, "export.txt"))).await);
    assert!(export.contains("naïve forecast from the Zürich office.\nSecond line."), "{export}");
    let notes = app.document_chunks(&admin, &id(named(&uploaded, "notes.md"))).await;
    assert_eq!(notes.last().unwrap()["metadata"]["heading_path"], json!(["Réunion"]), "{notes:?}");
    let menu = text(app.document_chunks(&admin, &id(named(&uploaded, "menu.csv"))).await);
    assert!(menu.contains("produit: Crème brûlée; quantité: 12"), "{menu}");
    let minutes = text(app.document_chunks(&admin, &id(named(&uploaded, "minutes.txt"))).await);
    assert!(minutes.contains("来週の予算"), "{minutes}");
    let (status, found) = app
        .call(&admin, Method::POST, "/api/v1/search", Some(json!({"query": "crème brûlée", "mode": "keyword"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["results"][0]["document"]["name"], "menu.csv", "{found}");
}

async fn broken_files_end_in_error_with_a_sentence_and_spare_the_rest(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let docx = files::docx(&[(None, "Hello there")]);
    let uploads = vec![
        ("locked.pdf", files::encrypted_pdf()),
        ("locked.docx", files::ole_encrypted_office()),
        ("broken.docx", docx[..docx.len() / 2].to_vec()),
        ("empty.txt", Vec::new()),
        ("bomb.docx", files::zip_bomb_docx(40)),
        ("fine.txt", b"This one is perfectly fine.".to_vec()),
        ("scan.pdf", files::pdf(&[&[]])),
    ];
    let (status, answer) = app.upload(&admin, &uploads, &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let uploaded = docs(&answer);
    let mut pipeline = app.pipeline();
    pipeline.limits.max_inflated_bytes = 16 * 1024 * 1024;
    let steps = app.work_with(pipeline).await;
    assert!(steps.iter().all(|s| matches!(s, Step::Succeeded(_))), "the worker carries on: {steps:?}");
    let expect = [
        ("locked.pdf", "The PDF file is password-protected (encrypted)"),
        ("locked.docx", "The DOCX file is password-protected (encrypted)"),
        ("broken.docx", "The file could not be read as DOCX"),
        ("empty.txt", "The file is empty."),
        ("bomb.docx", "The file expands to more than 16 MiB when unpacked"),
        ("scan.pdf", "No text was found in the file (a scanned PDF"),
    ];
    for (name, start) in expect {
        let doc = app.document(&admin, &id(named(&uploaded, name))).await;
        assert_eq!(doc["status"], "error", "{name}: {doc}");
        let error = doc["error"].as_str().unwrap();
        assert!(error.starts_with(start), "{name}: {error}");
        assert_eq!(doc["chunk_count"], 0, "{name}");
    }
    let fine = app.document(&admin, &id(named(&uploaded, "fine.txt"))).await;
    assert_eq!((fine["status"].as_str(), fine["error"].as_str()), (Some("processed"), None), "{fine}");
}

async fn unsupported_and_oversized_uploads_are_refused_and_leave_nothing(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01".to_vec();
    let (status, error) = app.upload(&admin, &[("ok.txt", b"fine".to_vec()), ("photo.txt", png)], &[]).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("image/png") && message.contains("supported types: PDF, DOCX"), "{message}");

    let big = vec![b'a'; 3 * 1024 * 1024];
    let (status, error) = app.upload(&admin, &[("big.txt", big)], &[]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");
    assert_eq!(error["error"]["code"], "too_large");

    let (status, error) = app.upload(&admin, &[], &[("visibility", "tenant")]).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("file")));
    let (status, error) = app.upload(&admin, &[("a.txt", b"x".to_vec())], &[("visibility", "public")]).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("visibility")));
    let (status, error) =
        app.call(&admin, Method::POST, "/api/v1/documents", Some(json!({"file": "not multipart"}))).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{error}");

    let (_, list) = app.call(&admin, Method::GET, "/api/v1/documents", None).await;
    assert_eq!(list["items"], json!([]), "no document was created");
    assert_eq!(app.stored_files(), Vec::<std::path::PathBuf>::new(), "no file was left in storage");
}

async fn the_same_content_again_returns_the_existing_document(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let content = b"Quarterly numbers, final version.".to_vec();
    let (_, first) = app.upload(&admin, &[("q3.txt", content.clone())], &[]).await;
    let (status, second) = app.upload(&admin, &[("q3-copy.txt", content.clone())], &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (first, second) = (&docs(&first)[0], &docs(&second)[0]);
    assert_eq!((second["duplicate"].as_bool(), second["id"].clone()), (Some(true), first["id"].clone()));
    assert_eq!(second["original_name"], "q3.txt");
    // Private copies are the uploader's own, and are not merged with the shared one.
    let (_, private) = app.upload(&admin, &[("mine.txt", content)], &[("visibility", "private")]).await;
    let private = &docs(&private)[0];
    assert_eq!((private["duplicate"].as_bool(), private["visibility"].as_str()), (Some(false), Some("private")));
    assert_ne!(private["id"], first["id"]);
    let (_, list) = app.call(&admin, Method::GET, "/api/v1/documents", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(app.stored_files().len(), 2, "the duplicate's copy was removed");
    assert_eq!(app.work().await.len(), 2, "one job per new document");
}

async fn visibility_and_ownership_decide_who_sees_and_changes(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let member = app.active_user(&admin, "mia").await;
    let viewer = app.active_user(&admin, "vic").await;
    let (_, vic) = app.call(&viewer, Method::GET, "/api/v1/auth/me", None).await;
    let roles = format!("/api/v1/users/{}/roles", vic["user"]["id"].as_str().unwrap());
    app.call(&admin, Method::PUT, &roles, Some(json!({"roles": ["viewer"]}))).await;

    let (status, _) = app.upload(&viewer, &[("v.txt", b"viewer text".to_vec())], &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers cannot upload");
    let (_, shared) = app.upload(&admin, &[("shared.txt", b"for everyone".to_vec())], &[]).await;
    let shared = id(&docs(&shared)[0]);
    let (_, own) = app.upload(&member, &[("diary.txt", b"my own notes".to_vec())], &[("visibility", "private")]).await;
    let own = id(&docs(&own)[0]);

    // Everyone with documents.read sees shared documents; a private one only its owner.
    for token in [&viewer, &member] {
        assert_eq!(app.document(token, &shared).await["visibility"], "tenant");
    }
    for token in [&viewer, &admin] {
        let (status, _) = app.call(token, Method::GET, &format!("/api/v1/documents/{own}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, list) = app.call(token, Method::GET, "/api/v1/documents", None).await;
        assert!(!list.to_string().contains(&own), "{list}");
        let (status, _) = app.call(token, Method::GET, &format!("/api/v1/documents/{own}/content"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (_, list) = app.call(&member, Method::GET, "/api/v1/documents", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // The owner renames their document but cannot share it without documents.manage.
    let path = format!("/api/v1/documents/{own}");
    let (status, renamed) =
        app.call(&member, Method::PATCH, &path, Some(json!({"original_name": "journal.txt"}))).await;
    assert_eq!((status, renamed["original_name"].as_str()), (StatusCode::OK, Some("journal.txt")), "{renamed}");
    let (status, _) = app.call(&member, Method::PATCH, &path, Some(json!({"visibility": "tenant"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Shared documents are changed only with documents.manage.
    let shared_path = format!("/api/v1/documents/{shared}");
    for (method, body) in [(Method::PATCH, Some(json!({"original_name": "mine.txt"}))), (Method::DELETE, None)] {
        let (status, _) = app.call(&member, method.clone(), &shared_path, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method}");
    }
    let (status, _) = app.call(&member, Method::POST, &format!("{shared_path}/reindex"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, made) = app.call(&admin, Method::PATCH, &shared_path, Some(json!({"visibility": "private"}))).await;
    assert_eq!((status, made["visibility"].as_str()), (StatusCode::OK, Some("private")));
    let (status, _) = app.call(&viewer, Method::GET, &shared_path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "now private to its owner");
    let (_, audit) = app.call(&admin, Method::GET, "/api/v1/audit-log?action=document.visibility", None).await;
    assert_eq!(audit["items"][0]["target_id"], shared.as_str(), "{audit}");
}

async fn content_chunks_reindex_and_delete_round_trip(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let content = files::pdf(&[&["Page one."], &["Page two."]]);
    let (_, answer) = app.upload(&admin, &[("Zoë's report.pdf", content.clone())], &[]).await;
    let document = id(&docs(&answer)[0]);
    let path = format!("/api/v1/documents/{document}");
    let response = app.client.get(app.url(&format!("{path}/content"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| response.headers().get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/pdf");
    let disposition = header("content-disposition");
    assert!(disposition.starts_with("attachment; filename=\"Zo_'s report.pdf\""), "{disposition}");
    assert!(disposition.contains("filename*=UTF-8''Zo%C3%AB%27s%20report.pdf"), "{disposition}");
    assert_eq!(response.bytes().await.unwrap().to_vec(), content);

    app.work().await;
    assert_eq!(app.document(&admin, &document).await["status"], "processed");
    let first = app.document_chunks(&admin, &document).await;
    let (status, queued) = app.call(&admin, Method::POST, &format!("{path}/reindex"), None).await;
    assert_eq!((status, queued["status"].as_str()), (StatusCode::ACCEPTED, Some("uploaded")));
    app.work().await;
    let again = app.document_chunks(&admin, &document).await;
    assert_eq!(again.len(), first.len(), "re-indexing replaces, never duplicates");
    assert_ne!(again[0]["id"], first[0]["id"]);

    assert_eq!(app.call(&admin, Method::DELETE, &path, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call(&admin, Method::GET, &path, None).await.0, StatusCode::NOT_FOUND, "hidden at once");
    assert_eq!(app.call(&admin, Method::GET, &format!("{path}/chunks"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.call(&admin, Method::DELETE, &path, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.stored_files().len(), 1, "the file waits for the purge job");
    let steps = app.work().await;
    assert_eq!(steps, vec![Step::Succeeded("document.purge".into())]);
    assert!(app.stored_files().is_empty(), "the purge removed the file");
    let (_, audit) = app.call(&admin, Method::GET, &format!("/api/v1/audit-log?target_id={document}"), None).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["document.delete", "document.reindex", "document.create"]);
}

async fn lists_filter_search_and_page(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let (_, project) = app.call(&admin, Method::POST, "/api/v1/projects", Some(json!({"name": "Ops"}))).await;
    let project = id(&project);
    for n in 0..5 {
        app.upload(&admin, &[(&format!("note-{n}.txt"), format!("note number {n}").into_bytes())], &[]).await;
    }
    let fields = [("project_id", project.as_str()), ("document_type", "meeting_minutes")];
    let (status, minutes) =
        app.upload(&admin, &[("Minutes March.md", b"# Minutes\n\nAgreed.".to_vec())], &fields).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{minutes}");
    app.upload(&admin, &[("empty.txt", Vec::new())], &[]).await;
    app.work().await;

    let list = |query: String| {
        let app = &app;
        let admin = &admin;
        async move {
            let (status, page) = app.call(admin, Method::GET, &format!("/api/v1/documents?{query}"), None).await;
            assert_eq!(status, StatusCode::OK, "{query}: {page}");
            page
        }
    };
    let names = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|d| d["original_name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&list("status=error".into()).await), ["empty.txt"]);
    assert_eq!(names(&list(format!("project_id={project}")).await), ["Minutes March.md"]);
    assert_eq!(names(&list("document_type=meeting_minutes".into()).await), ["Minutes March.md"]);
    assert_eq!(names(&list("q=MARCH".into()).await), ["Minutes March.md"]);
    assert_eq!(names(&list("q=note-&limit=2".into()).await), ["note-4.txt", "note-3.txt"]);
    let first = list("q=note-&limit=2".into()).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = list(format!("q=note-&limit=2&cursor={cursor}")).await;
    assert_eq!(names(&second), ["note-2.txt", "note-1.txt"]);
    let (status, error) = app.call(&admin, Method::GET, "/api/v1/documents?status=done", None).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("status")));
}

async fn the_job_queue_shows_superadmins_what_failed_and_why(app: TestApp) {
    use tome_domain::repo::JobQueue;
    let admin = app.superadmin("admin").await;
    let member = app.active_user(&admin, "member").await;
    let (status, _) = app.upload(&admin, &[("notes.txt", b"Plain notes.".to_vec())], &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let stray = tome_domain::jobs::NewJob {
        tenant_id: None,
        kind: "unheard-of".into(),
        payload: json!({}),
        max_attempts: 1,
        run_at: tome_domain::now(),
    };
    app.db.store.enqueue(stray).await.unwrap();
    app.work().await;

    let (status, failed) = app.call(&admin, Method::GET, "/api/v1/jobs?status=failed", None).await;
    assert_eq!(status, StatusCode::OK, "{failed}");
    let items = failed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{failed}");
    assert_eq!(items[0]["kind"], "unheard-of");
    assert!(items[0]["last_error"].as_str().unwrap().contains("no handler"), "{failed}");
    let (_, done) = app.call(&admin, Method::GET, "/api/v1/jobs?status=succeeded", None).await;
    assert_eq!(done["items"][0]["kind"], "document.ingest", "{done}");
    assert_eq!(done["items"][0]["attempts"], 1);

    let (status, _) = app.call(&member, Method::GET, "/api/v1/jobs", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.call(&admin, Method::GET, "/api/v1/jobs?status=stuck", None).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("status")), "{body}");
}

app_tests!(a_documents_text_holds_every_passage_at_its_span);

/// The viewer's text: every passage's span gives back exactly its chunk, overlaps included;
/// another member's private document and another tenant's are 404.
async fn a_documents_text_holds_every_passage_at_its_span(app: TestApp) {
    let admin = app.superadmin("root").await;
    let mut text = String::from("# Field notes\n\n");
    for n in 0..120 {
        text.push_str(&format!(
            "Paragraph {n} tells how the élan of quokka number {n} differs from the others 🐾.\n\n"
        ));
    }
    let (status, answer) = app.upload(&admin, &[("notes.md", text.into_bytes())], &[("visibility", "private")]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let id = docs(&answer)[0]["id"].as_str().unwrap().to_owned();
    let (status, before) = app.call(&admin, Method::GET, &format!("/api/v1/documents/{id}/text"), None).await;
    assert_eq!((status, before["text"].as_str()), (StatusCode::OK, Some("")), "nothing before processing");
    app.work().await;

    let (status, body) = app.call(&admin, Method::GET, &format!("/api/v1/documents/{id}/text"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let full: Vec<char> = body["text"].as_str().unwrap().chars().collect();
    let passages = body["passages"].as_array().unwrap();
    let chunks = app.document_chunks(&admin, &id).await;
    assert!(chunks.len() > 2, "several passages: {}", chunks.len());
    assert_eq!(passages.len(), chunks.len());
    for (passage, chunk) in passages.iter().zip(&chunks) {
        let (start, end) = (passage["start"].as_u64().unwrap() as usize, passage["end"].as_u64().unwrap() as usize);
        let slice: String = full[start..end].iter().collect();
        assert_eq!(slice, chunk["content"].as_str().unwrap(), "passage {}", passage["ordinal"]);
        assert_eq!(passage["chunk_id"], chunk["id"]);
    }
    let text: String = full.iter().collect();
    assert!(text.contains("quokka number 0 ") && text.contains("quokka number 119 "), "the whole text");
    assert_eq!(body["truncated"], false);

    let member = app.active_user(&admin, "mia").await;
    let (status, _) = app.call(&member, Method::GET, &format!("/api/v1/documents/{id}/text"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another member's private document");
    let (status, _) =
        app.call(&admin, Method::GET, &format!("/api/v1/documents/{}/text", uuid::Uuid::now_v7()), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
