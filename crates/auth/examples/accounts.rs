//! `epop-auth` on its own: accounts, sign-in and token refresh against a PostgreSQL database, with no HTTP
//! server (what another Rust service embedding EPOP's accounts does).
//!
//! ```text
//! DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/epop_example cargo run -p epop-auth --example accounts
//! ```
//!
//! Applies EPOP's migrations to the database (creating its tables when they are missing), registers an account
//! with a new address, signs it in with its password, checks the access token the way every request is
//! checked, and rotates the refresh token: the old one is then refused as reused.

use epop_auth::{
    AuthError, AuthService, AuthSettings, ClientInfo, HasherSettings, NewAccount, PasswordHasher,
};
use epop_auth::{Role, SignIn, TokenSigner};
use epop_core::clock::SystemClock;
use secrecy::SecretString;
use std::sync::Arc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("set DATABASE_URL to a PostgreSQL database the example may migrate"))?;
    let applied = epop_storage::migrate::run_pending(&url).await?;
    println!("migrations applied: {applied}");
    let pool = epop_storage::db::build_pool(&url, 4)?;

    // Argon2id on one thread (one 19 MiB block), tokens signed with a secret of the embedder's.
    let hasher =
        tokio::task::spawn_blocking(|| PasswordHasher::new(HasherSettings::with_threads(1))).await??;
    let secret = SecretString::from(format!("example-secret-{}", uuid::Uuid::new_v4().simple()));
    let auth = AuthService::new(
        pool,
        hasher,
        TokenSigner::new(&secret),
        Arc::new(SystemClock),
        AuthSettings::default(),
    );

    let email = format!("example-{}@example.com", uuid::Uuid::now_v7().simple());
    let password = SecretString::from("correct horse battery".to_owned());
    let client = ClientInfo::new(Some("127.0.0.1".into()), Some("epop-auth example"));
    let registered = auth
        .register(
            NewAccount {
                name: "Example".into(),
                email: email.clone(),
                password: password.clone(),
                role: Role::Member,
            },
            &client,
        )
        .await?;
    println!("registered {} as {}", registered.user.email, registered.user.id);

    let wrong = SecretString::from("not the password".to_owned());
    match auth.login(&email, &wrong, &client).await {
        Err(AuthError::InvalidCredentials) => println!("a wrong password is refused"),
        other => anyhow::bail!("a wrong password was not refused: {:?}", other.map(|_| ())),
    }
    let SignIn::Session(session) = auth.login(&email, &password, &client).await? else {
        anyhow::bail!("this account has no second factor, yet sign-in asked for one");
    };
    let claims = auth.authenticate(&session.access_token).await?;
    println!(
        "the access token is {}'s, valid for {} s",
        claims.sub, session.expires_in
    );

    let rotated = auth.refresh(&session.refresh_token, &client).await?;
    match auth.refresh(&session.refresh_token, &client).await {
        Err(AuthError::TokenReused) => println!("the old refresh token is refused as reused"),
        other => anyhow::bail!("a reused refresh token was accepted: {:?}", other.map(|_| ())),
    }
    // Reuse ends the whole family: the rotated token is revoked too.
    let family_ended = auth.refresh(&rotated.refresh_token, &client).await.is_err();
    println!("reuse ended the session's family: {family_ended}");
    Ok(())
}
