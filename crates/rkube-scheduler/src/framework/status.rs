//! The outcome of one plugin at one extension point, with the reasons
//! Kubernetes prints in `0/N nodes are available: ...`.

use std::borrow::Cow;

/// What a plugin decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// The pod may proceed.
    Success,
    /// Something went wrong that is not the pod's fault; retried with back-off.
    Error,
    /// The pod does not fit now; preemption may help.
    Unschedulable,
    /// The pod does not fit and removing pods would not change that.
    UnschedulableAndUnresolvable,
    /// The plugin has nothing to do for this pod (its later extension points are skipped).
    Skip,
}

/// A plugin's verdict: a code, the reasons, and which plugin said so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    code: Code,
    reasons: Vec<Cow<'static, str>>,
    plugin: &'static str,
}

impl Status {
    /// Success.
    pub fn success() -> Status {
        Status {
            code: Code::Success,
            reasons: Vec::new(),
            plugin: "",
        }
    }

    /// Skip: the plugin does not apply to this pod.
    pub fn skip() -> Status {
        Status {
            code: Code::Skip,
            reasons: Vec::new(),
            plugin: "",
        }
    }

    /// A status with one reason.
    pub fn new(code: Code, reason: impl Into<Cow<'static, str>>) -> Status {
        Status {
            code,
            reasons: vec![reason.into()],
            plugin: "",
        }
    }

    /// A status with several reasons (each counted separately in the summary).
    pub fn with_reasons(code: Code, reasons: Vec<Cow<'static, str>>) -> Status {
        Status {
            code,
            reasons,
            plugin: "",
        }
    }

    /// An internal error.
    pub fn error(reason: impl Into<Cow<'static, str>>) -> Status {
        Status::new(Code::Error, reason)
    }

    /// Records which plugin produced the status.
    pub fn with_plugin(mut self, plugin: &'static str) -> Status {
        self.plugin = plugin;
        self
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The reasons, in order.
    pub fn reasons(&self) -> &[Cow<'static, str>] {
        &self.reasons
    }

    /// The plugin that produced the status (`""` when unknown).
    pub fn plugin(&self) -> &'static str {
        self.plugin
    }

    /// The reasons joined as Kubernetes' `Status.Message()` does.
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }

    /// Whether the pod may proceed.
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    /// Whether the pod was rejected (resolvable or not).
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.code,
            Code::Unschedulable | Code::UnschedulableAndUnresolvable
        )
    }
}
