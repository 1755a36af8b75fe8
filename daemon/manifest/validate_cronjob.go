package manifest

import (
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podd-dev/podd/daemon/controller/cronjob"
)

// maxCronJobName leaves room for the 11 characters of "-<minutes>" its
// Jobs' names add, as the API server does.
const maxCronJobName = 52

// defaultCronJob fills what the API server defaults on a batch/v1
// CronJob, its Job template included (as a Job's).
func defaultCronJob(cj *batchv1.CronJob) {
	cj.APIVersion, cj.Kind = "batch/v1", KindCronJob
	s := &cj.Spec
	if s.ConcurrencyPolicy == "" {
		s.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if s.Suspend == nil {
		s.Suspend = ptr(false)
	}
	if s.SuccessfulJobsHistoryLimit == nil {
		s.SuccessfulJobsHistoryLimit = ptr(int32(3))
	}
	if s.FailedJobsHistoryLimit == nil {
		s.FailedJobsHistoryLimit = ptr(int32(1))
	}
	if cj.Namespace == "" {
		cj.Namespace = corev1.NamespaceDefault
	}
	j := templateJob(cj)
	defaultJob(j)
	s.JobTemplate.Spec = j.Spec
}

// templateJob is the Job the CronJob's template makes, named like the
// CronJob's Jobs.
func templateJob(cj *batchv1.CronJob) *batchv1.Job {
	t := cj.Spec.JobTemplate.DeepCopy()
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: cj.Name + "-29454481", Namespace: cj.Namespace, Labels: t.Labels, Annotations: t.Annotations},
		Spec:       t.Spec,
	}
}

// validateCronJob checks a defaulted CronJob like the API server.
func validateCronJob(cj *batchv1.CronJob, pol Policy) field.ErrorList {
	p := field.NewPath("spec")
	s := &cj.Spec
	errs := validateMeta(&cj.ObjectMeta, field.NewPath("metadata"))
	if len(cj.Name) > maxCronJobName {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), cj.Name, fmt.Sprintf("must be no more than %d characters", maxCronJobName)))
	}
	switch {
	case s.Schedule == "":
		errs = append(errs, field.Required(p.Child("schedule"), ""))
	case s.TimeZone != nil && strings.Contains(s.Schedule, "TZ="):
		errs = append(errs, field.Invalid(p.Child("schedule"), s.Schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
	default:
		if _, err := cronjob.Schedule(&batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: s.Schedule}}); err != nil {
			errs = append(errs, field.Invalid(p.Child("schedule"), s.Schedule, err.Error()))
		}
	}
	if tz := s.TimeZone; tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil || *tz == "" || strings.EqualFold(*tz, "Local") {
			errs = append(errs, field.Invalid(p.Child("timeZone"), *tz, "unknown time zone"))
		}
	}
	if s.StartingDeadlineSeconds != nil {
		errs = append(errs, nonNegative(*s.StartingDeadlineSeconds, p.Child("startingDeadlineSeconds"))...)
	}
	errs = append(errs, nonNegative(int64(*s.SuccessfulJobsHistoryLimit), p.Child("successfulJobsHistoryLimit"))...)
	errs = append(errs, nonNegative(int64(*s.FailedJobsHistoryLimit), p.Child("failedJobsHistoryLimit"))...)
	switch s.ConcurrencyPolicy {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	default:
		errs = append(errs, field.NotSupported(p.Child("concurrencyPolicy"), s.ConcurrencyPolicy,
			[]string{string(batchv1.AllowConcurrent), string(batchv1.ForbidConcurrent), string(batchv1.ReplaceConcurrent)}))
	}
	for _, e := range validateJob(templateJob(cj), pol) {
		if strings.HasPrefix(e.Field, "metadata.name") {
			continue // the CronJob's own name is checked as such
		}
		if rest, ok := strings.CutPrefix(e.Field, "spec"); ok {
			e.Field = "spec.jobTemplate.spec" + rest
		} else {
			e.Field = "spec.jobTemplate." + e.Field
		}
		errs = append(errs, e)
	}
	return errs
}
