package downward

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1",
			Labels: map[string]string{"app": "web", "b": "x\"y"}, Annotations: map[string]string{"note": "hi"}},
		Spec: corev1.PodSpec{NodeName: "node", ServiceAccountName: "sa", Containers: []corev1.Container{{
			Name: "c",
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
			},
		}}},
		Status: corev1.PodStatus{PodIP: "10.1.0.5", PodIPs: []corev1.PodIP{{IP: "10.1.0.5"}, {IP: "fd00::5"}},
			HostIP: "192.0.2.1", HostIPs: []corev1.HostIP{{IP: "192.0.2.1"}}},
	}
}

func TestFieldValue(t *testing.T) {
	cases := map[string]string{
		"metadata.name": "web", "metadata.namespace": "ns", "metadata.uid": "u1",
		"metadata.labels['app']": "web", "metadata.labels['none']": "", "metadata.annotations['note']": "hi",
		"metadata.labels": "app=\"web\"\nb=\"x\\\"y\"", "spec.nodeName": "node", "spec.serviceAccountName": "sa",
		"status.podIP": "10.1.0.5", "status.podIPs": "10.1.0.5,fd00::5", "status.hostIP": "192.0.2.1", "status.hostIPs": "192.0.2.1",
	}
	for path, want := range cases {
		got, err := FieldValue(testPod(), path)
		if err != nil || got != want {
			t.Errorf("FieldValue(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := FieldValue(testPod(), "spec.hostname"); err == nil {
		t.Errorf("unsupported path accepted")
	}
}

func TestResourceValue(t *testing.T) {
	alloc := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceEphemeralStorage: resource.MustParse("10Gi")}
	cases := []struct {
		res, divisor, want string
	}{
		{"limits.cpu", "", "2"}, // 1.5 rounded up
		{"limits.cpu", "1m", "1500"},
		{"requests.cpu", "1m", "250"},
		{"limits.memory", "1Mi", "64"},
		{"requests.memory", "", "67108864"}, // request unset: the limit
		{"limits.ephemeral-storage", "1Gi", "10"},
	}
	for _, tc := range cases {
		ref := &corev1.ResourceFieldSelector{Resource: tc.res}
		if tc.divisor != "" {
			ref.Divisor = resource.MustParse(tc.divisor)
		}
		got, err := ResourceValue(testPod(), "c", ref, alloc)
		if err != nil || got != tc.want {
			t.Errorf("ResourceValue(%s / %s) = %q, %v; want %q", tc.res, tc.divisor, got, err, tc.want)
		}
	}
	if _, err := ResourceValue(testPod(), "nope", &corev1.ResourceFieldSelector{Resource: "limits.cpu"}, nil); err == nil {
		t.Errorf("unknown container accepted")
	}
}
