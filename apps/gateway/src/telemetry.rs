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

/// Installs the global subscriber for `config`. Call once, early in `main`.
pub fn init(config: &Config) -> anyhow::Result<TelemetryGuard> {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true);

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
        .with(fmt.with_filter(filter))
        .with(otel)
        .with(sentry_layer)
        .try_init()?;
    Ok(guard)
}

/// A plain subscriber for the one-shot subcommands (`migrate`, `admin`).
pub fn init_plain() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
