//! Single sign-on with OpenID Connect: the authorization code flow with PKCE and a nonce, the provider found by
//! discovery (the `openidconnect` crate does the protocol: discovery, the authorization URL, the code exchange,
//! the ID token's signature, issuer, audience, expiry and nonce).
//!
//! 1. [`AuthService::oidc_start`] makes a `state`, a nonce and a PKCE verifier, keeps the hash of the state
//!    with the other two for ten minutes (`oidc_states`), and answers the provider's authorization URL. The
//!    gateway also puts the state in a short-lived cookie of the browser that started, so only that browser can
//!    finish (login CSRF).
//! 2. [`AuthService::oidc_callback`] takes the state (once: it is deleted), checks it against the cookie,
//!    exchanges the code with the verifier, verifies the ID token and its nonce, and finds the account: the one
//!    the provider's subject was linked to, else the one with the provider's **verified** e-mail (then linked),
//!    else a new one when the provider may create accounts. The e-mail's domain must be one the provider
//!    allows. It answers a one-time code (60 seconds, only its hash kept) for the web app; every refusal is a
//!    [`SsoFailure`] and an `auth.login_failed` audit row.
//! 3. [`AuthService::oidc_exchange`] takes the code (once) and signs the account in as a password would: a
//!    session, or the second factor's challenge when the account has one.
//!
//! Requests leave only for the configured issuers' discovery documents and the endpoints those documents name;
//! redirects are never followed; the documents are kept for an hour per provider.

use crate::error::{AuthError, AuthResult};
use crate::mfa::SignIn;
use crate::model::ClientInfo;
use crate::repo::oidc::{self as repo, ExchangeCodeRow, StateRow};
use crate::repo::users::{self, NewUserRow, UserChangeset};
use crate::service::AuthService;
use crate::token;
use chrono::Duration;
use diesel_async::AsyncConnection as _;
use epop_core::{FieldError, UserId};
use epop_storage::audit::{self, AuditAction, AuditEntry, AuditTarget};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _,
};
use secrecy::{ExposeSecret as _, SecretString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How long a sign-in sent to a provider may take to come back.
const STATE_TTL_MINUTES: i64 = 10;
/// How long the web app has to exchange a finished callback's code.
const EXCHANGE_CODE_TTL_SECONDS: i64 = 60;
/// How long a provider's discovery document is kept.
const METADATA_TTL: std::time::Duration = std::time::Duration::from_secs(60 * 60);
/// The longest a request to a provider may take.
const PROVIDER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The longest name a new account takes from the provider.
const MAX_NAME_CHARS: usize = 100;

/// One OpenID Connect provider, as configured (`EPOP_OIDC_PROVIDERS`).
#[derive(Debug, Clone)]
pub struct OidcProvider {
    /// Its id in the URLs (`/api/auth/oidc/{id}/start`).
    pub id: String,
    /// The issuer URL; discovery reads `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// The client id registered at the provider.
    pub client_id: String,
    /// The client secret (`None`: a public client, PKCE only).
    pub client_secret: Option<SecretString>,
    /// E-mail domains (lower case) whose addresses may sign in through it; empty: any.
    pub allowed_domains: Vec<String>,
    /// Whether a first sign-in with an address no account has creates an account.
    pub create_accounts: bool,
    /// The callback URL registered at the provider (`.../api/auth/oidc/{id}/callback`).
    pub redirect_url: String,
}

impl OidcProvider {
    /// Whether `email`'s domain may sign in through this provider.
    pub fn allows(&self, email: &str) -> bool {
        let Some((_, domain)) = email.rsplit_once('@') else {
            return false;
        };
        let domain = domain.to_lowercase();
        self.allowed_domains.is_empty() || self.allowed_domains.contains(&domain)
    }
}

/// The configured providers, the HTTP client that talks to them, and their discovery documents.
#[derive(Clone)]
pub struct OidcProviders {
    providers: Arc<Vec<OidcProvider>>,
    http: openidconnect::reqwest::Client,
    /// One document per provider at most (bounded by the configuration).
    metadata: Arc<Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>>,
}

impl std::fmt::Debug for OidcProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProviders")
            .field("providers", &self.providers)
            .finish_non_exhaustive()
    }
}

impl OidcProviders {
    /// The providers of the configuration; fails only when no HTTP client can be built (no TLS).
    pub fn new(providers: Vec<OidcProvider>) -> AuthResult<Self> {
        let http = openidconnect::reqwest::Client::builder()
            // Following redirects would let a provider's answer send the server anywhere.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|e| AuthError::Crypto(format!("building the OpenID Connect client: {e}")))?;
        Ok(Self {
            providers: Arc::new(providers),
            http,
            metadata: Arc::default(),
        })
    }

    /// The provider with this id.
    pub fn get(&self, id: &str) -> Option<&OidcProvider> {
        self.providers.iter().find(|provider| provider.id == id)
    }

    /// The provider's discovery document, from the cache or fetched from its issuer.
    async fn metadata(&self, provider: &OidcProvider) -> Result<CoreProviderMetadata, String> {
        if let Ok(cache) = self.metadata.lock()
            && let Some((at, metadata)) = cache.get(&provider.id)
            && at.elapsed() < METADATA_TTL
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(provider.issuer.clone()).map_err(|e| e.to_string())?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| e.to_string())?;
        if let Ok(mut cache) = self.metadata.lock() {
            cache.insert(provider.id.clone(), (Instant::now(), metadata.clone()));
        }
        Ok(metadata)
    }

    /// The provider's document, or [`AuthError::ProviderUnavailable`] (logged) when it cannot be had.
    async fn metadata_or_unavailable(&self, provider: &OidcProvider) -> AuthResult<CoreProviderMetadata> {
        self.metadata(provider).await.map_err(|error| {
            tracing::warn!(provider = %provider.id, %error, "OpenID Connect discovery failed");
            AuthError::ProviderUnavailable
        })
    }
}

/// Builds the client of `provider` from its discovery document.
fn client_of(
    provider: &OidcProvider,
    metadata: CoreProviderMetadata,
) -> AuthResult<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
> {
    let redirect = RedirectUrl::new(provider.redirect_url.clone())
        .map_err(|e| AuthError::Crypto(format!("the redirect URL of `{}`: {e}", provider.id)))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        provider
            .client_secret
            .as_ref()
            .map(|secret| ClientSecret::new(secret.expose_secret().to_owned())),
    )
    .set_redirect_uri(redirect))
}

/// Where to send the browser to sign in at a provider, and the state to bind to it.
#[derive(Debug, Clone)]
pub struct SsoStart {
    /// The provider's authorization URL with the client, scopes, state, nonce and PKCE challenge.
    pub authorize_url: String,
    /// The `state` (the gateway keeps it in the browser's cookie too).
    pub state: String,
    /// How long the sign-in may take, in seconds.
    pub expires_in: i64,
}

/// What the provider sent back to the callback, and the state the browser's cookie holds.
#[derive(Debug, Clone, Default)]
pub struct SsoCallback {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` the provider sent back.
    pub state: Option<String>,
    /// The provider's `error` (such as `access_denied`) when it did not sign the user in.
    pub error: Option<String>,
    /// The state in the cookie of the browser that started the sign-in.
    pub browser_state: Option<String>,
}

/// Why a single sign-on callback did not sign anyone in (each is sent to the web app by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoFailure {
    /// The `state` is missing, unknown, expired, used, for another provider, or not this browser's.
    InvalidState,
    /// The provider answered with an error (the user cancelled, for instance).
    ProviderError,
    /// The provider could not be reached.
    ProviderUnavailable,
    /// The code was refused by the provider (expired, used) or missing.
    CodeRejected,
    /// The ID token is missing, badly signed, for someone else, or has the wrong nonce.
    InvalidIdToken,
    /// The provider sent no e-mail address, or did not say it is verified.
    EmailNotVerified,
    /// The address's domain may not sign in through this provider.
    EmailDomainNotAllowed,
    /// No account has the address, and this provider may not create accounts.
    AccountCreationDisabled,
    /// The account was deactivated.
    Deactivated,
}

impl SsoFailure {
    /// The name sent to the web app and written to the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            SsoFailure::InvalidState => "invalid_state",
            SsoFailure::ProviderError => "provider_error",
            SsoFailure::ProviderUnavailable => "provider_unavailable",
            SsoFailure::CodeRejected => "code_rejected",
            SsoFailure::InvalidIdToken => "invalid_id_token",
            SsoFailure::EmailNotVerified => "email_not_verified",
            SsoFailure::EmailDomainNotAllowed => "email_domain_not_allowed",
            SsoFailure::AccountCreationDisabled => "account_creation_disabled",
            SsoFailure::Deactivated => "deactivated",
        }
    }
}

/// Who the provider says signed in.
struct Identity {
    subject: String,
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
}

/// How the callback found the account.
enum Resolved {
    Known(UserId),
    Failed(SsoFailure, Option<UserId>),
}

impl AuthService {
    /// Sets the single sign-on providers.
    pub fn with_oidc(mut self, providers: OidcProviders) -> Self {
        self.oidc = Some(providers);
        self
    }

    /// The configured provider `id`, or `UnknownProvider`.
    fn oidc_provider(&self, id: &str) -> AuthResult<(&OidcProviders, &OidcProvider)> {
        let providers = self.oidc.as_ref().ok_or(AuthError::UnknownProvider)?;
        let provider = providers.get(id).ok_or(AuthError::UnknownProvider)?;
        Ok((providers, provider))
    }

    /// Starts a sign-in at provider `id`: the authorization URL to send the browser to, with a new state, nonce
    /// and PKCE challenge (kept for ten minutes). `UnknownProvider` for an id that is not configured,
    /// `ProviderUnavailable` when its discovery document cannot be had.
    #[tracing::instrument(skip(self))]
    pub async fn oidc_start(&self, id: &str) -> AuthResult<SsoStart> {
        let (providers, provider) = self.oidc_provider(id)?;
        let metadata = providers.metadata_or_unavailable(provider).await?;
        let client = client_of(provider, metadata)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let ttl = Duration::minutes(STATE_TTL_MINUTES);
        let mut conn = self.pool.get().await?;
        repo::insert_state(
            &mut conn,
            &StateRow {
                state_hash: token::link_token_hash(state.secret()),
                provider: provider.id.clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                expires_at: self.clock.now() + ttl,
            },
        )
        .await?;
        Ok(SsoStart {
            authorize_url: url.to_string(),
            state: state.secret().clone(),
            expires_in: ttl.num_seconds(),
        })
    }

    /// Finishes a sign-in at provider `id` (see the module's notes): `Ok(Ok(code))` with the one-time code for
    /// [`Self::oidc_exchange`], `Ok(Err(failure))` when nobody was signed in (audited), `UnknownProvider`
    /// for an id that is not configured.
    #[tracing::instrument(skip_all, fields(provider = %id))]
    pub async fn oidc_callback(
        &self,
        id: &str,
        callback: SsoCallback,
        client: &ClientInfo,
    ) -> AuthResult<Result<String, SsoFailure>> {
        let (providers, provider) = self.oidc_provider(id)?;
        let identity = match self.provider_identity(providers, provider, callback).await? {
            Ok(identity) => identity,
            Err(failure) => {
                self.audit_sso_failure(provider, failure, None, None, client)
                    .await?;
                return Ok(Err(failure));
            }
        };
        let email = identity.email.clone().unwrap_or_default();
        if !identity.email_verified || email.is_empty() {
            let failure = SsoFailure::EmailNotVerified;
            self.audit_sso_failure(provider, failure, Some(&email), None, client)
                .await?;
            return Ok(Err(failure));
        }
        if !provider.allows(&email) {
            let failure = SsoFailure::EmailDomainNotAllowed;
            self.audit_sso_failure(provider, failure, Some(&email), None, client)
                .await?;
            return Ok(Err(failure));
        }
        let code = token::new_link_token()?;
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let resolved = conn
            .transaction::<_, AuthError, _>(async |conn| {
                let resolved = self
                    .resolve_account(conn, provider, &identity, &email, client, now)
                    .await?;
                if let Resolved::Known(user) = resolved {
                    repo::insert_exchange_code(
                        conn,
                        &ExchangeCodeRow {
                            code_hash: token::link_token_hash(&code),
                            user_id: user,
                            provider: provider.id.clone(),
                            expires_at: now + Duration::seconds(EXCHANGE_CODE_TTL_SECONDS),
                        },
                    )
                    .await?;
                }
                Ok(resolved)
            })
            .await?;
        match resolved {
            Resolved::Known(_) => Ok(Ok(code)),
            Resolved::Failed(failure, user) => {
                self.audit_sso_failure(provider, failure, Some(&email), user, client)
                    .await?;
                Ok(Err(failure))
            }
        }
    }

    /// Signs in with a finished callback's one-time code, as a password sign-in would (a session, or the
    /// second factor's challenge); audited as `auth.login` with method `oidc`. A code that is unknown, used or
    /// expired is `Invalid` on field `code`, and nothing changes.
    #[tracing::instrument(skip_all)]
    pub async fn oidc_exchange(&self, code: &str, client: &ClientInfo) -> AuthResult<SignIn> {
        let mut conn = self.pool.get().await?;
        let taken = repo::take_exchange_code(&mut conn, &token::link_token_hash(code)).await?;
        drop(conn);
        let Some(row) = taken.filter(|row| row.expires_at > self.clock.now()) else {
            return Err(AuthError::Invalid(vec![FieldError::new(
                "code",
                "is unknown, expired or already used",
            )]));
        };
        self.sign_in(
            row.user_id,
            client,
            serde_json::json!({"method": "oidc", "provider": row.provider}),
        )
        .await
    }

    /// The callback's checks up to the provider's word on who signed in: the state (once, this browser's),
    /// the code exchanged with the PKCE verifier, the ID token and its nonce, and the claims (from the ID
    /// token, else from the userinfo endpoint).
    async fn provider_identity(
        &self,
        providers: &OidcProviders,
        provider: &OidcProvider,
        callback: SsoCallback,
    ) -> AuthResult<Result<Identity, SsoFailure>> {
        let Some(state) = callback.state.filter(|state| !state.is_empty()) else {
            return Ok(Err(SsoFailure::InvalidState));
        };
        let hash = token::link_token_hash(&state);
        let mut conn = self.pool.get().await?;
        // Taken whatever follows: a state works once.
        let taken = repo::take_state(&mut conn, &hash).await?;
        drop(conn);
        let browser = callback.browser_state.as_deref().map(token::link_token_hash);
        let Some(row) = taken.filter(|row| {
            row.provider == provider.id
                && row.expires_at > self.clock.now()
                && browser.as_ref() == Some(&hash)
        }) else {
            return Ok(Err(SsoFailure::InvalidState));
        };
        if let Some(error) = callback.error {
            tracing::info!(provider = %provider.id, error = %error.chars().take(64).collect::<String>(), "the provider refused the sign-in");
            return Ok(Err(SsoFailure::ProviderError));
        }
        let Some(code) = callback.code.filter(|code| !code.is_empty()) else {
            return Ok(Err(SsoFailure::CodeRejected));
        };
        let Ok(metadata) = providers.metadata(provider).await else {
            return Ok(Err(SsoFailure::ProviderUnavailable));
        };
        let client = client_of(provider, metadata)?;
        let Ok(request) = client.exchange_code(AuthorizationCode::new(code)) else {
            return Ok(Err(SsoFailure::ProviderUnavailable));
        };
        let response = match request
            .set_pkce_verifier(PkceCodeVerifier::new(row.pkce_verifier))
            .request_async(&providers.http)
            .await
        {
            Ok(response) => response,
            Err(error) => {
                tracing::info!(provider = %provider.id, %error, "the provider refused the code");
                return Ok(Err(SsoFailure::CodeRejected));
            }
        };
        let Some(id_token) = response.id_token() else {
            return Ok(Err(SsoFailure::InvalidIdToken));
        };
        let verifier = client.id_token_verifier();
        let claims = match id_token.claims(&verifier, &Nonce::new(row.nonce)) {
            Ok(claims) => claims,
            Err(error) => {
                tracing::info!(provider = %provider.id, %error, "an ID token was refused");
                return Ok(Err(SsoFailure::InvalidIdToken));
            }
        };
        // The access token must be the one the ID token was issued with (when the token says which).
        if let Some(expected) = claims.access_token_hash() {
            let actual = id_token
                .signing_alg()
                .and_then(|alg| Ok((alg, id_token.signing_key(&verifier)?)))
                .ok()
                .and_then(|(alg, key)| AccessTokenHash::from_token(response.access_token(), alg, key).ok());
            if actual.as_ref() != Some(expected) {
                return Ok(Err(SsoFailure::InvalidIdToken));
            }
        }
        let mut identity = Identity {
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|email| email.as_str().to_owned()),
            email_verified: claims.email_verified() == Some(true),
            name: claims
                .name()
                .and_then(|name| name.get(None))
                .map(|name| name.as_str().to_owned())
                .or_else(|| claims.preferred_username().map(|name| name.as_str().to_owned())),
        };
        if identity.email.is_none()
            && let Ok(request) =
                client.user_info(response.access_token().clone(), Some(claims.subject().clone()))
        {
            let info: Result<CoreUserInfoClaims, _> = request.request_async(&providers.http).await;
            match info {
                Ok(info) => {
                    identity.email = info.email().map(|email| email.as_str().to_owned());
                    identity.email_verified = info.email_verified() == Some(true);
                }
                Err(error) => {
                    tracing::info!(provider = %provider.id, %error, "the userinfo request failed");
                }
            }
        }
        Ok(Ok(identity))
    }

    /// The account the provider's identity signs in to, inside the caller's transaction: the one it was
    /// linked to, else the one with its (verified, allowed) address, which is linked, else a new one when the
    /// provider may create accounts. Links and creations are audited.
    async fn resolve_account(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        provider: &OidcProvider,
        identity: &Identity,
        email: &str,
        client: &ClientInfo,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AuthResult<Resolved> {
        let ip = client.ip.as_deref();
        let details = serde_json::json!({"provider": provider.id, "email": email});
        // Bots sign in only with their tokens: an address of their domain never reaches an account.
        if crate::access_tokens::refuse_bot_address(email).is_err() {
            return Ok(Resolved::Failed(SsoFailure::EmailDomainNotAllowed, None));
        }
        if let Some(user) = repo::identity_owner(conn, &provider.id, &identity.subject).await? {
            let Some(row) = users::find(conn, user).await? else {
                return Ok(Resolved::Failed(SsoFailure::AccountCreationDisabled, None));
            };
            if row.deactivated_at.is_some() {
                return Ok(Resolved::Failed(SsoFailure::Deactivated, Some(user)));
            }
            repo::touch_identity(conn, &provider.id, &identity.subject, now).await?;
            return Ok(Resolved::Known(user));
        }
        if let Some(row) = users::find_by_email(conn, email).await? {
            if row.is_bot {
                return Ok(Resolved::Failed(SsoFailure::EmailDomainNotAllowed, None));
            }
            if row.deactivated_at.is_some() {
                return Ok(Resolved::Failed(SsoFailure::Deactivated, Some(row.id)));
            }
            repo::link_identity(conn, &provider.id, &identity.subject, row.id, now).await?;
            // The provider vouches for the address.
            if !row.email_verified {
                users::update(
                    conn,
                    row.id,
                    UserChangeset {
                        email_verified: Some(true),
                        updated_at: Some(now),
                        ..UserChangeset::default()
                    },
                )
                .await?;
            }
            let entry = AuditEntry::new(Some(row.id), AuditAction::SsoLinked, ip);
            audit::append(conn, &entry.on(AuditTarget::User(row.id)).with(details), now).await?;
            return Ok(Resolved::Known(row.id));
        }
        if !provider.create_accounts {
            return Ok(Resolved::Failed(SsoFailure::AccountCreationDisabled, None));
        }
        let name = account_name(identity.name.as_deref(), email);
        let row = users::insert(
            conn,
            NewUserRow {
                id: UserId::new(),
                name: &name,
                email,
                // No password until its owner sets one with a reset link.
                password_hash: users::UNUSABLE_PASSWORD,
                role: crate::model::Role::Member.as_str(),
                email_verified: true,
                is_bot: false,
            },
        )
        .await?;
        repo::link_identity(conn, &provider.id, &identity.subject, row.id, now).await?;
        let entry = AuditEntry::new(Some(row.id), AuditAction::SsoAccountCreated, ip);
        audit::append(conn, &entry.on(AuditTarget::User(row.id)).with(details), now).await?;
        Ok(Resolved::Known(row.id))
    }

    /// Records a refused single sign-on (`auth.login_failed`, method `oidc`, with the provider and reason).
    async fn audit_sso_failure(
        &self,
        provider: &OidcProvider,
        failure: SsoFailure,
        email: Option<&str>,
        user: Option<UserId>,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let mut details = serde_json::json!({
            "method": "oidc",
            "provider": provider.id,
            "reason": failure.as_str(),
        });
        if let Some(email) = email.filter(|email| !email.is_empty()) {
            details["email"] = serde_json::Value::from(email.chars().take(254).collect::<String>());
        }
        let mut entry = AuditEntry::new(None, AuditAction::LoginFailed, client.ip.as_deref()).with(details);
        if let Some(user) = user {
            entry = entry.on(AuditTarget::User(user));
        }
        let mut conn = self.pool.get().await?;
        audit::append(&mut conn, &entry, self.clock.now()).await?;
        Ok(())
    }
}

/// The name of an account made by single sign-on: the provider's (trimmed, control characters dropped, at
/// most 100 characters), else the address's local part.
fn account_name(name: Option<&str>, email: &str) -> String {
    let clean = |text: &str| {
        text.chars()
            .filter(|c| !c.is_control())
            .take(MAX_NAME_CHARS)
            .collect::<String>()
            .trim()
            .to_owned()
    };
    let name = name.map(clean).unwrap_or_default();
    if !name.is_empty() {
        return name;
    }
    let local = clean(email.split('@').next().unwrap_or_default());
    if local.is_empty() {
        "user".to_owned()
    } else {
        local
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(domains: &[&str]) -> OidcProvider {
        OidcProvider {
            id: "corp".into(),
            issuer: "https://id.example".into(),
            client_id: "epop".into(),
            client_secret: None,
            allowed_domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            create_accounts: true,
            redirect_url: "https://epop.example/api/auth/oidc/corp/callback".into(),
        }
    }

    #[test]
    fn domains_are_matched_whole_and_without_case() {
        assert!(provider(&[]).allows("ann@anything.example"));
        let corp = provider(&["corp.example"]);
        assert!(corp.allows("ann@corp.example"));
        assert!(corp.allows("Ann@CORP.Example"));
        assert!(!corp.allows("ann@evilcorp.example"));
        assert!(!corp.allows("ann@corp.example.evil"));
        assert!(!corp.allows("not an address"));
    }

    #[test]
    fn new_accounts_are_named_by_the_provider_or_the_address() {
        assert_eq!(account_name(Some("  Ann Lee "), "ann@corp.example"), "Ann Lee");
        assert_eq!(account_name(Some(" \u{7} "), "ann@corp.example"), "ann");
        assert_eq!(account_name(None, "bob@corp.example"), "bob");
        assert_eq!(account_name(Some(&"x".repeat(300)), "a@b").chars().count(), 100);
    }
}
