//! The deployment files' safety defaults (issue: deployment defaults): nothing but the gateway is published
//! beyond this machine, MinIO has no well-known credentials, and the proxy never serves `/metrics`.

fn repo_file(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap()
}

#[test]
fn compose_publishes_only_the_gateway_beyond_localhost() {
    let compose = repo_file("docker-compose.yml");
    let published: Vec<&str> = compose
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("- \"") && line.contains(':'))
        .filter(|line| {
            line.chars()
                .nth(3)
                .is_some_and(|c| c.is_ascii_digit() || c == '$')
        })
        .collect();
    assert!(!published.is_empty(), "the compose file publishes ports");
    for line in published {
        assert!(
            line.starts_with("- \"127.0.0.1:") || line.starts_with("- \"8080:8080\""),
            "published on every interface: {line}"
        );
    }
}

#[test]
fn compose_has_no_default_minio_credentials() {
    let compose = repo_file("docker-compose.yml");
    for line in compose.lines().filter(|l| l.contains("${MINIO_ROOT_")) {
        assert!(line.contains(":?"), "a default credential: {line}");
    }
}

#[test]
fn the_proxy_never_serves_metrics() {
    let nginx = repo_file("deploy/nginx.conf");
    let block = nginx
        .split("location = /metrics")
        .nth(1)
        .expect("a location for /metrics");
    let body = &block[..block.find('}').unwrap()];
    assert!(body.contains("return 404") || body.contains("deny all"), "{body}");
}
