//! `rkube bench`: the API server benchmark of the control-plane issue. It
//! starts its own `rkube server --disable-agent` on a temporary data dir and
//! prints create throughput, large-list latency (plain and as the Table
//! `kubectl get` asks for), watch fan-out latency and the server's resident
//! memory.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{Api, ListParams, PostParams, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

/// The `Accept` header of `kubectl get`.
const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

/// Sizes of the benchmark runs.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// ConfigMaps created for the throughput run.
    #[arg(long, default_value_t = 20_000)]
    creates: usize,
    /// Concurrent clients (separate connections).
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Pods in the list run.
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
    /// Full lists timed in the list run.
    #[arg(long, default_value_t = 30)]
    lists: usize,
    /// Concurrent watchers in the watch run.
    #[arg(long, default_value_t = 100)]
    watchers: usize,
    /// Changes observed by every watcher.
    #[arg(long, default_value_t = 200)]
    events: usize,
}

struct Child9(Child);

impl Drop for Child9 {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("VmRSS missing")?;
    Ok(kb / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn client(kubeconfig: &std::path::Path) -> anyhow::Result<kube::Client> {
    let kc = Kubeconfig::read_from(kubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

fn start_server(dir: &std::path::Path) -> anyhow::Result<(Child9, std::path::PathBuf)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = Command::new(std::env::current_exe()?)
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
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().context("server stdout")?;
    let child = Child9(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    if !line.contains("ready") {
        bail!("server did not start: {line}");
    }
    Ok((child, dir.join("server/admin.kubeconfig")))
}

fn named<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> anyhow::Result<T> {
    Ok(serde_json::from_value(value)?)
}

/// Run every benchmark and print the numbers.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let (server, kubeconfig) = start_server(tmp.path())?;
    let pid = server.0.id();
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!(
        "idle RSS of rkube server --disable-agent: {:.1} MiB",
        rss_mib(pid)?
    );

    let mut clients = Vec::new();
    for _ in 0..args.clients {
        clients.push(client(&kubeconfig).await?);
    }
    let first = clients.first().cloned().context("at least one client")?;
    Api::<Namespace>::all(first.clone())
        .create(
            &PostParams::default(),
            &named(serde_json::json!({"metadata": {"name": "bench"}}))?,
        )
        .await?;

    let start = Instant::now();
    let per_client = args.creates / args.clients.max(1);
    let mut tasks = Vec::new();
    for (c, cl) in clients.iter().enumerate() {
        let api: Api<ConfigMap> = Api::namespaced(cl.clone(), "bench");
        tasks.push(tokio::spawn(async move {
            for i in 0..per_client {
                let cm: ConfigMap = named(serde_json::json!({"metadata": {"name": format!("cm-{c}-{i}")}, "data": {"k": "v"}}))?;
                api.create(&PostParams::default(), &cm).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = start.elapsed();
    let total = per_client * args.clients;
    println!(
        "configmap creates: {total} by {} clients in {:.2} s = {:.0}/s (durable)",
        args.clients,
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );

    let per_client = args.pods / args.clients.max(1);
    let mut tasks = Vec::new();
    for (c, cl) in clients.iter().enumerate() {
        let api: Api<Pod> = Api::namespaced(cl.clone(), "bench");
        tasks.push(tokio::spawn(async move {
            for i in 0..per_client {
                let pod: Pod = named(serde_json::json!({
                    "metadata": {"name": format!("pod-{c}-{i}"), "labels": {"app": "bench", "shard": c.to_string()}},
                    "spec": {"nodeName": format!("node-{}", i % 10), "containers": [{"name": "main", "image": "rkube.test/busybox:1",
                        "command": ["sleep", "3600"], "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
                }))?;
                api.create(&PostParams::default(), &pod).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let pods: Api<Pod> = Api::all(first.clone());
    let mut lat = Vec::new();
    let mut count = 0;
    for _ in 0..args.lists {
        let t = Instant::now();
        count = pods.list(&ListParams::default()).await?.items.len();
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "list of {count} pods ({} runs): p50 {} p99 {}",
        args.lists,
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );
    let mut lat = Vec::new();
    let mut rows = 0;
    for _ in 0..args.lists {
        let t = Instant::now();
        let req = http::Request::get("/api/v1/pods")
            .header(http::header::ACCEPT, TABLE_ACCEPT)
            .body(Vec::new())?;
        let table: serde_json::Value = first.request(req).await?;
        rows = table["rows"].as_array().map_or(0, Vec::len);
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "table list of {rows} pods as kubectl get asks ({} runs): p50 {} p99 {}",
        args.lists,
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );

    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let samples: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let cms: Api<ConfigMap> = Api::namespaced(first.clone(), "bench");
    let rv = cms
        .list(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut watchers = Vec::new();
    for w in 0..args.watchers {
        let api: Api<ConfigMap> = Api::namespaced(clients[w % clients.len()].clone(), "bench");
        let sent = sent.clone();
        let samples = samples.clone();
        let want = args.events;
        let rv = rv.clone();
        watchers.push(tokio::spawn(async move {
            let params = WatchParams::default().labels("bench=watch").timeout(120);
            let mut stream = api.watch(&params, &rv).await?.boxed();
            let mut got = 0;
            while let Some(ev) = stream.try_next().await? {
                if let kube::api::WatchEvent::Added(cm) = ev {
                    let name = cm.metadata.name.unwrap_or_default();
                    let at = sent
                        .lock()
                        .map_err(|_| anyhow::anyhow!("lock"))?
                        .get(&name)
                        .copied();
                    if let Some(at) = at {
                        samples
                            .lock()
                            .map_err(|_| anyhow::anyhow!("lock"))?
                            .push(at.elapsed());
                    }
                    got += 1;
                    if got == want {
                        break;
                    }
                }
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for i in 0..args.events {
        let name = format!("watched-{i}");
        let cm: ConfigMap =
            named(serde_json::json!({"metadata": {"name": name, "labels": {"bench": "watch"}}}))?;
        sent.lock()
            .map_err(|_| anyhow::anyhow!("lock"))?
            .insert(name, Instant::now());
        cms.create(&PostParams::default(), &cm).await?;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for w in watchers {
        w.await??;
    }
    let mut lat = samples.lock().map_err(|_| anyhow::anyhow!("lock"))?.clone();
    lat.sort();
    println!(
        "watch delivery to {} watchers ({} events): p50 {} p99 {}",
        args.watchers,
        lat.len(),
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );
    println!("RSS after the runs: {:.1} MiB", rss_mib(pid)?);
    drop(server);
    Ok(())
}
