package manifest

import (
	"encoding/json"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// defaultJob fills what the API server defaults on a batch/v1 Job.
func defaultJob(j *batchv1.Job) {
	j.APIVersion, j.Kind = "batch/v1", KindJob
	s := &j.Spec
	if s.Completions == nil {
		s.Completions = ptr(int32(1))
	}
	if s.Parallelism == nil {
		s.Parallelism = ptr(int32(1))
	}
	if s.BackoffLimit == nil {
		s.BackoffLimit = ptr(int32(6))
	}
	if s.CompletionMode == nil {
		m := batchv1.NonIndexedCompletion
		s.CompletionMode = &m
	}
	if s.Suspend == nil {
		s.Suspend = ptr(false)
	}
	if j.Namespace == "" {
		j.Namespace = corev1.NamespaceDefault
	}
	restart := s.Template.Spec.RestartPolicy
	pod := templatePod(j.Name, j.Namespace, &s.Template)
	Default(pod)
	s.Template.Spec = pod.Spec
	// A Job's pods have no default restartPolicy: Default's Always is not one.
	s.Template.Spec.RestartPolicy = restart
}

// validateJob checks a defaulted Job like the API server, and refuses what
// podd cannot honour.
func validateJob(j *batchv1.Job, pol Policy) field.ErrorList {
	p := field.NewPath("spec")
	s := &j.Spec
	errs := validateMeta(&j.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, nonNegative(int64(*s.Parallelism), p.Child("parallelism"))...)
	errs = append(errs, nonNegative(int64(*s.BackoffLimit), p.Child("backoffLimit"))...)
	if *s.Completions < 1 {
		errs = append(errs, field.Invalid(p.Child("completions"), *s.Completions, "must be greater than or equal to 1"))
	}
	if s.ActiveDeadlineSeconds != nil && *s.ActiveDeadlineSeconds <= 0 {
		errs = append(errs, field.Invalid(p.Child("activeDeadlineSeconds"), *s.ActiveDeadlineSeconds, "must be greater than 0"))
	}
	if s.TTLSecondsAfterFinished != nil {
		errs = append(errs, nonNegative(int64(*s.TTLSecondsAfterFinished), p.Child("ttlSecondsAfterFinished"))...)
	}
	if s.Selector != nil || s.ManualSelector != nil {
		errs = append(errs, field.Forbidden(p.Child("selector"), "podd selects a Job's pods by their owner: leave selector and manualSelector unset"))
	}
	if *s.CompletionMode != batchv1.NonIndexedCompletion {
		errs = append(errs, field.NotSupported(p.Child("completionMode"), *s.CompletionMode, []string{string(batchv1.NonIndexedCompletion)}))
	}
	if *s.Suspend {
		errs = append(errs, field.Forbidden(p.Child("suspend"), "podd does not suspend Jobs"))
	}
	for _, f := range []struct {
		set  bool
		name string
	}{{s.PodFailurePolicy != nil, "podFailurePolicy"}, {s.SuccessPolicy != nil, "successPolicy"},
		{s.BackoffLimitPerIndex != nil, "backoffLimitPerIndex"}, {s.MaxFailedIndexes != nil, "maxFailedIndexes"},
		{s.PodReplacementPolicy != nil, "podReplacementPolicy"}, {s.ManagedBy != nil, "managedBy"}} {
		if f.set {
			errs = append(errs, field.Forbidden(p.Child(f.name), "podd does not support it"))
		}
	}
	return append(errs, validateTemplate(j.Name, j.Namespace, &s.Template, p.Child("template"), pol, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)...)
}

// ValidateJobUpdate is what the API server refuses when a Job is replaced:
// a changed template or completions.
func ValidateJobUpdate(old, j *batchv1.Job) field.ErrorList {
	var errs field.ErrorList
	if !sameJSON(old.Spec.Template, j.Spec.Template) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "template"), "", "field is immutable"))
	}
	if *old.Spec.Completions != *j.Spec.Completions {
		errs = append(errs, field.Invalid(field.NewPath("spec", "completions"), *j.Spec.Completions, "field is immutable"))
	}
	return errs
}

func sameJSON(a, b any) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	return erra == nil && errb == nil && string(ja) == string(jb)
}
