package manifest

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

func jobYAML(spec string) string {
	return "apiVersion: batch/v1\nkind: Job\nmetadata: {name: pi}\nspec:\n" + spec
}

const okJobTemplate = "  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox}]\n"

func TestParseJob_Defaults(t *testing.T) {
	docs, _, err := ParseObjects([]byte(jobYAML(okJobTemplate)), "j.yaml", Policy{})
	if err != nil {
		t.Fatal(err)
	}
	j := docs[0].Object.(*batchv1.Job)
	if *j.Spec.Completions != 1 || *j.Spec.Parallelism != 1 || *j.Spec.BackoffLimit != 6 || j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("defaults: %+v", j.Spec)
	}
}

func TestParseJob_RejectsNamingTheField(t *testing.T) {
	for _, tc := range []struct{ name, spec, want string }{
		{"restartPolicy Always", "  template:\n    spec:\n      restartPolicy: Always\n      containers: [{name: c, image: busybox}]\n",
			`spec.template.spec.restartPolicy: Unsupported value: "Always"`},
		{"no restartPolicy", "  template:\n    spec:\n      containers: [{name: c, image: busybox}]\n", `spec.template.spec.restartPolicy: Unsupported value: ""`},
		{"completions", "  completions: 0\n" + okJobTemplate, "spec.completions: Invalid value: 0"},
		{"parallelism", "  parallelism: -1\n" + okJobTemplate, "spec.parallelism: Invalid value: -1"},
		{"deadline", "  activeDeadlineSeconds: 0\n" + okJobTemplate, "spec.activeDeadlineSeconds: Invalid value: 0"},
		{"indexed", "  completionMode: Indexed\n" + okJobTemplate, `spec.completionMode: Unsupported value: "Indexed"`},
		{"selector", "  selector: {matchLabels: {a: b}}\n" + okJobTemplate, "spec.selector: Forbidden"},
		{"podFailurePolicy", "  podFailurePolicy: {rules: []}\n" + okJobTemplate, "spec.podFailurePolicy: Forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseObjects([]byte(jobYAML(tc.spec)), "j.yaml", Policy{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, tc.want)
			}
		})
	}
}
