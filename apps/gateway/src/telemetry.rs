//! Logs, traces and error reports: JSON log lines (with the request span's fields, so every line carries
//! the request id), OpenTelemetry export when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and Sentry when
//! `SENTRY_DSN` is set (no personal data: `send_default_pii` stays off).

use crate::config::Config;
use opentelemetry::trace::TracerProvider as _;
use secrecy::ExposeSecret as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// Keeps exporters alive; flushes them when dropped at shutdown.
#[derive(Default)]
pub struct TelemetryGuard {
    tracer_provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
    _sentry: Option<sentry::ClientInitGuard>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.tracer_provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("warning: OpenTelemetry shutdown: {error}");
        }
    }
}

/// Libraries whose debug lines carry secrets, held at `info` whatever `RUST_LOG` asks: tokio-postgres logs
/// every statement's parameters (password hashes, token hashes, encrypted second-factor secrets), lettre every
/// line it sends to the SMTP server (whole e-mails with their reset and verification links, and `AUTH` lines).
const SECRET_BEARING: [&str; 2] = ["tokio_postgres=info", "lettre=info"];

/// The filter of `directives` (`RUST_LOG` syntax; `info` when it does not parse) with the libraries of
/// `SECRET_BEARING` held at `info`.
pub fn log_filter(directives: &str) -> EnvFilter {
    let mut filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"));
    for directive in SECRET_BEARING {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// The JSON log lines the gateway writes (each with its request span's fields), filtered by `directives`
/// (see [`log_filter`]), to `writer`: standard output in `main`, a buffer in the tests that read the logs.
pub fn json_logs<S, W>(directives: &str, writer: W) -> impl tracing_subscriber::Layer<S> + Send + Sync
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_writer(writer)
        .with_filter(log_filter(directives))
}

/// Installs the global subscriber for `config`. Call once, early in `main`.
pub fn init(config: &Config) -> anyhow::Result<TelemetryGuard> {
    let mut guard = TelemetryGuard::default();
    let otel = match &config.otel_endpoint {
        Some(_) => {
            // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and the other OTEL_* variables) itself.
            let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build()?;
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name("epop-gateway")
                .build();
            let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(resource)
                .build();
            let tracer = provider.tracer("epop-gateway");
            guard.tracer_provider = Some(provider);
            Some(tracing_opentelemetry::layer().with_tracer(tracer))
        }
        None => None,
    };
    let sentry_layer = match &config.sentry_dsn {
        Some(dsn) => {
            let mut options = sentry::ClientOptions::default();
            options.release = sentry::release_name!();
            options.send_default_pii = false;
            guard._sentry = Some(sentry::init((dsn.expose_secret(), options)));
            Some(sentry::integrations::tracing::ErrorLayer::new())
        }
        None => None,
    };
    tracing_subscriber::registry()
        .with(json_logs(&config.log_filter, std::io::stdout))
        .with(otel)
        .with(sentry_layer)
        .try_init()?;
    Ok(guard)
}

/// A plain subscriber for the one-shot subcommands (`migrate`, `admin`).
pub fn init_plain() {
    let filter = log_filter(&std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
