//! docs/api.md, Files: uploads through presigned URLs, attachments, downloads, with the local store
//! (answered by the gateway) and a real signature-checking S3 server (s3s-fs, in process).

use crate::client::Answer;
use crate::helpers::{TestApp, TestUser, json_of, problem};
use crate::socket::Events as _;
use epop_test_support::s3::TestS3;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn presign(app: &TestApp, user: &TestUser, name: &str, content_type: &str, size: usize) -> Answer {
    app.as_user(user)
        .post(
            "/api/files/presign-upload",
            json!({"file_name": name, "content_type": content_type, "file_size": size}),
        )
        .await
}

/// Reserves a slot and uploads `bytes` exactly as the slot says; returns the slot.
pub(crate) async fn upload(
    app: &TestApp,
    user: &TestUser,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> Value {
    let slot = json_of(
        presign(app, user, name, content_type, bytes.len()).await,
        StatusCode::CREATED,
    )
    .await;
    let response = put_slot(app, &slot, bytes.to_vec()).await;
    assert_eq!(response.status(), StatusCode::OK, "upload: {}", response.text);
    slot
}

async fn put_slot(app: &TestApp, slot: &Value, bytes: Vec<u8>) -> Answer {
    assert_eq!(slot["method"], "PUT");
    let mut request = app.client.put(slot["url"].as_str().unwrap());
    for (name, value) in slot["headers"].as_object().unwrap() {
        if !name.eq_ignore_ascii_case("content-length") {
            request = request.header(name, value.as_str().unwrap());
        }
    }
    Answer::read(request.body(bytes).send().await.unwrap()).await
}

/// What the store answers to a `PUT` of `body` as `content_type` at `url`, whatever a slot says.
async fn put_to_store(app: &TestApp, url: &str, content_type: &str, body: &'static str) -> StatusCode {
    let request = app
        .client
        .put(url)
        .header("content-type", content_type)
        .body(body);
    request.send().await.expect("the store answers").status()
}

/// A gateway where Ann has a group "G" of her own: the app, Ann and the group's id.
async fn ann_in_her_own_group() -> (TestApp, TestUser, String) {
    let (app, [ann], group) = TestApp::with_group(["Ann"]).await;
    (app, ann, group)
}

pub(crate) async fn send_with(
    app: &TestApp,
    user: &TestUser,
    conversation: &str,
    attachments: &[&Value],
) -> Answer {
    let ids: Vec<&Value> = attachments.iter().map(|slot| &slot["attachment_id"]).collect();
    app.as_user(user)
        .post(
            format!("/api/conversations/{conversation}/messages"),
            json!({"content": "see attached", "attachment_ids": ids}),
        )
        .await
}

async fn full_flow(app: &TestApp) {
    let [ann, bob, eve] = app.users(["Ann", "Bob", "Eve"]).await;
    let group = app.group(&ann, "G", &[&bob]).await;

    let report = upload(
        app,
        &ann,
        "Q3 report \"final\".pdf",
        "application/pdf",
        b"%PDF-1.7 pretend",
    )
    .await;
    let picture = upload(app, &ann, "cat.png", "image/png", b"\x89PNG pretend").await;
    let file_path = format!("/api/files/{}", report["attachment_id"].as_str().unwrap());

    // Before it is attached, only the uploader can fetch it.
    let own = app.as_user(&ann).get(&file_path).await;
    assert_eq!(own.status(), StatusCode::FOUND);
    app.as_user(&bob).get(&file_path).await.not_found();

    // Someone else cannot attach it.
    send_with(app, &bob, &group, &[&report])
        .await
        .invalid_fields(&["attachment_ids[0]"]);

    let message = json_of(
        send_with(app, &ann, &group, &[&report, &picture]).await,
        StatusCode::CREATED,
    )
    .await;
    let attachments = message["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 2);
    let pdf = attachments
        .iter()
        .find(|a| a["file_name"] == "Q3 report \"final\".pdf")
        .unwrap();
    assert_eq!(pdf["content_type"], "application/pdf");
    assert_eq!(pdf["file_size"], 16);
    assert_eq!(pdf["id"], report["attachment_id"]);

    // The link in the message downloads the bytes, as an attachment.
    let download = app.client.get(pdf["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let disposition = download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(download.bytes().await.unwrap().as_ref(), b"%PDF-1.7 pretend");

    // Members follow the redirect; strangers get 404.
    let redirect = app.as_user(&bob).get(&file_path).await;
    assert_eq!(redirect.status(), StatusCode::FOUND);
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        app.client
            .get(&location)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        b"%PDF-1.7 pretend"
    );
    app.as_user(&eve).get(&file_path).await.not_found();

    // Attached once only.
    let again = send_with(app, &ann, &group, &[&report]).await;
    problem(again, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    // A reserved slot whose upload never happened cannot be attached or fetched.
    let pending = json_of(
        presign(app, &ann, "later.txt", "text/plain", 5).await,
        StatusCode::CREATED,
    )
    .await;
    send_with(app, &ann, &group, &[&pending])
        .await
        .invalid_fields(&["attachment_ids[0]"]);
    let pending_path = format!("/api/files/{}", pending["attachment_id"].as_str().unwrap());
    app.as_user(&ann).get(&pending_path).await.not_found();

    // The store refuses an upload of another type or size than signed.
    let url = pending["url"].as_str().unwrap();
    assert_eq!(
        put_to_store(app, url, "text/html", "12345").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put_to_store(app, url, "text/plain", "123456").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.as_user(&ann).get(&pending_path).await.status(),
        StatusCode::NOT_FOUND
    );

    // Object keys are built from ids, never from the file name.
    let keys = app.count("SELECT count(*) AS n FROM message_attachments WHERE object_key LIKE '%report%' OR object_key LIKE '%.p%'").await;
    assert_eq!(keys, 0);
}

#[tokio::test]
async fn files_flow_through_the_local_store() {
    let app = TestApp::spawn().await;
    full_flow(&app).await;
}

#[tokio::test]
async fn files_flow_through_a_signature_checking_s3_server() {
    let s3 = TestS3::start().await.unwrap();
    let app = s3_app(&s3).await;
    let health = app.anonymous().get_ok("/health").await;
    assert_eq!(health["checks"]["storage"], "ok");
    full_flow(&app).await;
    // The slot's URL points at the S3 server, signed.
    let ann_login = app.sign_in("ann@example.com", crate::helpers::PASSWORD).await;
    let token = json_of(ann_login, StatusCode::OK).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let slot = app
        .as_token(&token)
        .post(
            "/api/files/presign-upload",
            json!({"file_name": "a", "content_type": "text/plain", "file_size": 1}),
        )
        .await
        .json(StatusCode::CREATED);
    let url = slot["url"].as_str().unwrap();
    assert!(
        url.starts_with(&s3.endpoint) && url.contains("X-Amz-Signature="),
        "{url}"
    );
    let at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let flipped = if &url[at..=at] == "0" { "1" } else { "0" };
    let tampered = format!("{}{flipped}{}", &url[..at], &url[at + 1..]);
    assert_eq!(
        put_to_store(&app, &tampered, "text/plain", "x").await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn local_downloads_are_sandboxed_and_images_inline() {
    let (app, ann, group) = ann_in_her_own_group().await;
    let page = upload(&app, &ann, "page.html", "text/html", b"<script>alert(1)</script>").await;
    let image = upload(&app, &ann, "cat.png", "image/png", b"\x89PNG").await;
    let message = json_of(
        send_with(&app, &ann, &group, &[&page, &image]).await,
        StatusCode::CREATED,
    )
    .await;
    for attachment in message["attachments"].as_array().unwrap() {
        let response = app
            .client
            .get(attachment["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(headers["content-security-policy"], "sandbox");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let disposition = headers["content-disposition"].to_str().unwrap();
        if attachment["content_type"] == "image/png" {
            assert!(disposition.starts_with("inline"), "{disposition}");
        } else {
            assert!(disposition.starts_with("attachment"), "{disposition}");
        }
        // A tampered signature is refused.
        let tampered = attachment["url"].as_str().unwrap().replace("sig=", "sig=A");
        assert_eq!(
            app.client.get(&tampered).send().await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test]
async fn upload_limits_and_validation() {
    let app = TestApp::with_settings([("EPOP_MAX_UPLOAD_BYTES", "1000")]).await;
    let ann = app.register("Ann", "ann@example.com").await;
    problem(
        presign(&app, &ann, "big.bin", "application/octet-stream", 1001).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    assert_eq!(
        presign(&app, &ann, "ok.bin", "application/octet-stream", 1000)
            .await
            .status(),
        StatusCode::CREATED
    );
    let invalid = app
        .as_user(&ann)
        .post(
            "/api/files/presign-upload",
            json!({"file_name": "", "content_type": "not a type", "file_size": -1}),
        )
        .await
        .invalid();
    assert!(invalid.fields().contains(&"file_size"));
    let missing = app
        .as_user(&ann)
        .post("/api/files/presign-upload", json!({}))
        .await
        .invalid();
    let mut fields = missing.fields();
    fields.sort();
    assert_eq!(fields, vec!["content_type", "file_name", "file_size"]);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM message_attachments").await,
        1
    );
    app.as_user(&ann)
        .get(format!("/api/files/{}", uuid::Uuid::now_v7()))
        .await
        .not_found();
}

#[tokio::test]
async fn unattached_uploads_are_swept() {
    let (app, ann, group) = ann_in_her_own_group().await;
    let old = upload(&app, &ann, "old.txt", "text/plain", b"old").await;
    let fresh = upload(&app, &ann, "fresh.txt", "text/plain", b"fresh").await;
    let kept = upload(&app, &ann, "kept.txt", "text/plain", b"kept").await;
    json_of(send_with(&app, &ann, &group, &[&kept]).await, StatusCode::CREATED).await;
    app.sql(&format!(
        "UPDATE message_attachments SET created_at = now() - interval '25 hours' WHERE id = '{}'",
        old["attachment_id"].as_str().unwrap()
    ))
    .await;

    let removed = app.state.chat.sweep_files().await.unwrap();
    assert_eq!(removed, 1);
    let remaining = app.count("SELECT count(*) AS n FROM message_attachments").await;
    assert_eq!(remaining, 2);
    for (slot, status) in [
        (&old, StatusCode::NOT_FOUND),
        (&fresh, StatusCode::FOUND),
        (&kept, StatusCode::FOUND),
    ] {
        let path = format!("/api/files/{}", slot["attachment_id"].as_str().unwrap());
        assert_eq!(app.as_user(&ann).get(&path).await.status(), status, "{path}");
    }
}

#[tokio::test]
async fn a_deleted_messages_files_are_removed_within_seconds_without_the_sweep() {
    let (app, store, ann, group) = own_store().await;
    let kept = upload(&app, &ann, "kept.txt", "text/plain", b"kept").await;
    let gone = upload(&app, &ann, "gone.txt", "text/plain", b"gone").await;
    json_of(send_with(&app, &ann, &group, &[&kept]).await, StatusCode::CREATED).await;
    let doomed = json_of(send_with(&app, &ann, &group, &[&gone]).await, StatusCode::CREATED).await;
    let files_on_disk = || {
        walk(std::path::Path::new(&store))
            .into_iter()
            .filter(|p| !p.to_string_lossy().ends_with(".part"))
            .count()
    };
    let before = files_on_disk();
    assert!(before >= 2, "both uploads are stored");
    app.as_user(&ann)
        .delete_ok(format!("/api/messages/{}", doomed["id"].as_str().unwrap()))
        .await;
    let started = std::time::Instant::now();
    while files_on_disk() != before - 1 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the deleted message's file is still there"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let path = format!("/api/files/{}", gone["attachment_id"].as_str().unwrap());
    assert_eq!(app.as_user(&ann).get(&path).await.status(), StatusCode::NOT_FOUND);
    // Its row stays while its upload URL works (so that URL stores nothing more); the sweep after that
    // removes it and anything at its key.
    assert_eq!(
        app.count("SELECT count(*) AS n FROM message_attachments").await,
        2
    );
    app.sql(&format!(
        "UPDATE message_attachments SET created_at = now() - interval '16 minutes' WHERE id = '{}'",
        gone["attachment_id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(app.state.chat.sweep_files().await.unwrap(), 1);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM message_attachments").await,
        1
    );
    let path = format!("/api/files/{}", kept["attachment_id"].as_str().unwrap());
    assert_eq!(app.as_user(&ann).get(&path).await.status(), StatusCode::FOUND);
    let _ = std::fs::remove_dir_all(&store);
}

/// A gateway that keeps files in a directory of the test's own (the second value, to look into), Ann, and a
/// group of hers.
async fn own_store() -> (TestApp, String, TestUser, String) {
    let store = tempfile_dir();
    let app = TestApp::with_settings([("EPOP_STORAGE_DIR", &store)]).await;
    let ann = app.register("Ann", "ann@example.com").await;
    let group = app.group(&ann, "G", &[]).await;
    (app, store, ann, group)
}

/// The statuses of `requests`, all sent at once.
async fn statuses_at_once(
    requests: impl IntoIterator<Item = impl Future<Output = Answer>>,
) -> Vec<StatusCode> {
    let answers = futures_util::future::join_all(requests).await;
    answers.iter().map(Answer::status).collect()
}

fn tempfile_dir() -> String {
    let dir = std::env::temp_dir().join(format!("epop-files-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.to_string_lossy().into_owned()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn events_carry_no_download_links_and_sockets_get_freshly_signed_ones() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let mut socket = app.socket(&bob.access_token).await;

    let slot = upload(&app, &ann, "notes.txt", "text/plain", b"the notes").await;
    let sent = json_of(send_with(&app, &ann, &group, &[&slot]).await, StatusCode::CREATED).await;
    // What is stored (and replayed, and sent between nodes) names the file, never a link that expires.
    let stored = app
        .count(
            "SELECT count(*) AS n FROM outbox WHERE event_type = 'message_created' \
             AND payload->'message'->'attachments'->0 ? 'url'",
        )
        .await;
    assert_eq!(stored, 0, "no download link in the event");
    let delivered = socket.event("message:new").await;
    assert_eq!(delivered["id"], sent["id"]);
    let file = &delivered["attachments"][0];
    assert_eq!(file["id"], slot["attachment_id"]);
    assert_eq!(file["file_name"], "notes.txt");
    assert!(file.get("object_key").is_none(), "{file}");
    let link = file["url"].as_str().expect("a signed link");
    let download = app.client.get(link).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.bytes().await.unwrap().as_ref(), b"the notes");
}

/// A gateway that keeps files in `s3`.
pub(crate) async fn s3_app(s3: &TestS3) -> TestApp {
    TestApp::with_settings([
        ("EPOP_S3_ENDPOINT", &s3.endpoint),
        ("EPOP_S3_REGION", &s3.region),
        ("EPOP_S3_BUCKET", &s3.bucket),
        ("EPOP_S3_ACCESS_KEY", &s3.access_key),
        ("EPOP_S3_SECRET_KEY", &s3.secret_key),
    ])
    .await
}

/// Follows `GET /api/files/{id}` and returns the downloaded bytes.
pub(crate) async fn fetch(app: &TestApp, user: &TestUser, slot: &Value) -> Vec<u8> {
    let path = format!("/api/files/{}", slot["attachment_id"].as_str().unwrap());
    let redirect = app.as_user(user).get(&path).await;
    assert_eq!(redirect.status(), StatusCode::FOUND, "{path}");
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    let download = app.client.get(&location).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    download.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_local_upload_url_takes_one_upload() {
    let (app, store, ann, group) = own_store().await;
    let slot = upload(&app, &ann, "notes.txt", "text/plain", b"first").await;

    // The same URL again, even with bytes of the signed size and type: refused, the first upload kept.
    let again = problem(
        put_slot(&app, &slot, b"evil!".to_vec()).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(
        again["detail"].as_str().unwrap().contains("used already"),
        "{again}"
    );
    assert_eq!(fetch(&app, &ann, &slot).await, b"first");

    // Attached: still refused, and what members download is what was attached.
    let message = json_of(send_with(&app, &ann, &group, &[&slot]).await, StatusCode::CREATED).await;
    problem(
        put_slot(&app, &slot, b"evil!".to_vec()).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_eq!(fetch(&app, &ann, &slot).await, b"first");

    // Its message deleted (the file removed with it) while the URL still works: nothing can be stored at the
    // key again, where no sweep would ever find it.
    app.as_user(&ann)
        .delete_ok(format!("/api/messages/{}", message["id"].as_str().unwrap()))
        .await;
    let started = std::time::Instant::now();
    let stored_files = || {
        walk(std::path::Path::new(&store))
            .into_iter()
            .filter(|p| p.starts_with(format!("{store}/uploads")))
            .count()
    };
    while stored_files() != 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the deleted message's file is still there"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    problem(
        put_slot(&app, &slot, b"evil!".to_vec()).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_eq!(stored_files(), 0, "nothing stored");
    let _ = std::fs::remove_dir_all(&store);
}

#[tokio::test]
async fn two_uploads_racing_for_one_local_slot_store_one() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let slot = json_of(
        presign(&app, &ann, "race.bin", "application/octet-stream", 4096).await,
        StatusCode::CREATED,
    )
    .await;
    let puts = (0..4u8).map(|i| put_slot(&app, &slot, vec![i; 4096]));
    let statuses = statuses_at_once(puts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    let stored = fetch(&app, &ann, &slot).await;
    assert_eq!(stored.len(), 4096);
    assert!(
        stored.iter().all(|b| *b == stored[0]),
        "one upload's bytes, whole"
    );
}

#[tokio::test]
async fn an_s3_upload_url_is_single_use_and_a_replaced_object_is_never_served() {
    let s3 = TestS3::start().await.unwrap();
    let app = s3_app(&s3).await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let group = app.group(&ann, "G", &[&bob]).await;
    let slot = upload(&app, &ann, "notes.txt", "text/plain", b"first").await;
    assert_eq!(slot["headers"]["If-None-Match"], "*", "{slot}");

    // s3s honours the signed `If-None-Match: *`: the URL takes one upload.
    let again = put_slot(&app, &slot, b"evil!".to_vec()).await;
    assert_eq!(again.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(fetch(&app, &ann, &slot).await, b"first");

    let message = json_of(send_with(&app, &ann, &group, &[&slot]).await, StatusCode::CREATED).await;
    assert_eq!(fetch(&app, &bob, &slot).await, b"first");
    let mut socket = app.socket(&bob.access_token).await;

    // A store that ignores conditional writes lets the URL replace the object (same size and type). The
    // replacement is never served: no redirect to it, and no link to it in the message.
    let key = format!("uploads/{}/{}", ann.id, slot["attachment_id"].as_str().unwrap());
    s3.replace_object(&key, "text/plain", b"evil!").await.unwrap();
    for user in [&ann, &bob] {
        let path = format!("/api/files/{}", slot["attachment_id"].as_str().unwrap());
        app.as_user(user).get(&path).await.not_found();
    }
    let page = app
        .as_user(&bob)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    let attachment = &page["items"][0]["attachments"][0];
    assert_eq!(attachment["id"], slot["attachment_id"]);
    assert!(attachment["url"].is_null(), "{attachment}");
    // Nor in what sockets are sent.
    let edited = app
        .as_user(&ann)
        .put(
            format!("/api/messages/{}", message["id"].as_str().unwrap()),
            json!({"content": "see attached (edited)"}),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    let delivered = socket.event("message:updated").await;
    let file = &delivered["attachments"][0];
    assert_eq!(file["id"], slot["attachment_id"]);
    assert!(file["url"].is_null(), "{file}");
    assert!(
        file.get("object_etag").is_none() && file.get("upload_open_until").is_none(),
        "{file}"
    );
}

#[tokio::test]
async fn open_uploads_and_unattached_bytes_are_capped_per_user() {
    let settings = [
        ("EPOP_MAX_OPEN_UPLOADS", "3"),
        ("EPOP_MAX_UNATTACHED_BYTES", "100"),
    ];
    let (app, [ann, bob]) = TestApp::with_settings_and_users(settings, ["Ann", "Bob"]).await;
    let group = app.group(&ann, "G", &[]).await;

    // Concurrent reservations cannot slip past the cap together.
    let names: Vec<String> = (0..8).map(|i| format!("f{i}.txt")).collect();
    let attempts = names
        .iter()
        .map(|name| presign(&app, &ann, name, "text/plain", 5));
    let statuses = statuses_at_once(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::CREATED).count(),
        3,
        "{statuses:?}"
    );
    let response = presign(&app, &ann, "more.txt", "text/plain", 5).await;
    let retry_after = response.retry_after();
    assert!((1..=24 * 3600).contains(&retry_after), "{retry_after}");
    let capped = problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let detail = capped["detail"].as_str().unwrap();
    assert!(
        detail.contains("3 uploads not attached"),
        "names the limit: {detail}"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM message_attachments WHERE uploader_id = '{}'",
            ann.id
        ))
        .await,
        3,
        "a refused reservation stores nothing"
    );

    // Others are not affected; attaching frees a slot at once.
    assert_eq!(
        presign(&app, &bob, "b.txt", "text/plain", 5).await.status(),
        StatusCode::CREATED
    );
    app.sql(&format!(
        "DELETE FROM message_attachments WHERE uploader_id = '{}'",
        ann.id
    ))
    .await;
    let first = upload(&app, &ann, "a.txt", "text/plain", &[b'a'; 60]).await;
    // 60 + 50 declared bytes would be over 100.
    let over = problem(
        presign(&app, &ann, "b.txt", "text/plain", 50).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    assert!(over["detail"].as_str().unwrap().contains("100 bytes"), "{over}");
    json_of(
        send_with(&app, &ann, &group, &[&first]).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        presign(&app, &ann, "b.txt", "text/plain", 50).await.status(),
        StatusCode::CREATED
    );
    // A file that could never fit is too large, not a matter of waiting.
    problem(
        presign(&app, &ann, "huge.txt", "text/plain", 101).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
}
