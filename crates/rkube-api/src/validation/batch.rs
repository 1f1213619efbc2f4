//! batch/v1 Jobs and CronJobs (`pkg/apis/batch/validation`).

use k8s_openapi::api::batch::v1::{CronJob, Job, JobSpec};
use serde_json::Value;

use super::{Errors, Path, decode, format, immutable, json, meta, nonnegative, pod};
use crate::field_error::FieldError;
use crate::selector::LabelSelector;

const CRON_DESCRIPTORS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// Jobs. The server generates the selector (and matching template labels) before
/// validation unless `manualSelector` is true, so a missing selector is only an
/// error for manual selectors.
pub(super) fn job(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let job: Job = decode(obj)?;
    let old_job: Option<Job> = old.map(decode).transpose()?;
    let mut errs = meta::meta(
        &job.metadata,
        old_job.as_ref().map(|o| &o.metadata),
        true,
        format::dns1123_subdomain,
    );
    let spec = job.spec.unwrap_or_default();
    let path = Path::root("spec");
    indexed_pod_names(
        &mut errs,
        job.metadata.name.as_deref().unwrap_or_default(),
        &spec,
    );
    job_spec(&mut errs, &path, &spec);
    job_selector(&mut errs, &path, &spec);
    if let Some(old_spec) = old_job.and_then(|o| o.spec) {
        job_update(&mut errs, &path, &spec, &old_spec);
    }
    Ok(errs)
}

/// Pods of an Indexed Job are named `<job>-<index>`, which must stay a DNS label.
fn indexed_pod_names(errs: &mut Errors, name: &str, spec: &JobSpec) {
    let Some(completions) = spec.completions.filter(|c| *c > 0) else {
        return;
    };
    if spec.completion_mode.as_deref() != Some("Indexed") {
        return;
    }
    let hostname = format!("{name}-{}", completions - 1);
    if !format::dns1123_label(&hostname).is_empty() {
        errs.push(FieldError::invalid(
            &Path::root("metadata").child("name"),
            name,
            format!("will not able to create pod with invalid DNS label: {hostname}"),
        ));
    }
}

/// `validateJobSpec`: counts, modes, the pod template and its restart policy.
fn job_spec(errs: &mut Errors, path: &Path, spec: &JobSpec) {
    let counts = [
        ("parallelism", spec.parallelism.map(i64::from)),
        ("completions", spec.completions.map(i64::from)),
        ("activeDeadlineSeconds", spec.active_deadline_seconds),
        ("backoffLimit", spec.backoff_limit.map(i64::from)),
        (
            "ttlSecondsAfterFinished",
            spec.ttl_seconds_after_finished.map(i64::from),
        ),
        (
            "backoffLimitPerIndex",
            spec.backoff_limit_per_index.map(i64::from),
        ),
        ("maxFailedIndexes", spec.max_failed_indexes.map(i64::from)),
    ];
    for (field, v) in counts {
        if let Some(v) = v {
            nonnegative(errs, &path.child(field), v);
        }
    }
    if let Some(mode) = spec.completion_mode.as_deref() {
        if mode != "NonIndexed" && mode != "Indexed" {
            errs.push(FieldError::not_supported(
                &path.child("completionMode"),
                mode,
                &["NonIndexed", "Indexed"],
            ));
        }
        if mode == "Indexed" && spec.completions.is_none() {
            errs.push(FieldError::required(
                &path.child("completions"),
                "when completion mode is Indexed",
            ));
        }
    }
    if let Some(policy) = spec.pod_replacement_policy.as_deref() {
        let allowed: &[&str] = if spec.pod_failure_policy.is_some() {
            &["Failed"]
        } else {
            &["Failed", "TerminatingOrFailed"]
        };
        if !allowed.contains(&policy) {
            errs.push(FieldError::not_supported(
                &path.child("podReplacementPolicy"),
                policy,
                allowed,
            ));
        }
    }
    errs.extend(pod::template(&spec.template, &path.child("template")));
    let restart = spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.clone())
        .unwrap_or_default();
    if restart != "OnFailure" && restart != "Never" {
        errs.push(FieldError::not_supported(
            &path.child("template").child("spec").child("restartPolicy"),
            restart,
            &["OnFailure", "Never"],
        ));
    }
}

/// `ValidateJobSpec`'s selector rules: present, valid, and selecting the template.
fn job_selector(errs: &mut Errors, path: &Path, spec: &JobSpec) {
    let manual = spec.manual_selector == Some(true);
    let Some(sel) = spec.selector.as_ref() else {
        if manual {
            errs.push(FieldError::required(&path.child("selector"), ""));
        }
        return;
    };
    meta::label_selector(errs, &path.child("selector"), Some(sel));
    let labels = spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone());
    if let Ok(parsed) = LabelSelector::from_label_selector(sel)
        && !parsed.matches(&labels.clone().unwrap_or_default())
    {
        errs.push(FieldError::invalid(
            &path.child("template").child("metadata").child("labels"),
            json(&labels),
            "`selector` does not match template `labels`",
        ));
    }
}

/// `ValidateJobSpecUpdate`: most of a Job's spec is fixed once created.
fn job_update(errs: &mut Errors, path: &Path, new: &JobSpec, old: &JobSpec) {
    if new.completion_mode.as_deref() != Some("Indexed") {
        immutable(
            errs,
            &path.child("completions"),
            json(&new.completions),
            &json(&old.completions),
        );
    }
    immutable(
        errs,
        &path.child("selector"),
        json(&new.selector),
        &json(&old.selector),
    );
    if old.suspend != Some(true) {
        immutable(
            errs,
            &path.child("template"),
            json(&new.template),
            &json(&old.template),
        );
    }
    immutable(
        errs,
        &path.child("completionMode"),
        json(&new.completion_mode),
        &json(&old.completion_mode),
    );
    immutable(
        errs,
        &path.child("podFailurePolicy"),
        json(&new.pod_failure_policy),
        &json(&old.pod_failure_policy),
    );
    immutable(
        errs,
        &path.child("backoffLimitPerIndex"),
        json(&new.backoff_limit_per_index),
        &json(&old.backoff_limit_per_index),
    );
    immutable(
        errs,
        &path.child("managedBy"),
        json(&new.managed_by),
        &json(&old.managed_by),
    );
    immutable(
        errs,
        &path.child("successPolicy"),
        json(&new.success_policy),
        &json(&old.success_policy),
    );
}

/// CronJobs.
pub(super) fn cron_job(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let cj: CronJob = decode(obj)?;
    let old_cj: Option<CronJob> = old.map(decode).transpose()?;
    let mut errs = meta::meta(
        &cj.metadata,
        old_cj.as_ref().map(|o| &o.metadata),
        true,
        format::dns1123_subdomain,
    );
    let name = cj.metadata.name.as_deref().unwrap_or_default();
    if old_cj.is_none() && name.len() > 52 {
        errs.push(FieldError::invalid(
            &Path::root("metadata").child("name"),
            name,
            "must be no more than 52 characters",
        ));
    }
    let spec = cj.spec;
    let path = Path::root("spec");
    let old_schedule = old_cj.map(|o| o.spec.schedule);
    schedule(
        &mut errs,
        &path.child("schedule"),
        &spec.schedule,
        old_schedule.as_deref(),
    );
    if let Some(d) = spec.starting_deadline_seconds {
        nonnegative(&mut errs, &path.child("startingDeadlineSeconds"), d);
    }
    let policy = spec.concurrency_policy.as_deref().unwrap_or_default();
    match policy {
        "" => errs.push(FieldError::required(&path.child("concurrencyPolicy"), "")),
        "Allow" | "Forbid" | "Replace" => {}
        other => errs.push(FieldError::not_supported(
            &path.child("concurrencyPolicy"),
            other,
            &["Allow", "Forbid", "Replace"],
        )),
    }
    job_template(
        &mut errs,
        &path.child("jobTemplate"),
        &spec.job_template.spec.unwrap_or_default(),
    );
    for (field, v) in [
        (
            "successfulJobsHistoryLimit",
            spec.successful_jobs_history_limit,
        ),
        ("failedJobsHistoryLimit", spec.failed_jobs_history_limit),
    ] {
        if let Some(v) = v {
            nonnegative(&mut errs, &path.child(field), i64::from(v));
        }
    }
    Ok(errs)
}

/// `ValidateJobTemplateSpec`: a Job spec whose selector the CronJob controller generates.
fn job_template(errs: &mut Errors, path: &Path, spec: &JobSpec) {
    let spec_path = path.child("spec");
    job_spec(errs, &spec_path, spec);
    if let Some(sel) = &spec.selector {
        errs.push(FieldError::invalid(
            &spec_path.child("selector"),
            json(sel),
            "`selector` will be auto-generated",
        ));
    }
    if spec.manual_selector == Some(true) {
        errs.push(FieldError::not_supported(
            &spec_path.child("manualSelector"),
            true,
            &["nil", "false"],
        ));
    }
}

/// Required, without a time zone prefix (unless it already had one), and of five fields or a descriptor.
fn schedule(errs: &mut Errors, path: &Path, schedule: &str, old: Option<&str>) {
    if schedule.is_empty() {
        errs.push(FieldError::required(path, ""));
        return;
    }
    if schedule.contains("TZ") && !old.is_some_and(|o| o.contains("TZ")) {
        errs.push(FieldError::invalid(
            path,
            schedule,
            "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
        ));
        return;
    }
    if schedule.starts_with('@') {
        if !CRON_DESCRIPTORS.contains(&schedule) && !schedule.starts_with("@every ") {
            errs.push(FieldError::invalid(
                path,
                schedule,
                format!("unrecognized descriptor: {schedule}"),
            ));
        }
        return;
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != 5 {
        errs.push(FieldError::invalid(
            path,
            schedule,
            format!(
                "expected exactly 5 fields, found {}: [{}]",
                fields.len(),
                fields.join(" ")
            ),
        ));
    }
}
