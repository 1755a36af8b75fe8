package daemonset

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func recorded(image string, number int64) *appsv1.ControllerRevision {
	return newRevision(daemonSet(image), hashOf(image), number)
}

func TestRevisions(t *testing.T) {
	limit := func(n int32) func(*appsv1.DaemonSet) {
		return func(ds *appsv1.DaemonSet) { ds.Spec.RevisionHistoryLimit = &n }
	}
	for _, tc := range []struct {
		name       string
		ds         *appsv1.DaemonSet
		revs       []*appsv1.ControllerRevision
		pods       []Pod
		wantSave   int64 // the number saved, 0: none
		wantNumber int64
		wantForget []string
	}{
		{name: "a new DaemonSet records revision 1", ds: daemonSet("v1"), wantSave: 1, wantNumber: 1},
		{name: "its template recorded: nothing saved", ds: daemonSet("v1"), revs: []*appsv1.ControllerRevision{recorded("v1", 1)}, wantNumber: 1},
		{name: "a template change records the next revision", ds: daemonSet("v2"), revs: []*appsv1.ControllerRevision{recorded("v1", 1)},
			wantSave: 2, wantNumber: 2},
		{name: "back to an older template (rollout undo): it becomes the newest", ds: daemonSet("v1"),
			revs: []*appsv1.ControllerRevision{recorded("v1", 1), recorded("v2", 2)}, wantSave: 3, wantNumber: 3},
		{name: "idle revisions beyond revisionHistoryLimit are forgotten, oldest first, not one a pod runs",
			ds:   daemonSet("v4", limit(1)),
			revs: []*appsv1.ControllerRevision{recorded("v1", 1), recorded("v2", 2), recorded("v3", 3), recorded("v4", 4)},
			pods: []Pod{pod("a", "v1", 0)}, wantNumber: 4, wantForget: []string{"agent-" + hashOf("v2")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			act := Reconcile(Input{DaemonSet: tc.ds, Revisions: tc.revs, Pods: tc.pods, Node: node, Now: t0})
			var saved int64
			for _, cr := range act.Save {
				saved = cr.Revision
				if cr.Labels[LabelRevisionHash] != act.Hash || cr.Name != "agent-"+act.Hash || cr.OwnerReferences[0].Kind != "DaemonSet" {
					t.Errorf("saved revision %s labels %v", cr.Name, cr.Labels)
				}
			}
			if saved != tc.wantSave || act.Revision != tc.wantNumber {
				t.Errorf("saved revision %d, current %d; want %d, %d", saved, act.Revision, tc.wantSave, tc.wantNumber)
			}
			if !reflect.DeepEqual(act.Forget, tc.wantForget) {
				t.Errorf("Forget = %v, want %v", act.Forget, tc.wantForget)
			}
		})
	}
}

func TestTemplateOfRoundTrips(t *testing.T) {
	ds := daemonSet("v1")
	got, err := TemplateOf(newRevision(ds, hashOf("v1"), 1))
	if err != nil || !reflect.DeepEqual(*got, ds.Spec.Template) {
		t.Errorf("TemplateOf = %+v, %v; want %+v", got, err, ds.Spec.Template)
	}
}
