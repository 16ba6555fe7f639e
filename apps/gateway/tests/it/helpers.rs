//! `TestApp`: a running gateway plus typed request helpers.

use crate::client::{Answer, Caller};
use epop_gateway::app::{self, Application};
use epop_gateway::background::Background;
use epop_gateway::config::Config;
use epop_gateway::state::AppState;
use epop_test_support::{TestDatabase, redis_url, unique_prefix};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;

/// A test's raw WebSocket connection to the gateway.
pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
use std::sync::Arc;

/// The JWT secret every test gateway uses.
pub(crate) const JWT_SECRET: &str = "test-secret-test-secret-test-secret!";
/// A password that passes validation.
pub(crate) const PASSWORD: &str = "correct horse battery";

/// A gateway serving on 127.0.0.1 with its own database and Redis prefix.
pub(crate) struct TestApp {
    pub(crate) address: String,
    pub(crate) state: AppState,
    pub(crate) client: reqwest::Client,
    pub(crate) db: Arc<TestDatabase>,
    pub(crate) vars: HashMap<String, String>,
    /// The gateway's background roles (relay, jobs, sweepers, listeners), stopped when the test app is dropped
    /// (`None`: [`TestApp::serving_only`]).
    _background: Option<Background>,
}

/// A signed-up user and their tokens.
#[derive(Debug, Clone)]
pub(crate) struct TestUser {
    pub(crate) id: String,
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
}

impl TestUser {
    /// The user and tokens of a session answer (sign-up, sign-in, refresh).
    pub(crate) fn from_session(body: &Value) -> Self {
        Self {
            id: body["user"]["id"].as_str().expect("user id").to_owned(),
            access_token: body["access_token"].as_str().expect("access token").to_owned(),
            refresh_token: body["refresh_token"].as_str().expect("refresh token").to_owned(),
        }
    }
}

pub(crate) fn base_vars(db: &TestDatabase) -> HashMap<String, String> {
    let storage = std::env::temp_dir().join(format!("epop-test-store-{}", uuid::Uuid::now_v7().simple()));
    HashMap::from([
        ("DATABASE_URL".to_owned(), db.url.clone()),
        ("REDIS_URL".to_owned(), redis_url()),
        ("EPOP_REDIS_PREFIX".to_owned(), unique_prefix()),
        ("EPOP_JWT_SECRET".to_owned(), JWT_SECRET.to_owned()),
        ("EPOP_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        (
            "EPOP_STORAGE_DIR".to_owned(),
            storage.to_string_lossy().into_owned(),
        ),
        ("EPOP_WORKERS".to_owned(), "2".to_owned()),
        ("EPOP_DB_POOL_SIZE".to_owned(), "4".to_owned()),
        ("EPOP_AUTH_RATE_LIMIT".to_owned(), "1000".to_owned()),
        ("EPOP_API_RATE_LIMIT".to_owned(), "100000".to_owned()),
        ("RUST_LOG".to_owned(), "warn".to_owned()),
    ])
}

impl TestApp {
    /// A gateway with the default test configuration.
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A gateway with these configuration variables set over the test defaults.
    pub(crate) async fn with_settings<const N: usize>(settings: [(&str, &str); N]) -> Self {
        Self::spawn_with(|vars| {
            for (name, value) in settings {
                vars.insert(name.to_owned(), value.to_owned());
            }
        })
        .await
    }

    /// A gateway whose configuration variables `customize` may change (remove a key to unset it).
    pub(crate) async fn spawn_with(customize: impl FnOnce(&mut HashMap<String, String>)) -> Self {
        let db = Arc::new(TestDatabase::create().await.expect("test database"));
        let mut vars = base_vars(&db);
        customize(&mut vars);
        Self::start(db, vars).await
    }

    /// A second gateway node sharing this one's database and Redis prefix.
    pub(crate) async fn spawn_peer(&self) -> Self {
        Self::start(self.db.clone(), self.vars.clone()).await
    }

    /// A gateway that serves HTTP but runs no background role (no outbox relay, no job worker): the test runs
    /// them in a process of its own (`epop-gateway worker`), which it may kill and start again.
    pub(crate) async fn serving_only(customize: impl FnOnce(&mut HashMap<String, String>)) -> Self {
        let db = Arc::new(TestDatabase::create().await.expect("test database"));
        let mut vars = base_vars(&db);
        customize(&mut vars);
        Self::start_with(db, vars, false).await
    }

    pub(crate) async fn start(db: Arc<TestDatabase>, vars: HashMap<String, String>) -> Self {
        Self::start_with(db, vars, true).await
    }

    async fn start_with(db: Arc<TestDatabase>, vars: HashMap<String, String>, background: bool) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        let bound = listener.local_addr().expect("bound address");
        let mut vars = vars;
        vars.insert("EPOP_LISTEN".into(), bound.to_string());
        vars.insert("EPOP_PUBLIC_URL".into(), format!("http://{bound}"));
        let config = Config::from_source(&vars).expect("test configuration");
        app::prepare_database(&config).await.expect("database ready");
        let (state, sequencer) = app::build_state(config).await.expect("state builds");
        app::ensure_admin(&state).await.expect("admin account");
        app::seal_webhook_secrets(&state).await;
        let background = background.then(|| Background::start(&state, sequencer).expect("background starts"));
        let app = Application::with_listener(state, listener).expect("gateway starts");
        let address = format!("http://{}", app.address());
        let state = app.state().clone();
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self {
            address,
            state,
            client,
            db,
            vars,
            _background: background,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A Socket.IO session over WebSocket that sent CONNECT with `auth`: the socket and the text of the
    /// server's answer to the CONNECT (`40{"sid",…}`, or a `44` refusal).
    pub(crate) async fn socket_with(&self, auth: &Value) -> (Ws, String) {
        use futures_util::{SinkExt as _, StreamExt as _};
        let url = format!(
            "{}/socket.io/?EIO=4&transport=websocket",
            self.address.replace("http", "ws")
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("WebSocket upgrade");
        ws.next().await.unwrap().unwrap(); // Engine.IO open
        ws.send(tokio_tungstenite::tungstenite::Message::text(format!("40{auth}")))
            .await
            .unwrap();
        let reply = ws.next().await.unwrap().unwrap();
        (ws, reply.to_text().unwrap().to_owned())
    }

    /// A Socket.IO session over WebSocket authenticated with `token` (its CONNECT accepted).
    pub(crate) async fn socket(&self, token: &str) -> Ws {
        let (ws, reply) = self.socket_with(&json!({"token": token})).await;
        assert!(reply.starts_with("40{\"sid\""), "{reply}");
        ws
    }

    /// The text of `/metrics`.
    pub(crate) async fn metrics(&self) -> String {
        self.request(Method::GET, "/metrics")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A gateway with the default test configuration and one signed-up user per name (see [`TestApp::users`]).
    pub(crate) async fn with_users<const N: usize>(names: [&str; N]) -> (Self, [TestUser; N]) {
        Self::with_settings_and_users([], names).await
    }

    /// A gateway with `settings` over the test defaults (see [`TestApp::with_settings`]) and one signed-up user
    /// per name (see [`TestApp::users`]).
    pub(crate) async fn with_settings_and_users<const S: usize, const N: usize>(
        settings: [(&str, &str); S],
        names: [&str; N],
    ) -> (Self, [TestUser; N]) {
        let app = Self::with_settings(settings).await;
        let users = app.users(names).await;
        (app, users)
    }

    /// A gateway, one signed-up user per name (see [`TestApp::users`]) and a group "G" the first owns with
    /// all the others as members: the conversation most chat tests start from.
    pub(crate) async fn with_group<const N: usize>(names: [&str; N]) -> (Self, [TestUser; N], String) {
        let (app, users) = Self::with_users(names).await;
        let (owner, members) = users.split_first().expect("a group has an owner");
        let group = app.group(owner, "G", &members.iter().collect::<Vec<_>>()).await;
        (app, users, group)
    }

    /// A gateway with Ann and Bob signed up and their direct conversation: `(app, [ann, bob], direct)`.
    pub(crate) async fn with_direct() -> (Self, [TestUser; 2], String) {
        let (app, [ann, bob]) = Self::with_users(["Ann", "Bob"]).await;
        let direct = app.direct(&ann, &bob).await;
        (app, [ann, bob], direct)
    }

    /// A gateway with `settings` (see [`TestApp::with_settings`]), Ann and Bob in their direct conversation and
    /// Out outside it: `(app, [ann, bob, out], direct)`, for what members may do and others may not.
    pub(crate) async fn direct_with_outsider<const N: usize>(
        settings: [(&str, &str); N],
    ) -> (Self, [TestUser; 3], String) {
        let app = Self::with_settings(settings).await;
        let [ann, bob, out] = app.users(["Ann", "Bob", "Out"]).await;
        let direct = app.direct(&ann, &bob).await;
        (app, [ann, bob, out], direct)
    }

    /// Signs up one user per name, in order, each with the e-mail `<name in lower case>@example.com`.
    pub(crate) async fn users<const N: usize>(&self, names: [&str; N]) -> [TestUser; N] {
        let mut users = Vec::with_capacity(N);
        for name in names {
            users.push(
                self.register(name, &format!("{}@example.com", name.to_lowercase()))
                    .await,
            );
        }
        users.try_into().expect("one user per name")
    }

    /// Registers a user with `name` and `email` (password [`PASSWORD`]).
    pub(crate) async fn register(&self, name: &str, email: &str) -> TestUser {
        TestUser::from_session(&self.sign_up(name, email).await.json(StatusCode::CREATED))
    }

    /// Asks to register `name` with `email` and [`PASSWORD`], whatever the answer.
    pub(crate) async fn sign_up(&self, name: &str, email: &str) -> Answer {
        self.anonymous()
            .post(
                "/api/auth/register",
                json!({"name": name, "email": email, "password": PASSWORD}),
            )
            .await
    }

    /// Signs in with `email` and `password`, whatever the answer.
    pub(crate) async fn sign_in(&self, email: &str, password: &str) -> Answer {
        self.anonymous()
            .post("/api/auth/login", json!({"email": email, "password": password}))
            .await
    }

    /// Signs in with `email` and [`PASSWORD`], which must succeed: a new session, with a role changed since.
    pub(crate) async fn sign_in_again(&self, email: &str) -> TestUser {
        TestUser::from_session(&self.sign_in(email, PASSWORD).await.json(StatusCode::OK))
    }

    /// Exchanges a refresh token sent in the body (not the cookie), whatever the answer.
    pub(crate) async fn refresh(&self, refresh_token: &str) -> Answer {
        self.anonymous()
            .post("/api/auth/refresh", json!({"refresh_token": refresh_token}))
            .await
    }

    /// Runs SQL against this gateway's private database.
    pub(crate) async fn sql(&self, statement: &str) {
        use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
        let mut conn = AsyncPgConnection::establish(&self.db.url)
            .await
            .expect("db connection");
        diesel::sql_query(statement)
            .execute(&mut conn)
            .await
            .expect("sql");
    }

    /// Counts rows of a query `SELECT count(*) AS n FROM ...`.
    pub(crate) async fn count(&self, query: &str) -> i64 {
        use diesel::QueryableByName;
        use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = AsyncPgConnection::establish(&self.db.url)
            .await
            .expect("db connection");
        let rows: Vec<Count> = diesel::sql_query(query)
            .load(&mut conn)
            .await
            .expect("count query");
        <[Count]>::first(&rows).map_or(0, |row| row.n)
    }
}

/// What [`json_of`] and [`problem`] read: a raw response or an [`Answer`] of the test client.
pub(crate) trait ReadAnswer {
    async fn answer(self) -> Answer;
}

impl ReadAnswer for Response {
    async fn answer(self) -> Answer {
        Answer::read(self).await
    }
}

impl ReadAnswer for Answer {
    async fn answer(self) -> Answer {
        self
    }
}

/// Reads a response as JSON, asserting its status first.
pub(crate) async fn json_of(response: impl ReadAnswer, status: StatusCode) -> Value {
    response.answer().await.json(status)
}

/// Asserts a problem+json answer with `status` and `code` (carrying its request's id), and returns the body.
pub(crate) async fn problem(response: impl ReadAnswer, status: StatusCode, code: &str) -> Value {
    let answer = response.answer().await;
    answer.problem(status, code);
    answer.json(status)
}

/// A JWT with `header` and `claims`, signed with HMAC-SHA-256 and `secret` whatever `header` names: a token the
/// test makes itself (expired, foreign, of another algorithm) to see what the gateway does with it.
pub(crate) fn forge_token(header: &Value, claims: &Value, secret: &[u8]) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::Mac as _;
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(format!("{head}.{body}").as_bytes());
    format!(
        "{head}.{body}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// Each item's `field` (a string; a JSON pointer such as `/root/content` reaches inside the item) of a page,
/// in the page's order.
pub(crate) fn pluck(page: &Value, field: &str) -> Vec<String> {
    let items = page["items"].as_array().expect("a page has items");
    items
        .iter()
        .map(|item| {
            let value = if field.starts_with('/') {
                item.pointer(field).unwrap_or(&Value::Null)
            } else {
                &item[field]
            };
            value.as_str().expect("a string field").to_owned()
        })
        .collect()
}

/// The `field` names of a validation problem.
pub(crate) fn failing_fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().map_or_else(Vec::new, |errors| {
        errors
            .iter()
            .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
            .collect()
    })
}

impl TestApp {
    /// Creates a group owned by `owner` with `members`, returning its id.
    pub(crate) async fn group(&self, owner: &TestUser, name: &str, members: &[&TestUser]) -> String {
        let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
        let body = json!({"type": "group", "name": name, "member_ids": ids});
        let answer = self.as_user(owner).post("/api/conversations", body).await;
        answer.json(StatusCode::CREATED)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Opens the direct conversation of `owner` and `other` (it must be new), returning its id.
    pub(crate) async fn direct(&self, owner: &TestUser, other: &TestUser) -> String {
        let body = json!({"type": "direct", "member_ids": [other.id]});
        let answer = self.as_user(owner).post("/api/conversations", body).await;
        answer.json(StatusCode::CREATED)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The OpenAPI document the gateway serves.
    pub(crate) async fn openapi(&self) -> Value {
        self.anonymous().get_ok("/api/openapi.json").await
    }

    /// Posts a reply in `root`'s thread (not sent to the conversation) and returns it.
    pub(crate) async fn reply(
        &self,
        sender: &TestUser,
        conversation: &str,
        root: &Value,
        content: &str,
    ) -> Value {
        let path = format!("/api/conversations/{conversation}/messages");
        self.as_user(sender)
            .post_created(path, json!({"content": content, "thread_root_id": root["id"]}))
            .await
    }

    /// Posts a message and returns it.
    pub(crate) async fn message(&self, sender: &TestUser, conversation: &str, content: &str) -> Value {
        let path = format!("/api/conversations/{conversation}/messages");
        self.as_user(sender)
            .post_created(path, json!({"content": content}))
            .await
    }
}

/// The next event published on `events`, which must come within five seconds (`what` says which, for a failure).
pub(crate) async fn next_event(
    events: &mut tokio::sync::broadcast::Receiver<Arc<epop_storage::outbox::PublishedEvent>>,
    what: &str,
) -> Arc<epop_storage::outbox::PublishedEvent> {
    tokio::time::timeout(std::time::Duration::from_secs(5), events.recv())
        .await
        .unwrap_or_else(|_| panic!("{what} in time"))
        .expect("the event bus is open")
}

/// Reads published events one by one, asserting that each comes within five seconds and after the one before
/// (in position order, each once).
pub(crate) struct EventsInOrder {
    events: tokio::sync::broadcast::Receiver<Arc<epop_storage::outbox::PublishedEvent>>,
    last: i64,
}

impl EventsInOrder {
    pub(crate) fn new(
        events: tokio::sync::broadcast::Receiver<Arc<epop_storage::outbox::PublishedEvent>>,
    ) -> Self {
        Self { events, last: 0 }
    }

    /// The next event (`what` says which, for a failure).
    pub(crate) async fn next(&mut self, what: &str) -> Arc<epop_storage::outbox::PublishedEvent> {
        let event = next_event(&mut self.events, what).await;
        assert!(
            event.position > self.last,
            "{what}: events arrive in position order, each once"
        );
        self.last = event.position;
        event
    }
}

impl TestApp {
    /// Every page `by` reads from `path` on, following `next_cursor` (added as `cursor=`) to the end.
    pub(crate) async fn every_page(&self, by: &TestUser, path: &str) -> Vec<Value> {
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(cursor) => format!("{path}{sep}cursor={cursor}"),
                None => path.to_owned(),
            };
            let page = self.as_user(by).get_ok(&url).await;
            cursor = page["next_cursor"].as_str().map(str::to_owned);
            pages.push(page);
            if cursor.is_none() {
                return pages;
            }
            assert!(pages.len() < 50, "paging does not end");
        }
    }
}

/// The Redis keys that match `pattern` on the server at `url`.
pub(crate) async fn redis_keys(url: &str, pattern: &str) -> Vec<String> {
    let client = redis::Client::open(url).expect("a Redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut conn)
        .await
        .expect("KEYS")
}

/// Asserts that a command run to its end succeeded, showing what it wrote to stderr otherwise.
#[track_caller]
/// The gateway binary with `args` and a clean environment (no `.env` is read: the working directory is a fresh
/// temp dir); add the variables the command needs.
pub(crate) fn gateway_command(args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_epop-gateway"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(std::env::temp_dir());
    command
}

pub(crate) fn assert_succeeded(output: &std::process::Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The elements of `list`, which must be a JSON array.
pub(crate) fn elements(list: &Value) -> std::slice::Iter<'_, Value> {
    list.as_array().expect("a JSON array").iter()
}

/// The conversation `id` as `user` sees it.
pub(crate) async fn conversation_as(app: &TestApp, user: &TestUser, id: &str) -> Value {
    app.as_user(user).get_ok(format!("/api/conversations/{id}")).await
}

/// The `unread_count` of the conversation `id` for `user`.
pub(crate) async fn unread_count(app: &TestApp, user: &TestUser, id: &str) -> i64 {
    conversation_as(app, user, id).await["unread_count"]
        .as_i64()
        .unwrap()
}

/// The first page of `user`'s followed threads: `(root content, thread)` each.
pub(crate) async fn followed_threads(app: &TestApp, user: &TestUser) -> Vec<(String, Value)> {
    let page = app.as_user(user).get_ok("/api/threads").await;
    elements(&page["items"])
        .map(|t| (t["root"]["content"].as_str().unwrap().to_owned(), t.clone()))
        .collect()
}

/// How long a test waits for background jobs before it fails.
pub(crate) const JOB_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Polls `query` (a `SELECT count(*) AS n …`) every 50 ms until `done` holds for its count; fails with
/// `what` if it does not within `within`.
pub(crate) async fn wait_for_count(
    app: &TestApp,
    query: &str,
    done: impl Fn(i64) -> bool,
    within: std::time::Duration,
    what: &str,
) {
    let started = std::time::Instant::now();
    while !done(app.count(query).await) {
        assert!(started.elapsed() < within, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// [`wait_for_count`] until `query` counts nothing.
pub(crate) async fn wait_for_none(app: &TestApp, query: &str, within: std::time::Duration, what: &str) {
    wait_for_count(app, query, |n| n == 0, within, what).await;
}

/// [`wait_for_count`] until `query` counts at least `count`.
pub(crate) async fn wait_for_at_least(
    app: &TestApp,
    query: &str,
    count: i64,
    within: std::time::Duration,
    what: &str,
) {
    wait_for_count(app, query, |n| n >= count, within, what).await;
}

/// `user` reads `conversation` up to its newest message.
pub(crate) async fn mark_read(app: &TestApp, user: &TestUser, conversation: &str) {
    app.as_user(user)
        .post(format!("/api/conversations/{conversation}/read"), json!({}))
        .await
        .empty(StatusCode::NO_CONTENT);
}

/// Do-not-disturb ends for `users` (their settings cleared) and the jobs of `queue` it deferred become due.
pub(crate) async fn end_do_not_disturb(app: &TestApp, users: &[&TestUser], queue: &str) {
    for user in users {
        app.as_user(user)
            .put("/api/users/me/notification-settings", json!({}))
            .await
            .json(StatusCode::OK);
    }
    due_now(app, queue).await;
}

/// Makes the queued jobs of `queue` due now (a scheduled message's or reminder's time comes at once).
pub(crate) async fn due_now(app: &TestApp, queue: &str) {
    app.sql(&format!(
        "UPDATE jobs SET run_at = now() WHERE queue = '{queue}' AND status = 'queued'"
    ))
    .await;
}

/// Waits until `count` jobs of `queue` are queued to run after the end of an hour's do-not-disturb.
pub(crate) async fn wait_for_deferred(app: &TestApp, queue: &str, count: i64, what: &str) {
    let deferred = format!(
        "SELECT count(*) AS n FROM jobs WHERE queue = '{queue}' AND status = 'queued' \
         AND run_at > now() + interval '50 minutes'"
    );
    wait_for_at_least(app, &deferred, count, JOB_WAIT, what).await;
}

/// Runs `attempt` every 50 ms until it gives `Ok`, and returns that; fails with the last `Err` it gave once
/// `within` has passed (for what the outbox relay and job workers make asynchronously).
pub(crate) async fn eventually<T, Attempt>(
    within: std::time::Duration,
    mut attempt: impl FnMut() -> Attempt,
) -> T
where
    Attempt: Future<Output = Result<T, String>>,
{
    let started = std::time::Instant::now();
    loop {
        match attempt().await {
            Ok(done) => return done,
            Err(why) => assert!(started.elapsed() < within, "{why}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The page at `path` as `caller` reads it once `done` holds for it, waiting up to `within` (for what the
/// outbox relay and the job workers make asynchronously); `what` names what did not come, for a failure.
pub(crate) async fn page_when(
    caller: &Caller<'_>,
    path: &str,
    within: std::time::Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    eventually(within, || async {
        let page = caller.clone().get_ok(path).await;
        if done(&page) {
            Ok(page)
        } else {
            Err(format!("{what} did not arrive: {page}"))
        }
    })
    .await
}

/// `user`'s notifications of type `kind` on the page at `path`, waiting up to `within` until there are `count`
/// (the outbox relay and the job worker make them asynchronously).
pub(crate) async fn notifications_of_kind(
    app: &TestApp,
    user: &TestUser,
    path: &str,
    kind: &str,
    count: usize,
    within: std::time::Duration,
) -> Vec<Value> {
    let of_kind = |page: &Value| -> Vec<Value> {
        elements(&page["items"])
            .filter(|n| n["type"] == kind)
            .cloned()
            .collect()
    };
    let what = format!("{kind} notifications");
    let page = page_when(&app.as_user(user), path, within, &what, |page| {
        of_kind(page).len() >= count
    })
    .await;
    of_kind(&page)
}

/// How many of `user`'s notifications (the first page) are of type `kind`.
pub(crate) async fn count_of_kind(app: &TestApp, user: &TestUser, kind: &str) -> usize {
    let page = app.as_user(user).get_ok("/api/notifications?limit=100").await;
    elements(&page["items"]).filter(|n| n["type"] == kind).count()
}

/// The list at `path` (no query) refuses the cursor `cursor` (`400 bad_request`) and each of `limits` (`422`
/// naming `limit`), as `user`.
pub(crate) async fn assert_paging_checked(
    app: &TestApp,
    user: &TestUser,
    path: &str,
    cursor: &str,
    limits: &[&str],
) {
    app.as_user(user)
        .get(format!("{path}?cursor={cursor}"))
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
    for limit in limits {
        app.as_user(user)
            .get(format!("{path}?limit={limit}"))
            .await
            .invalid_fields(&["limit"]);
    }
}
