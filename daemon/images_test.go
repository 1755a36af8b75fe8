package daemon

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestImageUsers(t *testing.T) {
	pod := func(ns, name string, init, app string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if init != "" {
			p.Spec.InitContainers = []corev1.Container{{Name: "i", Image: init}}
		}
		p.Spec.Containers = []corev1.Container{{Name: "c", Image: app}}
		return p
	}
	// Names as a user spells them resolve to digests the way the store would.
	digests := map[string]string{"busybox": "sha256:b", "busybox:latest": "sha256:b", "app:1": "sha256:a"}
	resolve := func(ref string) (string, bool) { d, ok := digests[ref]; return d, ok }
	pods := []*corev1.Pod{
		pod("default", "web", "", "app:1"),
		pod("default", "job", "busybox", "app:1"),
		pod("kube-system", "dns", "", "busybox:latest"),
		pod("default", "gone", "", "missing:1"),
	}
	for _, tc := range []struct {
		digest string
		want   []string
	}{
		{"sha256:b", []string{"default/job", "kube-system/dns"}},
		{"sha256:a", []string{"default/job", "default/web"}},
		{"sha256:none", nil},
	} {
		if got := imageUsers(pods, resolve, tc.digest); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("imageUsers(%s) = %v, want %v", tc.digest, got, tc.want)
		}
	}
}
