//! Fuzz target `request`: arbitrary bytes become a sequence of requests
//! (method, path, query, content type, body) against a fresh in-process API
//! server; the server must never panic, never answer 500, and answer every
//! failure with a JSON `Status`. See fuzz/README.md.
#![no_main]

#[path = "../../crates/rkube-apiserver/tests/request_input/mod.rs"]
mod request_input;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let requests = request_input::requests(data);
    if requests.is_empty() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir (set TMPDIR=/dev/shm for speed)");
    runtime.block_on(async {
        let router = request_input::app(dir.path()).await;
        for req in requests {
            request_input::check(&router, req).await;
        }
    });
});
