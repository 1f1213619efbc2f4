//! The scheduling algorithm alone (no API, no binding): how many pods per
//! second the default profile places on large clusters. Run with
//! `cargo test --release -p rkube-scheduler -- --ignored --nocapture`.

use std::time::Instant;

use serde_json::json;

use crate::cache::Cache;
use crate::framework::{CycleState, Nominations};
use crate::plugins;
use crate::testing::{node, pod};

/// This process's resident memory in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok());
    kb.unwrap_or(0.0) / 1024.0
}

fn run(nodes: usize, pods: usize) -> f64 {
    let mut cache = Cache::new();
    for i in 0..nodes {
        let mut n = node(&format!("node-{i:05}"))
            .cpu("32")
            .memory("128Gi")
            .label("topology.kubernetes.io/zone", &format!("zone-{}", i % 10));
        if i % 7 == 0 {
            n = n.taint("dedicated", "infra", "NoSchedule");
        }
        if i % 3 == 0 {
            n = n.label("disk", "ssd");
        }
        cache.upsert_node(n.build());
    }
    let fw = plugins::profile(Vec::new());
    let nominations = Nominations::default();
    let mut rng = rand::rng();
    let mut start = 0;
    let began = Instant::now();
    let mut placed = 0;
    for i in 0..pods {
        let mut p = pod(&format!("pod-{i:06}"))
            .cpu("100m")
            .memory("128Mi")
            .label("app", &format!("app-{}", i % 50));
        p = match i % 4 {
            0 => p.spec(
                "affinity",
                json!({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 10, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}
                ]}}),
            ),
            1 => p.toleration("dedicated", "Equal", "infra", "NoSchedule"),
            2 => p.spec(
                "topologySpreadConstraints",
                json!([{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": {"app": format!("app-{}", i % 50)}}}]),
            ),
            _ => p.spec(
                "topologySpreadConstraints",
                json!([{"maxSkew": 5, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
                        "labelSelector": {"matchLabels": {"app": format!("app-{}", i % 50)}}}]),
            ),
        };
        let info = p.info();
        let mut state = CycleState::new();
        if let Ok(node) = fw.schedule(
            &mut state,
            &info,
            cache.snapshot(),
            &nominations,
            &mut start,
            &mut rng,
        ) {
            cache.assume(info, &node);
            placed += 1;
        }
    }
    let rate = placed as f64 / began.elapsed().as_secs_f64();
    println!(
        "algorithm: {placed}/{pods} pods on {nodes} nodes at {rate:.0} pods/s (process RSS {:.0} MiB)",
        rss_mib()
    );
    assert_eq!(placed, pods);
    rate
}

#[test]
#[ignore = "benchmark; run with --release --ignored"]
fn algorithm_throughput() {
    run(5_000, 10_000);
    run(1_000, 10_000);
    run(100, 1_000);
}
