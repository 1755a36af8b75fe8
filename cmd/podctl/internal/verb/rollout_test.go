package verb

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRolloutStateReadsStatusLikeKubectl(t *testing.T) {
	three := int32(3)
	dep := func(gen, observed int64, s appsv1.DeploymentStatus) *appsv1.Deployment {
		s.ObservedGeneration = observed
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: gen}, Spec: appsv1.DeploymentSpec{Replicas: &three}, Status: s}
	}
	for _, tc := range []struct {
		name    string
		d       *appsv1.Deployment
		want    string
		done    bool
		wantErr string
	}{
		{"spec not observed", dep(2, 1, appsv1.DeploymentStatus{}), "Waiting for deployment spec update to be observed", false, ""},
		{"updating", dep(1, 1, appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 1}), "1 out of 3 new replicas have been updated", false, ""},
		{"old pending", dep(1, 1, appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 3}), "1 old replicas are pending termination", false, ""},
		{"not available", dep(1, 1, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 2}), "2 of 3 updated replicas are available", false, ""},
		{"done", dep(1, 1, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}), `deployment "web" successfully rolled out`, true, ""},
		{"deadline", dep(1, 1, appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing,
			Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded"}}}), "", false, `deployment "web" exceeded its progress deadline`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, done, err := rolloutState(tc.d)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || done != tc.done || !strings.Contains(msg, tc.want) {
				t.Errorf("got %q done=%v err=%v, want %q done=%v", msg, done, err, tc.want, tc.done)
			}
		})
	}
}

func TestParseDeploymentArg(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    string
		wantErr string
	}{
		{[]string{"deployment/web"}, "web", ""},
		{[]string{"deploy", "web"}, "web", ""},
		{[]string{"deployments.apps/web"}, "web", ""},
		{[]string{"pod/web"}, "", "deployments only"},
		{[]string{"deployment/a", "deployment/b"}, "", "one deployment is required"},
	} {
		got, err := ParseDeploymentArg(tc.args)
		if got != tc.want || (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%v: got %q, %v; want %q, %q", tc.args, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseRolloutArgTakesDaemonSets(t *testing.T) {
	kind, name, err := ParseRolloutArg([]string{"ds/agent"}, KindDeployment, KindDaemonSet)
	if err != nil || kind != KindDaemonSet || name != "agent" {
		t.Errorf("ds/agent: %v %q %v", kind, name, err)
	}
	_, _, err = ParseRolloutArg([]string{"cj/tick"}, KindDeployment, KindDaemonSet)
	if err == nil || !strings.Contains(err.Error(), "deployments and daemonsets only (deployment/NAME, daemonset/NAME)") {
		t.Errorf("cj/tick: %v", err)
	}
}

func TestDaemonSetRolloutStateReadsStatusLikeKubectl(t *testing.T) {
	ds := func(gen, observed int64, s appsv1.DaemonSetStatus) *appsv1.DaemonSet {
		s.ObservedGeneration = observed
		return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Generation: gen}, Status: s,
			Spec: appsv1.DaemonSetSpec{UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType}}}
	}
	for _, tc := range []struct {
		name string
		ds   *appsv1.DaemonSet
		want string
		done bool
	}{
		{"spec not observed", ds(2, 1, appsv1.DaemonSetStatus{}), "Waiting for daemon set spec update to be observed", false},
		{"updating", ds(1, 1, appsv1.DaemonSetStatus{DesiredNumberScheduled: 1}), "0 out of 1 new pods have been updated", false},
		{"not available", ds(1, 1, appsv1.DaemonSetStatus{DesiredNumberScheduled: 1, UpdatedNumberScheduled: 1}), "0 of 1 updated pods are available", false},
		{"done", ds(1, 1, appsv1.DaemonSetStatus{DesiredNumberScheduled: 1, UpdatedNumberScheduled: 1, NumberAvailable: 1}), `daemon set "agent" successfully rolled out`, true},
		{"no node matches: nothing to roll", ds(1, 1, appsv1.DaemonSetStatus{}), `daemon set "agent" successfully rolled out`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, done, err := rolloutState(tc.ds)
			if err != nil || done != tc.done || !strings.Contains(msg, tc.want) {
				t.Errorf("got %q done=%v err=%v, want %q done=%v", msg, done, err, tc.want, tc.done)
			}
		})
	}
	onDelete := ds(1, 1, appsv1.DaemonSetStatus{})
	onDelete.Spec.UpdateStrategy.Type = appsv1.OnDeleteDaemonSetStrategyType
	if _, _, err := rolloutState(onDelete); err == nil || !strings.Contains(err.Error(), "only available for RollingUpdate") {
		t.Errorf("OnDelete: %v", err)
	}
}
