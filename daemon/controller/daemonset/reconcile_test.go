package daemonset

import (
	"reflect"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podd-dev/podd/daemon/controller/deployment"
)

var (
	t0   = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	node = Node{Name: "n1", Labels: map[string]string{"kubernetes.io/hostname": "n1", "disk": "ssd"}}
)

// daemonSet is a defaulted DaemonSet "agent" running image, RollingUpdate
// with maxUnavailable 1 and maxSurge 0.
func daemonSet(image string, mods ...func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	one, zero := intstr.FromInt32(1), intstr.FromInt32(0)
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "default", UID: "ds-uid", Generation: 2},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
			},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one, MaxSurge: &zero}},
		},
	}
	for _, m := range mods {
		m(ds)
	}
	return ds
}

func surge(ds *appsv1.DaemonSet) {
	one, zero := intstr.FromInt32(1), intstr.FromString("0%")
	ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &zero, MaxSurge: &one}
}

func onDelete(ds *appsv1.DaemonSet) {
	ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
}

func selector(sel map[string]string) func(*appsv1.DaemonSet) {
	return func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = sel }
}

func hashOf(image string) string {
	return deployment.TemplateHash(&daemonSet(image).Spec.Template)
}

// pod is a pod of image's template, ready for readyFor (not ready if 0).
func pod(name, image string, readyFor time.Duration) Pod {
	p := Pod{Name: name, Hash: hashOf(image), Phase: corev1.PodRunning, Created: t0.Add(-time.Hour)}
	if readyFor > 0 {
		p.Ready, p.ReadySince = true, t0.Add(-readyFor)
	}
	return p
}

func deleting(p Pod) Pod { p.Deleting = true; return p }

func TestReconcile(t *testing.T) {
	tests := []struct {
		name       string
		ds         *appsv1.DaemonSet
		pods       []Pod
		wantCreate bool
		wantDelete []string
		// wantStatus: desired, current, ready, updated, available, misscheduled
		wantStatus  [6]int32
		wantMatched corev1.ConditionStatus
		wantRequeue time.Duration
	}{
		{
			name: "a new DaemonSet creates its one pod", ds: daemonSet("v1"), wantCreate: true,
			wantStatus: [6]int32{1, 0, 0, 0, 0, 0}, wantMatched: corev1.ConditionTrue,
		},
		{
			name: "its pod ready: nothing to do", ds: daemonSet("v1"), pods: []Pod{pod("a", "v1", time.Minute)},
			wantStatus: [6]int32{1, 1, 1, 1, 1, 0}, wantMatched: corev1.ConditionTrue,
		},
		{
			name: "a matching nodeSelector runs the pod", ds: daemonSet("v1", selector(map[string]string{"disk": "ssd"})), wantCreate: true,
			wantStatus: [6]int32{1, 0, 0, 0, 0, 0}, wantMatched: corev1.ConditionTrue,
		},
		{
			name: "a nodeSelector this node does not match runs no pod and says so", ds: daemonSet("v1", selector(map[string]string{"disk": "hdd"})),
			wantStatus: [6]int32{0, 0, 0, 0, 0, 0}, wantMatched: corev1.ConditionFalse,
		},
		{
			name: "a nodeSelector changed to mismatch deletes the running pod", ds: daemonSet("v1", selector(map[string]string{"disk": "hdd"})),
			pods: []Pod{pod("a", "v1", time.Minute)}, wantDelete: []string{"a"},
			wantStatus: [6]int32{0, 0, 0, 0, 0, 0}, wantMatched: corev1.ConditionFalse,
		},
		{
			name: "required node affinity on a label the node lacks runs no pod",
			ds: daemonSet("v1", func(ds *appsv1.DaemonSet) {
				ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
						{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "gpu", Operator: corev1.NodeSelectorOpExists}}},
					}}}}
			}),
			wantStatus: [6]int32{0, 0, 0, 0, 0, 0}, wantMatched: corev1.ConditionFalse,
		},
		{
			name: "required node affinity: one matching term (by node name) is enough",
			ds: daemonSet("v1", func(ds *appsv1.DaemonSet) {
				ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
						{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "gpu", Operator: corev1.NodeSelectorOpExists}}},
						{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}}},
					}}}}
			}),
			wantCreate: true, wantStatus: [6]int32{1, 0, 0, 0, 0, 0}, wantMatched: corev1.ConditionTrue,
		},
		{
			name: "RollingUpdate without surge: a template change deletes the old pod first",
			ds:   daemonSet("v2"), pods: []Pod{pod("a", "v1", time.Minute)}, wantDelete: []string{"a"},
			wantStatus: [6]int32{1, 0, 0, 0, 0, 0}, wantMatched: corev1.ConditionTrue,
		},
		{
			name: "RollingUpdate without surge: the new pod waits for the old to finish terminating",
			ds:   daemonSet("v2"), pods: []Pod{deleting(pod("a", "v1", time.Minute))},
			wantStatus: [6]int32{1, 0, 0, 0, 0, 0}, wantMatched: corev1.ConditionTrue,
		},
		{
			name: "RollingUpdate with maxSurge: the new pod starts beside the old",
			ds:   daemonSet("v2", surge), pods: []Pod{pod("a", "v1", time.Minute)}, wantCreate: true,
			wantStatus: [6]int32{1, 1, 1, 0, 1, 0}, wantMatched: corev1.ConditionTrue,
		},
		{
			name: "RollingUpdate with maxSurge: an unready new pod holds the old",
			ds:   daemonSet("v2", surge), pods: []Pod{pod("a", "v1", time.Minute), pod("b", "v2", 0)},
			wantStatus: [6]int32{1, 1, 1, 1, 1, 0}, wantMatched: corev1.ConditionTrue,
		},
		{
			name: "RollingUpdate with maxSurge: the old pod goes once the new is available",
			ds:   daemonSet("v2", surge), pods: []Pod{pod("a", "v1", time.Minute), pod("b", "v2", time.Second)}, wantDelete: []string{"a"},
			wantStatus: [6]int32{1, 1, 1, 1, 1, 0}, wantMatched: corev1.ConditionTrue,
		},
		{
			name:       "minReadySeconds: a new pod ready for less is not available, the old stays",
			ds:         daemonSet("v2", surge, func(ds *appsv1.DaemonSet) { ds.Spec.MinReadySeconds = 10 }),
			pods:       []Pod{pod("a", "v1", time.Minute), pod("b", "v2", 4*time.Second)},
			wantStatus: [6]int32{1, 1, 1, 1, 1, 0}, wantMatched: corev1.ConditionTrue, wantRequeue: 6 * time.Second,
		},
		{
			name: "RollingUpdate with maxSurge: an unavailable old pod goes at once",
			ds:   daemonSet("v2", surge), pods: []Pod{pod("a", "v1", 0)}, wantCreate: true, wantDelete: []string{"a"},
			wantStatus: [6]int32{1, 0, 0, 0, 0, 0}, wantMatched: corev1.ConditionTrue,
		},
		{
			name: "OnDelete: a template change leaves the old pod running",
			ds:   daemonSet("v2", onDelete), pods: []Pod{pod("a", "v1", time.Minute)},
			wantStatus: [6]int32{1, 1, 1, 0, 1, 0}, wantMatched: corev1.ConditionTrue,
		},
		{
			name: "OnDelete: once the old pod is deleted the new one starts",
			ds:   daemonSet("v2", onDelete), wantCreate: true,
			wantStatus: [6]int32{1, 0, 0, 0, 0, 0}, wantMatched: corev1.ConditionTrue,
		},
		{
			name: "two pods of the template (a crash between create and record): the newer goes",
			ds:   daemonSet("v1"), pods: []Pod{pod("a", "v1", time.Minute), func() Pod { p := pod("b", "v1", 0); p.Created = t0; return p }()},
			wantDelete: []string{"b"}, wantStatus: [6]int32{1, 1, 1, 1, 1, 0}, wantMatched: corev1.ConditionTrue,
		},
		{
			name: "an ended pod is deleted and replaced once gone",
			ds:   daemonSet("v1"), pods: []Pod{func() Pod { p := pod("a", "v1", 0); p.Phase = corev1.PodFailed; return p }()},
			wantDelete: []string{"a"}, wantCreate: true, wantStatus: [6]int32{1, 0, 0, 0, 0, 0}, wantMatched: corev1.ConditionTrue,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			act := Reconcile(Input{DaemonSet: tc.ds, Node: node, Pods: tc.pods, Now: t0})
			if act.Create != tc.wantCreate {
				t.Errorf("Create = %v, want %v", act.Create, tc.wantCreate)
			}
			var del []string
			for _, d := range act.Delete {
				del = append(del, d.Pod)
			}
			sort.Strings(del)
			if !reflect.DeepEqual(del, tc.wantDelete) {
				t.Errorf("Delete = %v, want %v", del, tc.wantDelete)
			}
			s := act.Status
			got := [6]int32{s.DesiredNumberScheduled, s.CurrentNumberScheduled, s.NumberReady, s.UpdatedNumberScheduled, s.NumberAvailable, s.NumberMisscheduled}
			if got != tc.wantStatus {
				t.Errorf("status desired/current/ready/updated/available/misscheduled = %v, want %v", got, tc.wantStatus)
			}
			if s.NumberUnavailable != s.DesiredNumberScheduled-s.NumberAvailable || s.ObservedGeneration != tc.ds.Generation {
				t.Errorf("unavailable %d, observedGeneration %d", s.NumberUnavailable, s.ObservedGeneration)
			}
			if len(s.Conditions) != 1 || s.Conditions[0].Type != ConditionNodeMatched || s.Conditions[0].Status != tc.wantMatched {
				t.Errorf("conditions %+v, want NodeMatched %s", s.Conditions, tc.wantMatched)
			}
			if act.RequeueAfter != tc.wantRequeue {
				t.Errorf("RequeueAfter = %v, want %v", act.RequeueAfter, tc.wantRequeue)
			}
			if act.Hash != deployment.TemplateHash(&tc.ds.Spec.Template) {
				t.Errorf("Hash = %s", act.Hash)
			}
		})
	}
}

func TestNodeMismatchMessageNamesTheSelector(t *testing.T) {
	act := Reconcile(Input{DaemonSet: daemonSet("v1", selector(map[string]string{"disk": "hdd"})), Node: node, Now: t0})
	if msg := act.Status.Conditions[0].Message; msg != "node n1 does not match the nodeSelector disk=hdd" {
		t.Errorf("message %q", msg)
	}
}

func TestNewPod(t *testing.T) {
	ds := daemonSet("v1")
	p := NewPod(ds, "h1", "abcde")
	if p.Name != "agent-abcde" || p.Labels[LabelRevisionHash] != "h1" || p.Labels["app"] != "agent" || p.Labels[LabelTemplateGeneration] != "2" {
		t.Errorf("pod %s labels %v", p.Name, p.Labels)
	}
	if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Kind != "DaemonSet" || p.OwnerReferences[0].UID != ds.UID {
		t.Errorf("ownerReferences %v", p.OwnerReferences)
	}
	if ds.Spec.Template.Labels[LabelRevisionHash] != "" {
		t.Error("NewPod changed the DaemonSet's template labels")
	}
}
