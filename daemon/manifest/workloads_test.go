package manifest

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
)

func daemonSetYAML(spec string) string {
	return "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec:\n" + spec
}

const okDaemonSet = "  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n    spec:\n      containers: [{name: c, image: busybox}]\n"

func cronJobYAML(spec string) string {
	return "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: tick}\nspec:\n" + spec
}

const okCronJobTemplate = "  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: c, image: busybox}]\n"

func TestParseDaemonSet_Defaults(t *testing.T) {
	docs, _, err := ParseObjects([]byte(daemonSetYAML(okDaemonSet)), "ds.yaml", Policy{})
	if err != nil {
		t.Fatal(err)
	}
	ds := docs[0].Object.(*appsv1.DaemonSet)
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru.MaxUnavailable.IntValue() != 1 || ru.MaxSurge.IntValue() != 0 {
		t.Errorf("updateStrategy %+v", ds.Spec.UpdateStrategy)
	}
	if ds.Namespace != "default" || ds.Spec.Template.Spec.RestartPolicy != "Always" {
		t.Errorf("namespace %q restartPolicy %q", ds.Namespace, ds.Spec.Template.Spec.RestartPolicy)
	}
}

func TestParseDaemonSet_RejectsNamingTheField(t *testing.T) {
	for _, tc := range []struct{ name, spec, want string }{
		{"no selector", "  template:\n    metadata: {labels: {app: agent}}\n    spec:\n      containers: [{name: c, image: busybox}]\n", "spec.selector: Required value"},
		{"selector does not match", "  selector: {matchLabels: {app: other}}\n" + okDaemonSet[strings.Index(okDaemonSet, "  template"):], "spec.template.metadata.labels: Invalid value"},
		{"strategy type", "  updateStrategy: {type: Recreate}\n" + okDaemonSet, `spec.updateStrategy.type: Unsupported value: "Recreate"`},
		{"both limits zero", "  updateStrategy: {rollingUpdate: {maxUnavailable: 0}}\n" + okDaemonSet, "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: \"0\": may not be 0 when `maxSurge` is 0"},
		{"restartPolicy", strings.Replace(okDaemonSet, "spec:\n      containers", "spec:\n      restartPolicy: Never\n      containers", 1), `spec.template.spec.restartPolicy: Unsupported value: "Never"`},
		{"minReadySeconds", "  minReadySeconds: -1\n" + okDaemonSet, "spec.minReadySeconds: Invalid value: -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseObjects([]byte(daemonSetYAML(tc.spec)), "ds.yaml", Policy{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, tc.want)
			}
		})
	}
}

func TestParseCronJob_Defaults(t *testing.T) {
	docs, _, err := ParseObjects([]byte(cronJobYAML("  schedule: '*/1 * * * *'\n"+okCronJobTemplate)), "cj.yaml", Policy{})
	if err != nil {
		t.Fatal(err)
	}
	cj := docs[0].Object.(*batchv1.CronJob)
	s := cj.Spec
	if s.ConcurrencyPolicy != batchv1.AllowConcurrent || *s.Suspend || *s.SuccessfulJobsHistoryLimit != 3 || *s.FailedJobsHistoryLimit != 1 {
		t.Errorf("defaults %+v", s)
	}
	if *s.JobTemplate.Spec.BackoffLimit != 6 || *s.JobTemplate.Spec.Completions != 1 {
		t.Errorf("job template not defaulted as a Job: %+v", s.JobTemplate.Spec)
	}
}

func TestParseCronJob_RejectsNamingTheField(t *testing.T) {
	for _, tc := range []struct{ name, spec, want string }{
		{"no schedule", okCronJobTemplate, "spec.schedule: Required value"},
		{"bad schedule", "  schedule: '61 * * * *'\n" + okCronJobTemplate, `spec.schedule: Invalid value: "61 * * * *"`},
		{"bad time zone", "  schedule: '@hourly'\n  timeZone: Mars/Olympus\n" + okCronJobTemplate, `spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone`},
		{"TZ with timeZone", "  schedule: 'TZ=UTC 0 * * * *'\n  timeZone: UTC\n" + okCronJobTemplate, "spec.schedule: Invalid value: \"TZ=UTC 0 * * * *\": cannot use both"},
		{"concurrencyPolicy", "  schedule: '@hourly'\n  concurrencyPolicy: Sometimes\n" + okCronJobTemplate, `spec.concurrencyPolicy: Unsupported value: "Sometimes"`},
		{"history limit", "  schedule: '@hourly'\n  successfulJobsHistoryLimit: -1\n" + okCronJobTemplate, "spec.successfulJobsHistoryLimit: Invalid value: -1"},
		{"deadline", "  schedule: '@hourly'\n  startingDeadlineSeconds: -5\n" + okCronJobTemplate, "spec.startingDeadlineSeconds: Invalid value: -5"},
		{"job template restartPolicy", "  schedule: '@hourly'\n" + strings.Replace(okCronJobTemplate, "Never", "Always", 1),
			`spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseObjects([]byte(cronJobYAML(tc.spec)), "cj.yaml", Policy{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, tc.want)
			}
		})
	}
	long := strings.Repeat("a", 53)
	_, _, err := ParseObjects([]byte(strings.Replace(cronJobYAML("  schedule: '@hourly'\n"+okCronJobTemplate), "tick", long, 1)), "cj.yaml", Policy{})
	if err == nil || !strings.Contains(err.Error(), "metadata.name: Invalid value") || !strings.Contains(err.Error(), "no more than 52 characters") {
		t.Errorf("a 53-character CronJob name: %v", err)
	}
}

func TestParseDaemonSet_NoStatusWarningWithoutStatus(t *testing.T) {
	_, warns, err := ParseObjects([]byte(daemonSetYAML(okDaemonSet)), "ds.yaml", Policy{})
	if err != nil || len(warns) != 0 {
		t.Errorf("warnings %v, err %v", warns, err)
	}
	_, warns, _ = ParseObjects([]byte(daemonSetYAML(okDaemonSet)+"status: {numberReady: 1}\n"), "ds.yaml", Policy{})
	if len(warns) != 1 || !strings.Contains(warns[0], "status is ignored") {
		t.Errorf("warnings %v, want status is ignored", warns)
	}
}
