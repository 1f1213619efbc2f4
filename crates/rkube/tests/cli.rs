//! The `rkube server` start-up contract: a one-line reason and a non-zero
//! exit when it cannot start, private kubeconfig and token files, and a CA
//! that survives restarts.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use support::{Server, free_port};

/// Run `rkube server` with `args` (after the loopback defaults) and wait for it to exit.
fn server_exits(data_dir: &Path, port: u16, extra: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rkube"))
        .args([
            "server",
            "--disable-agent",
            "--bind-address",
            "127.0.0.1",
            "--node-ip",
            "127.0.0.1",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--https-listen-port", &port.to_string()])
        .args(extra)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rkube server");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait for rkube").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rkube server kept running although it cannot start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("rkube output")
}

/// The failure must be a non-zero exit with exactly one line on stderr that mentions `words`.
fn assert_one_line_failure(out: &Output, words: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "rkube server should fail; stderr: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected a one-line reason, got: {stderr}");
    for word in words {
        assert!(
            lines[0].contains(word),
            "the reason should mention {word:?}: {stderr}"
        );
    }
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout when start-up fails: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

async fn namespaces_with(kubeconfig: &str) -> Vec<String> {
    let kc = Kubeconfig::from_yaml(kubeconfig).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    let client = kube::Client::try_from(config).expect("client");
    let api: Api<Namespace> = Api::all(client);
    let list = api
        .list(&Default::default())
        .await
        .expect("list namespaces with this kubeconfig");
    list.items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect()
}

#[test]
fn port_in_use_is_a_one_line_failure() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = server_exits(dir.path(), port, &[]);
    assert_one_line_failure(&out, &[&format!("127.0.0.1:{port}"), "in use"]);
}

#[test]
fn unusable_data_dir_is_a_one_line_failure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").expect("write file");
    let data_dir = file.join("data");
    let out = server_exits(&data_dir, free_port(), &[]);
    assert_one_line_failure(&out, &[&data_dir.display().to_string(), "Not a directory"]);
}

#[test]
fn unusable_kubeconfig_path_is_a_one_line_failure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").expect("write file");
    let target = file.join("kubeconfig");
    let out = server_exits(
        &dir.path().join("data"),
        free_port(),
        &["--write-kubeconfig", &target.display().to_string()],
    );
    assert_one_line_failure(&out, &["--write-kubeconfig", &target.display().to_string()]);
}

#[test]
fn bad_flag_values_are_one_line_failures() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = server_exits(
        dir.path(),
        free_port(),
        &["--service-cidr", "not-a-network"],
    );
    assert_one_line_failure(&out, &["--service-cidr", "not-a-network"]);
}

#[test]
fn kubeconfigs_and_token_are_private_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let extra = dir.path().join("home/.kube/config");
    let extra_arg = extra.display().to_string();
    let s = Server::start_with(
        &dir.path().join("data"),
        free_port(),
        &["--write-kubeconfig", &extra_arg],
    );
    let admin = s.dir.join("server/admin.kubeconfig");
    let token = s.dir.join("server/token");
    for path in [&admin, &extra, &token] {
        assert_eq!(
            mode(path),
            0o600,
            "{} must be readable by its owner only",
            path.display()
        );
    }
    let admin_text = std::fs::read_to_string(&admin).expect("admin kubeconfig");
    assert_eq!(
        std::fs::read_to_string(&extra).expect("second kubeconfig"),
        admin_text,
        "--write-kubeconfig writes the same kubeconfig"
    );
    let token_text = std::fs::read_to_string(&token).expect("token");
    assert!(
        token_text.trim().len() >= 32,
        "the join token is a long secret: {token_text:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_ca_and_the_kubeconfig_working() {
    let s = Server::start();
    let first = std::fs::read_to_string(&s.kubeconfig).expect("admin kubeconfig");
    let token = std::fs::read_to_string(s.dir.join("server/token")).expect("token");
    assert!(
        namespaces_with(&first)
            .await
            .contains(&"kube-system".to_string())
    );
    let s = tokio::task::spawn_blocking(move || {
        let mut s = s;
        s.restart();
        s
    })
    .await
    .expect("restart");
    assert!(
        namespaces_with(&first)
            .await
            .contains(&"default".to_string()),
        "the first kubeconfig still works after a restart"
    );
    let second = std::fs::read_to_string(&s.kubeconfig).expect("admin kubeconfig after restart");
    let ca = |text: &str| {
        let doc: serde_json::Value = serde_yaml_ng::from_str(text).expect("kubeconfig is YAML");
        doc["clusters"][0]["cluster"]["certificate-authority-data"].clone()
    };
    assert_eq!(ca(&first), ca(&second), "the CA is kept across restarts");
    assert_eq!(
        std::fs::read_to_string(s.dir.join("server/token")).expect("token after restart"),
        token,
        "the token is kept"
    );
}
