package deployment

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// deploy is a defaulted Deployment "web" of replicas running image.
func deploy(replicas int32, image string, mods ...func(*appsv1.Deployment)) *appsv1.Deployment {
	surge, unavail := intstr.FromString("25%"), intstr.FromString("25%")
	deadline, limit := int32(600), int32(10)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "d-uid", Generation: 1},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
			},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavail}},
			RevisionHistoryLimit: &limit, ProgressDeadlineSeconds: &deadline,
		},
	}
	for _, m := range mods {
		m(d)
	}
	return d
}

func strategy(surge, unavail intstr.IntOrString) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) {
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavail}
	}
}

func recreate(d *appsv1.Deployment) {
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
}

func minReady(s int32) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = s }
}

// rev is the recorded revision n of image's template.
func rev(n int64, image string) *appsv1.ReplicaSet {
	d := deploy(1, image)
	return newRevision(d, TemplateHash(&d.Spec.Template), n)
}

func hashOf(image string) string {
	d := deploy(1, image)
	return TemplateHash(&d.Spec.Template)
}

// pods are n pods of image's template; ready ones became ready readyAgo before t0.
func pods(prefix, image string, n int, ready bool, readyAgo time.Duration) []Pod {
	var out []Pod
	for i := 0; i < n; i++ {
		p := Pod{Name: fmt.Sprintf("%s-%d", prefix, i), Hash: hashOf(image), Phase: corev1.PodRunning,
			Created: t0.Add(-time.Hour + time.Duration(i)*time.Second)}
		if ready {
			p.Ready, p.ReadySince = true, t0.Add(-readyAgo-time.Duration(i)*time.Second)
		}
		out = append(out, p)
	}
	return out
}

func join(ps ...[]Pod) []Pod {
	var out []Pod
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

func deleting(ps []Pod) []Pod {
	for i := range ps {
		ps[i].Deleting = true
	}
	return ps
}

func TestLimits(t *testing.T) {
	tests := []struct {
		replicas              int32
		surge, unavail        intstr.IntOrString
		wantSurge, wantUnavil int
	}{
		{10, intstr.FromString("25%"), intstr.FromString("25%"), 3, 2},
		{3, intstr.FromInt32(1), intstr.FromInt32(0), 1, 0},
		{3, intstr.FromInt32(0), intstr.FromInt32(0), 0, 1},
		{1, intstr.FromString("10%"), intstr.FromString("10%"), 1, 0},
		{2, intstr.FromInt32(0), intstr.FromInt32(5), 0, 2},
	}
	for _, tc := range tests {
		s, u := Limits(deploy(tc.replicas, "v1", strategy(tc.surge, tc.unavail)))
		if s != tc.wantSurge || u != tc.wantUnavil {
			t.Errorf("replicas %d surge %s unavailable %s: got %d/%d, want %d/%d", tc.replicas, tc.surge.String(), tc.unavail.String(), s, u, tc.wantSurge, tc.wantUnavil)
		}
	}
	if s, u := Limits(deploy(3, "v1", recreate)); s != 0 || u != 0 {
		t.Errorf("Recreate: got %d/%d, want 0/0", s, u)
	}
}

func TestProgressDeadline(t *testing.T) {
	d := deploy(3, "v2", strategy(intstr.FromInt32(1), intstr.FromInt32(0)))
	in := Input{Deployment: d, ReplicaSets: []*appsv1.ReplicaSet{rev(1, "v1"), rev(2, "v2")},
		Pods: join(pods("old", "v1", 3, true, time.Minute), pods("new", "v2", 1, false, 0)), Now: t0}
	act := Reconcile(in)
	d.Status = act.Status
	// No progress for less than the deadline: still progressing, requeued at it.
	in.Now = t0.Add(599 * time.Second)
	act = Reconcile(in)
	if c := find(act.Status.Conditions, appsv1.DeploymentProgressing); c.Status != corev1.ConditionTrue || act.RequeueAfter != time.Second {
		t.Fatalf("before the deadline: %+v, requeue %v", c, act.RequeueAfter)
	}
	d.Status = act.Status
	in.Now = t0.Add(600 * time.Second)
	act = Reconcile(in)
	c := find(act.Status.Conditions, appsv1.DeploymentProgressing)
	if c.Status != corev1.ConditionFalse || c.Reason != ReasonProgressDeadlineExceeded {
		t.Fatalf("at the deadline: %+v, want False/%s", c, ReasonProgressDeadlineExceeded)
	}
	// Progress afterwards makes it progressing again.
	d.Status = act.Status
	in.Pods = join(pods("old", "v1", 3, true, time.Minute), pods("new", "v2", 1, true, time.Second))
	in.Now = t0.Add(700 * time.Second)
	act = Reconcile(in)
	if c := find(act.Status.Conditions, appsv1.DeploymentProgressing); c.Status != corev1.ConditionTrue || c.Reason != ReasonRSUpdated {
		t.Fatalf("after progress: %+v", c)
	}
}

func TestRevisionsCountTheirPods(t *testing.T) {
	d := deploy(3, "v2", strategy(intstr.FromInt32(1), intstr.FromInt32(0)))
	act := Reconcile(Input{Deployment: d, ReplicaSets: []*appsv1.ReplicaSet{rev(1, "v1"), rev(2, "v2")},
		Pods: join(pods("old", "v1", 3, true, time.Minute), pods("new", "v2", 1, false, 0)), Now: t0})
	got := map[int64][3]int32{}
	for _, rs := range act.Save {
		got[RevisionOf(rs)] = [3]int32{*rs.Spec.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas}
	}
	want := map[int64][3]int32{1: {3, 3, 3}, 2: {1, 0, 0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("revision counts %v, want %v", got, want)
	}
	// Unchanged counts are not saved again.
	in := Input{Deployment: d, ReplicaSets: act.Save, Pods: join(pods("old", "v1", 3, true, time.Minute), pods("new", "v2", 1, false, 0)), Now: t0}
	if act := Reconcile(in); len(act.Save) != 0 {
		t.Errorf("saved %d revisions whose counts did not change", len(act.Save))
	}
}

func TestNewPod(t *testing.T) {
	d := deploy(1, "v1")
	rs := rev(1, "v1")
	pod := NewPod(d, rs, "abcde")
	h := hashOf("v1")
	if pod.Name != "web-"+h+"-abcde" || pod.Labels[LabelTemplateHash] != h || pod.Labels["app"] != "web" {
		t.Errorf("pod %s labels %v", pod.Name, pod.Labels)
	}
	if len(pod.OwnerReferences) != 1 || pod.OwnerReferences[0].UID != d.UID || pod.OwnerReferences[0].Kind != "Deployment" {
		t.Errorf("ownerReferences %v", pod.OwnerReferences)
	}
	// The hash ignores the hash label, so a revision's template rolls back to itself.
	if TemplateHash(&rs.Spec.Template) != h {
		t.Errorf("hash of the revision's template %s, want %s", TemplateHash(&rs.Spec.Template), h)
	}
}

func TestReconcile(t *testing.T) {
	tests := []struct {
		name        string
		d           *appsv1.Deployment
		rss         []*appsv1.ReplicaSet
		pods        []Pod
		wantCreate  int
		wantDelete  []string
		wantSaveRev int64 // the revision number saved, 0: none
		wantForget  []string
		wantRequeue time.Duration
		// wantStatus: replicas, updated, ready, available
		wantStatus  [4]int32
		progressing string
	}{
		{
			name: "a new Deployment records revision 1 and creates its replicas",
			d:    deploy(3, "v1"), wantCreate: 3, wantSaveRev: 1,
			wantStatus: [4]int32{3, 3, 0, 0}, progressing: ReasonNewRSCreated, wantRequeue: 600 * time.Second,
		},
		{
			name: "all replicas available: complete, nothing to do",
			d:    deploy(3, "v1"), rss: []*appsv1.ReplicaSet{rev(1, "v1")}, pods: pods("a", "v1", 3, true, time.Minute),
			wantStatus: [4]int32{3, 3, 3, 3}, progressing: ReasonNewRSAvailable,
		},
		{
			name: "maxUnavailable 0: a template change surges one new pod and deletes none",
			d:    deploy(3, "v2", strategy(intstr.FromInt32(1), intstr.FromInt32(0))), rss: []*appsv1.ReplicaSet{rev(1, "v1")},
			pods: pods("old", "v1", 3, true, time.Minute), wantCreate: 1, wantSaveRev: 2,
			wantStatus: [4]int32{4, 1, 3, 3}, progressing: ReasonNewRSCreated, wantRequeue: 600 * time.Second,
		},
		{
			name: "maxUnavailable 0: an unready new pod holds the rollout",
			d:    deploy(3, "v2", strategy(intstr.FromInt32(1), intstr.FromInt32(0))), rss: []*appsv1.ReplicaSet{rev(1, "v1"), rev(2, "v2")},
			pods:       join(pods("old", "v1", 3, true, time.Minute), pods("new", "v2", 1, false, 0)),
			wantStatus: [4]int32{4, 1, 3, 3}, progressing: ReasonRSUpdated, wantRequeue: 600 * time.Second,
		},
		{
			name: "maxUnavailable 0: a ready new pod lets one old pod go, the one ready the shortest",
			d:    deploy(3, "v2", strategy(intstr.FromInt32(1), intstr.FromInt32(0))), rss: []*appsv1.ReplicaSet{rev(1, "v1"), rev(2, "v2")},
			pods:       join(pods("old", "v1", 3, true, time.Minute), pods("new", "v2", 1, true, time.Second)),
			wantDelete: []string{"old-0"}, wantStatus: [4]int32{3, 1, 3, 3}, progressing: ReasonRSUpdated, wantRequeue: 600 * time.Second,
		},
		{
			name: "maxUnavailable 0: a terminating old pod makes room for the next new pod",
			d:    deploy(3, "v2", strategy(intstr.FromInt32(1), intstr.FromInt32(0))), rss: []*appsv1.ReplicaSet{rev(1, "v1"), rev(2, "v2")},
			pods:       join(deleting(pods("gone", "v1", 1, true, time.Minute)), pods("old", "v1", 2, true, time.Minute), pods("new", "v2", 1, true, time.Second)),
			wantCreate: 1, wantStatus: [4]int32{4, 2, 3, 3}, progressing: ReasonRSUpdated, wantRequeue: 600 * time.Second,
		},
		{
			name: "an old pod still terminating does not hold the completion (as it does not hold rollout status)",
			d:    deploy(3, "v2", strategy(intstr.FromInt32(1), intstr.FromInt32(0))), rss: []*appsv1.ReplicaSet{rev(1, "v1"), rev(2, "v2")},
			pods:       join(deleting(pods("gone", "v1", 1, true, time.Minute)), pods("new", "v2", 3, true, time.Minute)),
			wantStatus: [4]int32{3, 3, 3, 3}, progressing: ReasonNewRSAvailable,
		},
		{
			name: "minReadySeconds: a new pod ready for less is not available yet",
			d:    deploy(3, "v2", strategy(intstr.FromInt32(1), intstr.FromInt32(0)), minReady(10)), rss: []*appsv1.ReplicaSet{rev(1, "v1"), rev(2, "v2")},
			pods:       join(pods("old", "v1", 3, true, time.Minute), pods("new", "v2", 1, true, 4*time.Second)),
			wantStatus: [4]int32{4, 1, 4, 3}, progressing: ReasonRSUpdated, wantRequeue: 6 * time.Second,
		},
		{
			name: "percentages: 25% of 4 surges one and lets one go unavailable",
			d:    deploy(4, "v2"), rss: []*appsv1.ReplicaSet{rev(1, "v1")}, pods: pods("old", "v1", 4, true, time.Minute),
			wantCreate: 1, wantDelete: []string{"old-0"}, wantSaveRev: 2,
			wantStatus: [4]int32{4, 1, 3, 3}, progressing: ReasonNewRSCreated, wantRequeue: 600 * time.Second,
		},
		{
			name: "unavailable old pods go first, newest first, within maxUnavailable",
			d:    deploy(3, "v2", strategy(intstr.FromInt32(1), intstr.FromInt32(1))), rss: []*appsv1.ReplicaSet{rev(1, "v1"), rev(2, "v2")},
			pods:       join(pods("old", "v1", 3, false, 0), pods("new", "v2", 1, false, 0)),
			wantDelete: []string{"old-2"}, wantCreate: 0,
			wantStatus: [4]int32{3, 1, 0, 0}, progressing: ReasonRSUpdated, wantRequeue: 600 * time.Second,
		},
		{
			name: "Recreate deletes every old pod and creates none yet",
			d:    deploy(2, "v2", recreate), rss: []*appsv1.ReplicaSet{rev(1, "v1")}, pods: pods("old", "v1", 2, true, time.Minute),
			wantDelete: []string{"old-0", "old-1"}, wantSaveRev: 2,
			wantStatus: [4]int32{0, 0, 0, 0}, progressing: ReasonNewRSCreated, wantRequeue: 600 * time.Second,
		},
		{
			name: "Recreate waits for old pods to finish terminating",
			d:    deploy(2, "v2", recreate), rss: []*appsv1.ReplicaSet{rev(1, "v1"), rev(2, "v2")}, pods: deleting(pods("old", "v1", 2, true, time.Minute)),
			wantStatus: [4]int32{0, 0, 0, 0}, progressing: ReasonRSUpdated, wantRequeue: 600 * time.Second,
		},
		{
			name: "Recreate creates the new pods once the old are gone",
			d:    deploy(2, "v2", recreate), rss: []*appsv1.ReplicaSet{rev(1, "v1"), rev(2, "v2")},
			wantCreate: 2, wantStatus: [4]int32{2, 2, 0, 0}, progressing: ReasonRSUpdated, wantRequeue: 600 * time.Second,
		},
		{
			name: "rollback to an older template makes its revision the newest",
			d:    deploy(2, "v1"), rss: []*appsv1.ReplicaSet{rev(1, "v1"), rev(2, "v2")}, pods: pods("new", "v2", 2, true, time.Minute),
			wantCreate: 1, wantSaveRev: 3, wantStatus: [4]int32{3, 1, 2, 2}, progressing: ReasonRSUpdated, wantRequeue: 600 * time.Second,
		},
		{
			name: "scale to zero deletes every pod",
			d:    deploy(0, "v1"), rss: []*appsv1.ReplicaSet{rev(1, "v1")}, pods: pods("a", "v1", 3, true, time.Minute),
			wantDelete: []string{"a-0", "a-1", "a-2"}, wantStatus: [4]int32{0, 0, 0, 0}, progressing: ReasonNewRSAvailable,
		},
		{
			name: "scale down deletes the pods not ready first",
			d:    deploy(1, "v1"), rss: []*appsv1.ReplicaSet{rev(1, "v1")},
			pods:       join(pods("ready", "v1", 1, true, time.Minute), pods("unready", "v1", 1, false, 0)),
			wantDelete: []string{"unready-0"}, wantStatus: [4]int32{1, 1, 1, 1}, progressing: ReasonNewRSAvailable,
		},
		{
			name: "an ended pod is deleted and replaced",
			d:    deploy(2, "v1"), rss: []*appsv1.ReplicaSet{rev(1, "v1")},
			pods: func() []Pod {
				p := pods("a", "v1", 2, true, time.Minute)
				p[1].Phase, p[1].Ready = corev1.PodFailed, false
				return p
			}(),
			wantDelete: []string{"a-1"}, wantCreate: 1, wantStatus: [4]int32{2, 2, 1, 1}, progressing: ReasonRSUpdated, wantRequeue: 600 * time.Second,
		},
		{
			name: "revisions without pods beyond revisionHistoryLimit are forgotten, oldest first",
			d: deploy(1, "v3", func(d *appsv1.Deployment) {
				one := int32(1)
				d.Spec.RevisionHistoryLimit = &one
			}),
			rss: []*appsv1.ReplicaSet{rev(1, "v1"), rev(2, "v2"), rev(3, "v3")}, pods: pods("a", "v3", 1, true, time.Minute),
			wantForget: []string{"web-" + hashOf("v1")}, wantStatus: [4]int32{1, 1, 1, 1}, progressing: ReasonNewRSAvailable,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			act := Reconcile(Input{Deployment: tc.d, ReplicaSets: tc.rss, Pods: tc.pods, Now: t0})
			if act.Create != tc.wantCreate {
				t.Errorf("Create = %d, want %d", act.Create, tc.wantCreate)
			}
			var del []string
			for _, d := range act.Delete {
				del = append(del, d.Pod)
			}
			sort.Strings(del)
			if !reflect.DeepEqual(del, tc.wantDelete) {
				t.Errorf("Delete = %v, want %v", del, tc.wantDelete)
			}
			var saved int64
			for _, rs := range act.Save {
				if rs.Labels[LabelTemplateHash] == TemplateHash(&tc.d.Spec.Template) {
					saved = RevisionOf(rs)
				}
			}
			var was int64
			for _, rs := range tc.rss {
				if rs.Labels[LabelTemplateHash] == TemplateHash(&tc.d.Spec.Template) {
					was = RevisionOf(rs)
				}
			}
			if saved == was {
				saved = 0 // saved for its counts only
			}
			if saved != tc.wantSaveRev {
				t.Errorf("saved revision %d, want %d", saved, tc.wantSaveRev)
			}
			if !reflect.DeepEqual(act.Forget, tc.wantForget) {
				t.Errorf("Forget = %v, want %v", act.Forget, tc.wantForget)
			}
			s := act.Status
			if got := [4]int32{s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, s.AvailableReplicas}; got != tc.wantStatus {
				t.Errorf("status replicas/updated/ready/available = %v, want %v", got, tc.wantStatus)
			}
			if c := find(s.Conditions, appsv1.DeploymentProgressing); c == nil || c.Reason != tc.progressing {
				t.Errorf("Progressing = %+v, want reason %s", c, tc.progressing)
			}
			if act.RequeueAfter != tc.wantRequeue {
				t.Errorf("RequeueAfter = %v, want %v", act.RequeueAfter, tc.wantRequeue)
			}
			if act.Revision == nil || act.Revision.Labels[LabelTemplateHash] != TemplateHash(&tc.d.Spec.Template) {
				t.Errorf("Revision = %v, want the current template's", act.Revision)
			}
		})
	}
}
