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

/// The Kubernetes manifests, each file's documents.
fn manifests() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/k8s");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn kubernetes_manifests_validate_against_the_kubernetes_schemas() {
    // kubernetes-validate (PyPI) ships the schemas: no cluster and no network needed. Installed by
    // scripts/test.sh into the tests' virtualenv.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let validator = root.join("tests/clients/python/.venv/bin/kubernetes-validate");
    assert!(
        validator.exists(),
        "{} is missing: run ./scripts/test.sh, which installs it",
        validator.display()
    );
    let files: Vec<std::path::PathBuf> = manifests()
        .into_iter()
        .map(|(name, _)| root.join("deploy/k8s").join(name))
        .collect();
    let output = std::process::Command::new(&validator)
        .arg("--strict")
        .args(&files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    for kind in [
        "deployment/epop-gateway",
        "deployment/epop-worker",
        "horizontalpodautoscaler/epop-gateway",
        "poddisruptionbudget/epop-gateway",
        "service/epop-gateway",
        "ingress/epop",
    ] {
        assert!(
            text.contains(&format!("passed for resource {kind}")),
            "{kind} not validated:\n{text}"
        );
    }
}

#[test]
fn kubernetes_gateway_probes_termination_and_affinity_match_the_gateway() {
    let all: String = manifests().into_iter().map(|(_, text)| text).collect();
    let gateway = manifests()
        .into_iter()
        .find(|(name, _)| name == "gateway.yaml")
        .unwrap()
        .1;
    // Readiness follows the dependencies, liveness only the process.
    let readiness = gateway.split("readinessProbe:").nth(1).unwrap();
    assert!(readiness[..readiness.find("livenessProbe").unwrap()].contains("path: /health\n"));
    let liveness = gateway.split("livenessProbe:").nth(1).unwrap();
    assert!(liveness[..200].contains("path: /health/live"));
    // The pod outlives the gateway's own shutdown bound plus the preStop pause.
    let number_after = |text: &str, key: &str| -> u64 {
        let rest = text.split(key).nth(1).unwrap();
        rest.trim_start_matches([' ', '"'])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    };
    let grace = number_after(&gateway, "terminationGracePeriodSeconds:");
    let shutdown = number_after(&all, "EPOP_SHUTDOWN_TIMEOUT:");
    let pause = number_after(&gateway, "seconds:");
    assert!(
        grace > shutdown + pause,
        "grace {grace} <= shutdown {shutdown} + preStop {pause}"
    );
    // Long-polling needs affinity; the worker runs apart; metrics stay inside.
    assert!(all.contains("nginx.ingress.kubernetes.io/affinity: \"cookie\""));
    assert!(all.contains("args: [\"worker\"]"));
    assert!(all.contains("location = /metrics { return 404; }"));
}
