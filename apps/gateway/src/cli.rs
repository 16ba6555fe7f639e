//! The command line: `epop-gateway` (serve), `worker`, `migrate`, `conformance`, `openapi`, `admin
//! create-user`, `admin reset-mfa` and `admin export-audit-log`. `serve` and `worker` combine the wiring steps of [`crate::app`] and [`crate::background`]
//! explicitly.

use crate::app::{self, Application};
use crate::background::Background;
use crate::config::{self, Config, Environment, Source as _};
use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use epop_auth::{
    AuthError, AuthService, AuthSettings, HasherSettings, NewAccount, PasswordHasher, Role, TokenSigner,
};
use epop_core::SystemClock;
use secrecy::{ExposeSecret as _, SecretString};
use std::io::BufRead as _;
use std::process::ExitCode;
use std::sync::Arc;

/// EPOP gateway: the HTTP and real-time API of the EPOP workspace.
#[derive(Debug, Parser)]
#[command(name = "epop-gateway", version, about)]
pub struct Cli {
    /// What to do; without a command the gateway applies migrations and serves.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What `epop-gateway` does besides serving (no subcommand: `serve`).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations and serve (the default).
    Serve,
    /// Apply pending database migrations and exit (idempotent; needs only DATABASE_URL).
    Migrate,
    /// Run the background workers alone (job queue, outbox relay and notifications), without serving HTTP.
    Worker,
    /// Serve the Socket.IO protocol conformance configuration for the official test suites (on
    /// EPOP_CONFORMANCE_LISTEN, default 127.0.0.1:3000; needs no other variable).
    Conformance,
    /// Print the OpenAPI document of the REST API (the one `GET /api/openapi.json` serves) and exit; needs no
    /// variable.
    Openapi {
        /// Print the endpoint index of docs/api.md (Markdown) instead.
        #[arg(long)]
        markdown: bool,
    },
    /// Administration tasks (need only DATABASE_URL, except where a task says otherwise).
    Admin {
        /// The administration task.
        #[command(subcommand)]
        task: AdminTask,
    },
}

/// Administration tasks.
#[derive(Debug, Subcommand)]
pub enum AdminTask {
    /// Create a user; the password is read from standard input. Fails when the e-mail is taken.
    CreateUser {
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Global role.
        #[arg(long, value_enum, default_value_t = RoleArg::Member)]
        role: RoleArg,
    },
    /// Turn off a user's second factor (TOTP and recovery codes), for someone who lost their device, and end
    /// every session of theirs (a lost device may be signed in). With REDIS_URL (and EPOP_REDIS_PREFIX) set as
    /// for the gateway, the sessions end at once; without, when a gateway relays the change (a second or so).
    /// Fails when no user has the e-mail.
    ResetMfa {
        /// The user's e-mail address (any case).
        #[arg(long)]
        email: String,
    },
    /// Write the audit log to standard output as JSON lines, oldest first (one object per line, the fields of
    /// `GET /api/admin/audit-log`).
    ExportAuditLog {
        /// Only rows at or after this RFC 3339 instant.
        #[arg(long)]
        from: Option<chrono::DateTime<chrono::Utc>>,
        /// Only rows before this RFC 3339 instant.
        #[arg(long)]
        to: Option<chrono::DateTime<chrono::Utc>>,
        /// Only this action (such as `auth.login`).
        #[arg(long)]
        action: Option<String>,
        /// Only what this user id did.
        #[arg(long)]
        actor: Option<uuid::Uuid>,
    },
    /// Write the webhooks' signing secrets back in clear (they are sealed at rest with EPOP_WEBHOOK_KEY, or the
    /// key derived from EPOP_JWT_SECRET: set them as for the gateway), before reverting the migration that
    /// sealed them. Stop every gateway first: a gateway seals them again when it starts.
    UnsealWebhookSecrets,
}

/// A global role on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Global administrator.
    Admin,
    /// Ordinary member.
    Member,
}

/// Runs the parsed command and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Migrate => migrate().await,
        Command::Worker => worker().await,
        Command::Conformance => conformance().await,
        Command::Openapi { markdown } => print_openapi(markdown),
        Command::Admin {
            task: AdminTask::CreateUser { email, name, role },
        } => create_user(email, name, role).await,
        Command::Admin {
            task: AdminTask::ResetMfa { email },
        } => reset_mfa(email).await,
        Command::Admin {
            task:
                AdminTask::ExportAuditLog {
                    from,
                    to,
                    action,
                    actor,
                },
        } => export_audit_log(from, to, action, actor).await,
        Command::Admin {
            task: AdminTask::UnsealWebhookSecrets,
        } => unseal_webhook_secrets().await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            tracing::error!(error = format!("{error:#}"), "epop-gateway stopped with an error");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_source(&Environment)?;
    let _telemetry = crate::telemetry::init(&config)?;
    app::prepare_database(&config).await?;
    let (state, sequencer) = app::build_state(config).await?;
    app::ensure_admin(&state).await?;
    app::seal_webhook_secrets(&state).await;
    let background = Background::start(&state, sequencer)?;
    let app = Application::bind(state)?;
    tracing::info!(address = %app.address(), "epop-gateway serving");
    let served = app.run_until_signal().await;
    background.shutdown().await;
    served?;
    tracing::info!("epop-gateway stopped");
    Ok(())
}

fn print_openapi(markdown: bool) -> anyhow::Result<()> {
    let document = crate::routes::openapi();
    if markdown {
        print!("{}", crate::routes::docs::endpoint_index(&document));
    } else {
        println!("{}", document.to_pretty_json()?);
    }
    Ok(())
}

async fn worker() -> anyhow::Result<()> {
    let mut config = Config::from_source(&Environment)?;
    // A worker node exists to run the jobs, whatever the serving nodes are told.
    config.run_jobs = true;
    let _telemetry = crate::telemetry::init(&config)?;
    app::prepare_database(&config).await?;
    let (state, sequencer) = app::build_state(config).await?;
    app::ensure_admin(&state).await?;
    app::seal_webhook_secrets(&state).await;
    let background = Background::start(&state, sequencer)?;
    tracing::info!("epop-gateway worker running");
    app::wait_for_shutdown_signal().await;
    background.shutdown().await;
    tracing::info!("epop-gateway worker stopped");
    Ok(())
}

async fn conformance() -> anyhow::Result<()> {
    crate::telemetry::init_plain();
    let listen = std::env::var("EPOP_CONFORMANCE_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listen = listen
        .parse()
        .map_err(|e| anyhow::anyhow!("EPOP_CONFORMANCE_LISTEN: {e}"))?;
    tracing::info!(%listen, "serving the Socket.IO conformance configuration");
    app::run_conformance(listen).await
}

async fn migrate() -> anyhow::Result<()> {
    crate::telemetry::init_plain();
    let url = config::database_url(&Environment)?;
    epop_storage::db::wait_for_database(url.expose_secret(), std::time::Duration::from_secs(30)).await?;
    let applied = epop_storage::migrate::run_pending(url.expose_secret()).await?;
    println!("migrations applied: {applied}");
    Ok(())
}

/// The auth service of an administration command: only `DATABASE_URL`, migrations applied first, no tokens
/// issued (its signer has a random key).
async fn admin_auth(database_url: &str) -> anyhow::Result<AuthService> {
    epop_storage::migrate::run_pending(database_url).await?;
    let pool = epop_storage::db::build_pool(database_url, 2)?;
    let hasher =
        tokio::task::spawn_blocking(|| PasswordHasher::new(HasherSettings::with_threads(1))).await??;
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let signer = TokenSigner::new(&SecretString::from(
        random.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    ));
    Ok(AuthService::new(
        pool,
        hasher,
        signer,
        Arc::new(SystemClock),
        AuthSettings::default(),
    ))
}

async fn unseal_webhook_secrets() -> anyhow::Result<()> {
    crate::telemetry::init_plain();
    let config = Config::from_source(&Environment)?;
    let pool = epop_storage::db::build_pool(config.database_url(), 2)?;
    let webhooks = epop_webhooks::WebhooksService::new(pool, config.webhooks, config.webhook_key());
    let unsealed = webhooks
        .unseal_stored_secrets()
        .await
        .context("unsealing the webhooks' signing secrets")?;
    println!("wrote the signing secrets of {unsealed} webhooks back in clear");
    Ok(())
}

async fn reset_mfa(email: String) -> anyhow::Result<()> {
    crate::telemetry::init_plain();
    let url = config::database_url(&Environment)?;
    let auth = admin_auth(url.expose_secret()).await?;
    // The gateways read ended sessions from Redis: write there too, when there is one.
    let auth = match Environment.get("REDIS_URL") {
        Some(redis) => auth.with_shared_cutoffs(
            Some(epop_storage::redis::SharedConnection::new(&redis)?),
            &Environment
                .get("EPOP_REDIS_PREFIX")
                .unwrap_or_else(|| "epop".into()),
        ),
        None => auth,
    };
    match auth.reset_mfa(&email).await {
        Ok(true) => {
            println!("turned off the second factor of {email}");
            Ok(())
        }
        Ok(false) => {
            println!("{email} had no second factor; nothing changed");
            Ok(())
        }
        Err(AuthError::UserNotFound) => anyhow::bail!("no user has the e-mail {email}"),
        Err(error) => Err(error).context("resetting the second factor"),
    }
}

/// Rows read per query while exporting the audit log.
const EXPORT_BATCH: i64 = 1_000;

async fn export_audit_log(
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    action: Option<String>,
    actor: Option<uuid::Uuid>,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    crate::telemetry::init_plain();
    let action = action
        .map(|name| {
            name.parse::<epop_storage::audit::AuditAction>()
                .map_err(|_| anyhow::anyhow!("--action {name} is not an audit action"))
        })
        .transpose()?;
    let url = config::database_url(&Environment)?;
    let auth = admin_auth(url.expose_secret()).await?;
    let filter = epop_storage::audit::AuditFilter {
        actor: actor.map(epop_core::UserId::from),
        action,
        target: None,
        from,
        to,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut after = None;
    loop {
        let batch = auth
            .audit_export_batch(&filter, after, EXPORT_BATCH)
            .await
            .context("reading the audit log")?;
        for record in &batch {
            serde_json::to_writer(&mut out, record)?;
            out.write_all(b"\n")?;
        }
        match batch.last() {
            Some(last) if (batch.len() as i64) == EXPORT_BATCH => after = Some(last.id),
            _ => break,
        }
    }
    out.flush()?;
    Ok(())
}

async fn create_user(email: String, name: String, role: RoleArg) -> anyhow::Result<()> {
    crate::telemetry::init_plain();
    let url = config::database_url(&Environment)?;
    let password = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map(|_| line.trim_end_matches(['\r', '\n']).to_owned())
    })
    .await??;
    let chars = password.chars().count();
    anyhow::ensure!(
        (8..=128).contains(&chars),
        "the password (read from standard input) must be 8 to 128 characters"
    );
    anyhow::ensure!(
        name.chars().count() >= 1 && name.chars().count() <= 100,
        "--name must be 1 to 100 characters"
    );
    anyhow::ensure!(
        email.contains('@') && email.chars().count() <= 254,
        "--email is not a valid e-mail address"
    );
    let auth = admin_auth(url.expose_secret()).await?;
    let role = match role {
        RoleArg::Admin => Role::Admin,
        RoleArg::Member => Role::Member,
    };
    match auth
        .create_user(NewAccount {
            name,
            email,
            password: SecretString::from(password),
            role,
        })
        .await
    {
        Ok(user) => {
            println!("created user {} ({}, {})", user.id, user.email, user.role);
            Ok(())
        }
        Err(AuthError::EmailTaken) => anyhow::bail!("a user with this e-mail already exists"),
        Err(error) => Err(error).context("creating the user"),
    }
}
