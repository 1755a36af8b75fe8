package manifest

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func limitsPod(containers int, env int) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}}
	for i := 0; i < containers; i++ {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: "busybox"})
	}
	chunk := strings.Repeat("x", 100<<10)
	for i := 0; i*len(chunk) < env; i++ {
		pod.Spec.Containers[0].Env = append(pod.Spec.Containers[0].Env, corev1.EnvVar{Name: fmt.Sprintf("E%d", i), Value: chunk})
	}
	return pod
}

func TestValidateLimits(t *testing.T) {
	for name, tc := range map[string]struct {
		pod  *corev1.Pod
		want string // "" means accepted
	}{
		"small":                          {limitsPod(3, 0), ""},
		"1 MB of env is allowed":         {limitsPod(1, 1<<20), ""},
		"250 containers are allowed":     {limitsPod(MaxContainers, 0), ""},
		"3 MB of env names env":          {limitsPod(2, 3<<20), "spec.containers[0].env: Invalid value: \"<3"},
		"3000 containers names the list": {limitsPod(3000, 0), "spec.containers: Too many: 3000: must have at most 250 items"},
	} {
		t.Run(name, func(t *testing.T) {
			errs := validateLimits(tc.pod)
			if tc.want == "" {
				if len(errs) > 0 {
					t.Fatalf("refused: %v", errs)
				}
				return
			}
			if len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), tc.want) {
				t.Fatalf("errors %v, want one containing %q", errs, tc.want)
			}
			if strings.Contains(tc.want, "env") && !strings.Contains(errs.ToAggregate().Error(), fmt.Sprintf("must have at most %d bytes", MaxPodBytes)) {
				t.Fatalf("errors %v do not give the limit", errs)
			}
		})
	}
}
