package manifest

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func deploymentYAML(spec string) string {
	return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n" + spec
}

const okTemplate = "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: c, image: busybox}]\n"

func TestParseDeployment_Defaults(t *testing.T) {
	docs, _, err := ParseObjects([]byte(deploymentYAML(okTemplate)), "d.yaml", Policy{})
	if err != nil {
		t.Fatal(err)
	}
	d := docs[0].Object.(*appsv1.Deployment)
	ru := d.Spec.Strategy.RollingUpdate
	switch {
	case *d.Spec.Replicas != 1, d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType,
		ru.MaxSurge.String() != "25%", ru.MaxUnavailable.String() != "25%",
		*d.Spec.RevisionHistoryLimit != 10, *d.Spec.ProgressDeadlineSeconds != 600, d.Namespace != "default":
		t.Errorf("defaults: %+v", d.Spec)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if d.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways || c.ImagePullPolicy == "" || c.TerminationMessagePath == "" {
		t.Errorf("the template is not defaulted as a pod: %+v", d.Spec.Template.Spec)
	}
}

func TestParseDeployment_RejectsNamingTheField(t *testing.T) {
	for _, tc := range []struct{ name, spec, want string }{
		{"wrong apiVersion", "", `apiVersion "v1" is not supported for kind Deployment: want apps/v1`},
		{"no selector", "  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: c, image: busybox}]\n", "spec.selector: Required value"},
		{"selector does not match", "  selector: {matchLabels: {app: other}}\n" + okTemplate[strings.Index(okTemplate, "  template"):],
			"spec.template.metadata.labels: Invalid value"},
		{"negative replicas", "  replicas: -1\n" + okTemplate, "spec.replicas: Invalid value: -1"},
		{"template restartPolicy", okTemplate + "      restartPolicy: Never\n", `spec.template.spec.restartPolicy: Unsupported value: "Never"`},
		{"template container", "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: c}]\n",
			"spec.template.spec.containers[0].image: Required value"},
		{"strategy type", "  strategy: {type: Sometimes}\n" + okTemplate, `spec.strategy.type: Unsupported value: "Sometimes"`},
		{"both zero", "  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}\n" + okTemplate, "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"0\": may not be 0 when `maxSurge` is 0"},
		{"bad percent", "  strategy: {rollingUpdate: {maxSurge: 'x%'}}\n" + okTemplate, `spec.strategy.rollingUpdate.maxSurge: Invalid value: "x%"`},
		{"over 100%", "  strategy: {rollingUpdate: {maxUnavailable: '150%'}}\n" + okTemplate, "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"150%\": must not be greater than 100%"},
		{"recreate with rollingUpdate", "  strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}\n" + okTemplate, "spec.strategy.rollingUpdate: Forbidden"},
		{"deadline", "  minReadySeconds: 10\n  progressDeadlineSeconds: 10\n" + okTemplate, "spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds"},
		{"paused", "  paused: true\n" + okTemplate, "spec.paused: Forbidden: podd does not pause Deployments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := deploymentYAML(tc.spec)
			if tc.name == "wrong apiVersion" {
				m = strings.Replace(deploymentYAML(okTemplate), "apps/v1", "v1", 1)
			}
			docs, _, err := ParseObjects([]byte(m), "d.yaml", Policy{})
			if err == nil {
				t.Fatalf("accepted: %d objects", len(docs))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, tc.want)
			}
		})
	}
}
