//! DefaultPreemption: when nothing fits, find nodes where removing
//! lower-priority pods would make room, keep as many of them as still
//! allows the pod to fit (most important first), and choose the node whose
//! victims matter least. The plugin only decides; the scheduler deletes the
//! victims and nominates the pod.

use std::borrow::Cow;
use std::sync::Arc;

use crate::framework::{
    Code, CycleState, Diagnosis, FitError, NodeInfo, Plugin, PodInfo, PostFilterContext,
    PostFilterPlugin, PostFilterResult, Status, more_important,
};

/// Plugin name.
pub const NAME: &str = "DefaultPreemption";
/// Share of candidate nodes dry-run at least, in percent (`minCandidateNodesPercentage`).
const MIN_CANDIDATE_NODES_PERCENTAGE: usize = 10;
/// Candidate nodes dry-run at least (`minCandidateNodesAbsolute`).
const MIN_CANDIDATE_NODES_ABSOLUTE: usize = 100;
/// Status of nodes where preemption cannot help.
pub const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
/// Status of a node without lower-priority pods.
pub const NO_VICTIMS: &str = "No preemption victims found for incoming pod";
/// Reason a victim's DisruptionTarget condition carries.
pub const PREEMPTION_REASON: &str = "PreemptionByScheduler";

/// The plugin.
pub struct DefaultPreemption;

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
}

struct Candidate {
    node: String,
    victims: Vec<Arc<PodInfo>>,
}

/// Whether a pod is going away because the scheduler preempted it.
fn terminating_by_preemption(p: &PodInfo) -> bool {
    p.terminating()
        && p.pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| {
                c.iter().any(|c| {
                    c.type_ == "DisruptionTarget" && c.reason.as_deref() == Some(PREEMPTION_REASON)
                })
            })
}

/// `PodEligibleToPreemptOthers`: `None` when the pod may preempt, else why not.
fn not_eligible(ctx: &PostFilterContext<'_>) -> Option<&'static str> {
    let pod = ctx.pod;
    if pod
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.preemption_policy.as_deref())
        == Some("Never")
    {
        return Some("not eligible due to preemptionPolicy=Never.");
    }
    let nominated = pod.nominated_node();
    if nominated.is_empty() {
        return None;
    }
    let index = ctx
        .snapshot
        .nodes()
        .iter()
        .position(|n| n.name() == nominated);
    if index
        .and_then(|i| ctx.diagnosis.status_of(i))
        .is_some_and(|s| s.code() == Code::UnschedulableAndUnresolvable)
    {
        return None;
    }
    let node = ctx.snapshot.get(nominated)?;
    node.pods()
        .iter()
        .any(|p| p.priority < pod.priority && terminating_by_preemption(p))
        .then_some("not eligible due to a terminating pod on the nominated node.")
}

/// `SelectVictimsOnNode`: the fewest, least important lower-priority pods whose removal lets the pod fit.
fn select_victims(
    ctx: &PostFilterContext<'_>,
    node: &NodeInfo,
) -> Result<Vec<Arc<PodInfo>>, Status> {
    let fw = ctx.framework;
    let pod = ctx.pod;
    let mut info = node.clone();
    let mut state: CycleState = ctx.state.clone();
    let mut potential: Vec<Arc<PodInfo>> = info
        .pods()
        .iter()
        .filter(|p| p.priority < pod.priority)
        .cloned()
        .collect();
    if potential.is_empty() {
        return Err(Status::new(Code::UnschedulableAndUnresolvable, NO_VICTIMS));
    }
    for p in &potential {
        info.remove_pod(&p.key);
        fw.run_remove_pod(&mut state, pod, p, &info);
    }
    let fits = fw.run_filter_with_nominated(&state, pod, &info, ctx.nominations);
    if !fits.is_success() {
        return Err(fits);
    }
    potential.sort_by(|a, b| {
        if more_important(a, b) {
            std::cmp::Ordering::Less
        } else if more_important(b, a) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    });
    let mut victims = Vec::new();
    for p in potential {
        info.add_pod(p.clone());
        fw.run_add_pod(&mut state, pod, &p, &info);
        if !fw
            .run_filter_with_nominated(&state, pod, &info, ctx.nominations)
            .is_success()
        {
            info.remove_pod(&p.key);
            fw.run_remove_pod(&mut state, pod, &p, &info);
            victims.push(p);
        }
    }
    if victims.is_empty() {
        return Err(Status::error(format!(
            "expected at least one victim pod on node {:?}",
            node.name()
        )));
    }
    Ok(victims)
}

/// `pickOneNodeForPreemption`: lowest highest-priority victim, then lowest priority sum, then fewest victims,
/// then the latest start among the most important victims, then the first.
fn pick(candidates: Vec<Candidate>) -> Option<Candidate> {
    let criteria: [&dyn Fn(&Candidate) -> i128; 4] = [
        &|c| -i128::from(c.victims.first().map_or(i32::MIN, |v| v.priority)),
        &|c| {
            -c.victims
                .iter()
                .map(|v| i128::from(v.priority) + (1i128 << 31))
                .sum::<i128>()
        },
        &|c| -(c.victims.len() as i128),
        &|c| {
            let top = c.victims.first().map_or(i32::MIN, |v| v.priority);
            c.victims
                .iter()
                .filter(|v| v.priority == top)
                .map(|v| {
                    v.pod
                        .status
                        .as_ref()
                        .and_then(|s| s.start_time.as_ref())
                        .map_or(i128::MAX, |t| t.0.as_nanosecond())
                })
                .min()
                .unwrap_or(i128::MAX)
        },
    ];
    let mut pool = candidates;
    for f in criteria {
        let best = pool.iter().map(f).max()?;
        pool.retain(|c| f(c) == best);
        if pool.len() == 1 {
            break;
        }
    }
    pool.into_iter().next()
}

fn not_helpful_result(ctx: &PostFilterContext<'_>, statuses: Diagnosis) -> PostFilterResult {
    let fit = FitError {
        num_all_nodes: ctx.snapshot.len(),
        diagnosis: statuses,
    };
    PostFilterResult {
        status: Status::new(
            Code::Unschedulable,
            Cow::Owned(format!("preemption: {fit}")),
        ),
        nominated_node: Some(String::new()),
        victims: Vec::new(),
        clear_nominations: Vec::new(),
    }
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(&self, ctx: &PostFilterContext<'_>) -> PostFilterResult {
        if let Some(why) = not_eligible(ctx) {
            return PostFilterResult {
                status: Status::new(Code::Unschedulable, format!("preemption: {why}")),
                nominated_node: None,
                victims: Vec::new(),
                clear_nominations: Vec::new(),
            };
        }
        let potential: Vec<usize> = (0..ctx.snapshot.len())
            .filter(|i| {
                ctx.diagnosis
                    .status_of(*i)
                    .is_some_and(|s| s.code() == Code::Unschedulable)
            })
            .collect();
        let mut dry_run = Diagnosis {
            absent: Some(Status::new(Code::UnschedulableAndUnresolvable, NOT_HELPFUL)),
            ..Default::default()
        };
        if potential.is_empty() {
            return not_helpful_result(ctx, dry_run);
        }
        let wanted = (potential.len() * MIN_CANDIDATE_NODES_PERCENTAGE / 100)
            .max(MIN_CANDIDATE_NODES_ABSOLUTE)
            .min(potential.len());
        let mut candidates = Vec::new();
        for i in 0..potential.len() {
            let index = potential[(ctx.offset + i) % potential.len()];
            let node = &ctx.snapshot.nodes()[index];
            match select_victims(ctx, node) {
                Ok(victims) => {
                    candidates.push(Candidate {
                        node: node.name().to_string(),
                        victims,
                    });
                    if candidates.len() >= wanted {
                        break;
                    }
                }
                Err(status) => {
                    dry_run.node_statuses.insert(index, status);
                }
            }
        }
        let Some(best) = pick(candidates) else {
            return not_helpful_result(ctx, dry_run);
        };
        let clear_nominations = ctx
            .nominations
            .for_node(&best.node)
            .iter()
            .filter(|p| p.priority < ctx.pod.priority)
            .cloned()
            .collect();
        PostFilterResult {
            status: Status::success(),
            nominated_node: Some(best.node),
            victims: best.victims,
            clear_nominations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{Framework, Nominations, ScheduleError, Snapshot};
    use crate::plugins;
    use crate::testing::{node, pod};
    use serde_json::json;

    fn fail(
        fw: &Framework,
        p: &PodInfo,
        snapshot: &Snapshot,
        nominations: &Nominations,
    ) -> PostFilterResult {
        let mut state = CycleState::new();
        let mut start = 0;
        let mut rng = rand::rng();
        let Err(ScheduleError::Fit(fit)) =
            fw.schedule(&mut state, p, snapshot, nominations, &mut start, &mut rng)
        else {
            panic!("expected the pod not to fit");
        };
        let ctx = PostFilterContext {
            framework: fw,
            state: &state,
            pod: p,
            snapshot,
            diagnosis: &fit.diagnosis,
            nominations,
            offset: 0,
        };
        DefaultPreemption.post_filter(&ctx)
    }

    fn framework() -> Framework {
        plugins::profile(Vec::new())
    }

    #[test]
    fn preempts_the_least_important_pods_that_free_enough() {
        let snapshot = Snapshot::from_nodes(vec![
            node("a").cpu("4").with_pods(vec![
                pod("low1").on("a").cpu("2").priority(1).info(),
                pod("low2").on("a").cpu("1").priority(2).info(),
                pod("mid").on("a").cpu("1").priority(50).info(),
            ]),
            node("b")
                .cpu("4")
                .with_pods(vec![pod("high").on("b").cpu("4").priority(200).info()]),
        ]);
        let p = pod("p").cpu("2").priority(100).info();
        let r = fail(&framework(), &p, &snapshot, &Nominations::default());
        assert!(r.status.is_success(), "{:?}", r.status);
        assert_eq!(r.nominated_node.as_deref(), Some("a"));
        // Removing low1 (2 cpu) is enough; low2 and mid are reprieved.
        assert_eq!(
            r.victims.iter().map(|v| v.name()).collect::<Vec<_>>(),
            vec!["low1"]
        );
    }

    #[test]
    fn picks_the_node_with_lower_priority_victims() {
        let snapshot = Snapshot::from_nodes(vec![
            node("a")
                .cpu("2")
                .with_pods(vec![pod("x").on("a").cpu("2").priority(20).info()]),
            node("b")
                .cpu("2")
                .with_pods(vec![pod("y").on("b").cpu("2").priority(10).info()]),
        ]);
        let r = fail(
            &framework(),
            &pod("p").cpu("2").priority(100).info(),
            &snapshot,
            &Nominations::default(),
        );
        assert_eq!(r.nominated_node.as_deref(), Some("b"));
        assert_eq!(r.victims.len(), 1);
    }

    #[test]
    fn not_helpful_when_every_rejection_is_unresolvable() {
        let snapshot = Snapshot::from_nodes(vec![
            node("a").cpu("1").with_pods(vec![]),
            node("b")
                .taint("node-role.kubernetes.io/control-plane", "", "NoSchedule")
                .with_pods(vec![]),
            node("c")
                .taint("node-role.kubernetes.io/control-plane", "", "NoSchedule")
                .with_pods(vec![]),
        ]);
        let r = fail(
            &framework(),
            &pod("big").cpu("2").info(),
            &snapshot,
            &Nominations::default(),
        );
        assert_eq!(
            r.status.message(),
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
        assert_eq!(r.nominated_node.as_deref(), Some(""));
    }

    #[test]
    fn reports_nodes_without_victims() {
        let snapshot = Snapshot::from_nodes(vec![
            node("a")
                .cpu("2")
                .with_pods(vec![pod("x").on("a").cpu("2").priority(100).info()]),
            node("b").cpu("1").with_pods(vec![]),
        ]);
        let r = fail(
            &framework(),
            &pod("p").cpu("2").priority(100).info(),
            &snapshot,
            &Nominations::default(),
        );
        assert_eq!(
            r.status.message(),
            "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn never_policy_and_terminating_victims_stop_preemption() {
        let snapshot = Snapshot::from_nodes(vec![
            node("a")
                .cpu("2")
                .with_pods(vec![pod("x").on("a").cpu("2").info()]),
        ]);
        let never = pod("p")
            .cpu("2")
            .priority(10)
            .spec("preemptionPolicy", json!("Never"))
            .info();
        let r = fail(&framework(), &never, &snapshot, &Nominations::default());
        assert_eq!(
            r.status.message(),
            "preemption: not eligible due to preemptionPolicy=Never."
        );
        let dying = pod("x")
            .on("a")
            .cpu("2")
            .terminating()
            .spec(
                "containers",
                json!([{"name": "c", "resources": {"requests": {"cpu": "2"}}}]),
            )
            .build();
        let mut dying = (*dying).clone();
        dying.status = serde_json::from_value(json!({"conditions": [{"type": "DisruptionTarget", "status": "True", "reason": PREEMPTION_REASON}]})).ok();
        let snapshot = Snapshot::from_nodes(vec![
            node("a")
                .cpu("2")
                .with_pods(vec![Arc::new(PodInfo::new(Arc::new(dying), 0))]),
        ]);
        let waiting = pod("p").cpu("2").priority(10).nominated("a").info();
        let r = fail(&framework(), &waiting, &snapshot, &Nominations::default());
        assert_eq!(
            r.status.message(),
            "preemption: not eligible due to a terminating pod on the nominated node."
        );
    }

    #[test]
    fn anti_affinity_victims_are_found_through_the_extensions() {
        let snapshot = Snapshot::from_nodes(vec![node("a").with_pods(vec![
            pod("web1").label("app", "web").on("a").priority(1).info(),
            pod("other").on("a").priority(1).info(),
        ])]);
        let p = pod("p")
            .priority(10)
            .anti_affinity_host("app", "web")
            .info();
        let r = fail(&framework(), &p, &snapshot, &Nominations::default());
        assert!(r.status.is_success());
        assert_eq!(
            r.victims.iter().map(|v| v.name()).collect::<Vec<_>>(),
            vec!["web1"]
        );
    }

    #[test]
    fn nominated_pods_hold_their_room() {
        let snapshot = Snapshot::from_nodes(vec![node("a").cpu("2").with_pods(vec![])]);
        let mut nominations = Nominations::default();
        nominations.add(pod("first").cpu("2").priority(100).info(), "a");
        let mut state = CycleState::new();
        let (mut start, mut rng) = (0, rand::rng());
        let fw = framework();
        let lower = pod("lower").cpu("1").priority(50).info();
        assert!(matches!(
            fw.schedule(
                &mut state,
                &lower,
                &snapshot,
                &nominations,
                &mut start,
                &mut rng
            ),
            Err(ScheduleError::Fit(_))
        ));
        let higher = pod("higher").cpu("1").priority(500).info();
        let mut state = CycleState::new();
        assert_eq!(
            fw.schedule(
                &mut state,
                &higher,
                &snapshot,
                &nominations,
                &mut start,
                &mut rng
            )
            .ok()
            .as_deref(),
            Some("a")
        );
    }
}
