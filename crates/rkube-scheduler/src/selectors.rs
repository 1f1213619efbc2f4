//! Label selectors with Kubernetes' nil/empty semantics and node selector
//! terms (`nodeSelector`, required node affinity, `matchFields`), compiled
//! once per pod so filters only match.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use k8s_openapi::api::core::v1::{Node, NodeSelectorRequirement, NodeSelectorTerm, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use rkube_api::selector::{LabelSelector, Operator, Requirement, SelectorError};

/// Labels of an object.
pub type Labels = BTreeMap<String, String>;

static EMPTY: LazyLock<Labels> = LazyLock::new(Labels::new);

/// The labels of an object's metadata (empty when unset).
pub fn labels(meta: &metav1::ObjectMeta) -> &Labels {
    meta.labels.as_ref().unwrap_or(&EMPTY)
}

/// A compiled `metav1.LabelSelector`: a nil selector matches nothing, an empty one everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// `nil`: selects nothing.
    Nothing,
    /// A selector and requirements merged into it (`matchLabelKeys`).
    Match(LabelSelector, Vec<Requirement>),
}

impl Selector {
    /// Compiles an optional selector.
    pub fn new(sel: Option<&metav1::LabelSelector>) -> Result<Selector, SelectorError> {
        match sel {
            None => Ok(Selector::Nothing),
            Some(s) => Ok(Selector::Match(
                LabelSelector::from_label_selector(s)?,
                Vec::new(),
            )),
        }
    }

    /// Adds `key in (value)` (or `notin` when `negate`) for each key the pod has (`matchLabelKeys` / `mismatchLabelKeys`).
    pub fn merge_keys(
        &mut self,
        keys: &[String],
        pod_labels: &Labels,
        negate: bool,
    ) -> Result<(), SelectorError> {
        let Selector::Match(_, extra) = self else {
            return Ok(());
        };
        let op = if negate {
            Operator::NotIn
        } else {
            Operator::In
        };
        for key in keys {
            if let Some(v) = pod_labels.get(key) {
                extra.push(Requirement::new(key, op, vec![v.clone()])?);
            }
        }
        Ok(())
    }

    /// Whether a label set is selected.
    pub fn matches(&self, labels: &Labels) -> bool {
        match self {
            Selector::Nothing => false,
            Selector::Match(sel, extra) => {
                sel.matches(labels) && extra.iter().all(|r| r.matches(labels))
            }
        }
    }

    /// Whether this selects everything (an empty selector), which counting treats as selecting nothing.
    pub fn is_everything(&self) -> bool {
        matches!(self, Selector::Match(sel, extra) if sel.is_empty() && extra.is_empty())
    }
}

/// One compiled node selector term: all expressions and fields must hold.
#[derive(Clone, Debug)]
struct Term {
    labels: Vec<Requirement>,
    /// `metadata.name` requirements (the only field Kubernetes supports).
    names: Vec<Requirement>,
}

fn operator(op: &str) -> Option<Operator> {
    Some(match op {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        "Gt" => Operator::GreaterThan,
        "Lt" => Operator::LessThan,
        _ => return None,
    })
}

fn requirement(r: &NodeSelectorRequirement) -> Option<Requirement> {
    Requirement::new(
        &r.key,
        operator(&r.operator)?,
        r.values.clone().unwrap_or_default(),
    )
    .ok()
}

fn field_requirement(r: &NodeSelectorRequirement) -> Option<Requirement> {
    let op = match r.operator.as_str() {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        _ => return None,
    };
    let values = r.values.clone().unwrap_or_default();
    (r.key == "metadata.name" && values.len() == 1)
        .then(|| Requirement::new("metadata.name", op, values).ok())?
}

impl Term {
    /// Compiles a term; `None` when it is empty or invalid (such a term matches no node).
    fn new(t: &NodeSelectorTerm) -> Option<Term> {
        let exprs = t.match_expressions.as_deref().unwrap_or_default();
        let fields = t.match_fields.as_deref().unwrap_or_default();
        if exprs.is_empty() && fields.is_empty() {
            return None;
        }
        let labels = exprs.iter().map(requirement).collect::<Option<Vec<_>>>()?;
        let names = fields
            .iter()
            .map(field_requirement)
            .collect::<Option<Vec<_>>>()?;
        Some(Term { labels, names })
    }

    fn matches(&self, node: &Node) -> bool {
        if !self
            .labels
            .iter()
            .all(|r| r.matches(labels(&node.metadata)))
        {
            return false;
        }
        if self.names.is_empty() {
            return true;
        }
        let field = Labels::from([(
            "metadata.name".to_string(),
            node.metadata.name.clone().unwrap_or_default(),
        )]);
        self.names.iter().all(|r| r.matches(&field))
    }
}

/// `nodeSelectorTerms`: a node matches when any term does.
#[derive(Clone, Debug, Default)]
pub struct NodeSelector {
    terms: Vec<Option<Term>>,
}

impl NodeSelector {
    /// Compiles a list of terms.
    pub fn new(terms: &[NodeSelectorTerm]) -> NodeSelector {
        NodeSelector {
            terms: terms.iter().map(Term::new).collect(),
        }
    }

    /// Whether any term matches the node.
    pub fn matches(&self, node: &Node) -> bool {
        self.terms.iter().flatten().any(|t| t.matches(node))
    }
}

/// A compiled single term (a preferred scheduling term's preference).
#[derive(Clone, Debug)]
pub struct NodeSelectorTermMatcher(Option<Term>);

impl NodeSelectorTermMatcher {
    /// Compiles one term; an empty or invalid one matches nothing.
    pub fn new(t: &NodeSelectorTerm) -> NodeSelectorTermMatcher {
        NodeSelectorTermMatcher(Term::new(t))
    }

    /// Whether the term matches the node.
    pub fn matches(&self, node: &Node) -> bool {
        self.0.as_ref().is_some_and(|t| t.matches(node))
    }
}

/// A pod's hard node constraints: `nodeSelector` and required node affinity.
#[derive(Clone, Debug, Default)]
pub struct RequiredNodeAffinity {
    node_selector: Option<Labels>,
    affinity: Option<NodeSelector>,
}

impl RequiredNodeAffinity {
    /// Compiles the pod's `nodeSelector` and `requiredDuringSchedulingIgnoredDuringExecution`.
    pub fn of(pod: &Pod) -> RequiredNodeAffinity {
        let spec = pod.spec.as_ref();
        let node_selector = spec
            .and_then(|s| s.node_selector.clone())
            .filter(|s| !s.is_empty());
        let affinity = spec
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|na| {
                na.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .map(|r| NodeSelector::new(&r.node_selector_terms));
        RequiredNodeAffinity {
            node_selector,
            affinity,
        }
    }

    /// Whether the node satisfies both.
    pub fn matches(&self, node: &Node) -> bool {
        let node_labels = labels(&node.metadata);
        let selected = self
            .node_selector
            .as_ref()
            .is_none_or(|sel| sel.iter().all(|(k, v)| node_labels.get(k) == Some(v)));
        selected && self.affinity.as_ref().is_none_or(|a| a.matches(node))
    }

    /// Whether the pod constrains nodes at all.
    pub fn is_empty(&self) -> bool {
        self.node_selector.is_none() && self.affinity.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(v: serde_json::Value) -> Node {
        serde_json::from_value(v).expect("node")
    }
    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).expect("pod")
    }

    #[test]
    fn nil_selects_nothing_empty_selects_everything() {
        let l = Labels::from([("a".into(), "1".into())]);
        assert!(!Selector::new(None).expect("sel").matches(&l));
        let empty = Selector::new(Some(&metav1::LabelSelector::default())).expect("sel");
        assert!(empty.matches(&l) && empty.is_everything());
    }

    #[test]
    fn merged_keys_narrow_the_selector() {
        let base: metav1::LabelSelector =
            serde_json::from_value(json!({"matchLabels": {"app": "web"}})).expect("sel");
        let mut s = Selector::new(Some(&base)).expect("sel");
        let me = Labels::from([("app".into(), "web".into()), ("hash".into(), "a".into())]);
        s.merge_keys(&["hash".into(), "missing".into()], &me, false)
            .expect("merge");
        assert!(s.matches(&me));
        let other = Labels::from([("app".into(), "web".into()), ("hash".into(), "b".into())]);
        assert!(!s.matches(&other));
    }

    #[test]
    fn node_selector_terms_or_and_fields() {
        let n = node(json!({"metadata": {"name": "n1", "labels": {"zone": "a", "gen": "5"}}}));
        let p = pod(
            json!({"spec": {"containers": [], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
                {"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["4"]}],
                 "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}
            ]}}}}}),
        );
        assert!(RequiredNodeAffinity::of(&p).matches(&n));
        let n2 = node(json!({"metadata": {"name": "n2", "labels": {"zone": "a", "gen": "5"}}}));
        assert!(!RequiredNodeAffinity::of(&p).matches(&n2));
    }

    #[test]
    fn empty_terms_and_invalid_terms_match_nothing() {
        let n = node(json!({"metadata": {"name": "n1", "labels": {"zone": "a"}}}));
        let empty = NodeSelector::new(&[NodeSelectorTerm::default()]);
        assert!(!empty.matches(&n));
        let bad: NodeSelectorTerm = serde_json::from_value(
            json!({"matchExpressions": [{"key": "zone", "operator": "Gt", "values": ["x"]}]}),
        )
        .expect("term");
        assert!(!NodeSelector::new(&[bad]).matches(&n));
    }

    #[test]
    fn node_selector_needs_every_label() {
        let p =
            pod(json!({"spec": {"containers": [], "nodeSelector": {"disk": "ssd", "zone": "a"}}}));
        let ok = node(
            json!({"metadata": {"name": "n", "labels": {"disk": "ssd", "zone": "a", "x": "y"}}}),
        );
        let partial = node(json!({"metadata": {"name": "n", "labels": {"disk": "ssd"}}}));
        let r = RequiredNodeAffinity::of(&p);
        assert!(r.matches(&ok) && !r.matches(&partial));
    }
}
