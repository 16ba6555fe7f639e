//! The `epop-gateway` binary. See the crate docs of `epop_gateway` and `README.md`.

use clap::Parser as _;
use std::process::ExitCode;

/// mimalloc gives freed memory back to the system within milliseconds; glibc's malloc kept Argon2's 19 MiB
/// blocks in its per-thread arenas for good (see `bench/results/team-login-2026-12-04.txt`). It is built
/// without transparent huge pages (feature `no_thp`): with them its arenas were backed by 2 MiB pages and an
/// idle gateway held 49 MiB instead of 31.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    epop_gateway::config::load_dotenv();
    // One TLS provider for every rustls user in the process (S3, Sentry, SMTP): ring, no OpenSSL, no aws-lc.
    let _ = rustls::crypto::ring::default_provider().install_default();
    epop_gateway::cli::run(epop_gateway::cli::Cli::parse()).await
}
