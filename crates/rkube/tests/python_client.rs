//! The official Python `kubernetes` client against rkube (the checks are in
//! python/client_test.py; this runs them against a fresh server).

mod support;

use std::process::Command;

use support::{Server, python};

#[test]
fn python_client_crud_pagination_watch_conflict() {
    let s = Server::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client_test.py");
    let out = Command::new(python())
        .arg(script)
        .arg(&s.kubeconfig)
        .output()
        .expect("run python3");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("No module named 'kubernetes'"),
        "the Python client is missing: install it with `pip install kubernetes` or run ./hack/deps.sh"
    );
    assert!(out.status.success(), "python client checks failed:\n{text}");
    assert!(text.contains("python client: all 7 checks ok"), "{text}");
}
