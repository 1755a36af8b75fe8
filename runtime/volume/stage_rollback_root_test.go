package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/internal/undo"
)

// A failure at any volumeMount of StageMounts (a subPath that leaves its
// volume, a volume that is not prepared) undoes the
// mounts staged before it, the private bind of the staging dir and the dir
// itself; the rollback reports no failure.
func TestStageMounts_RollbackAtEachStep(t *testing.T) {
	// Each makes the last volumeMount fail.
	fails := map[string]func(last *corev1.VolumeMount){
		"subPath escapes":     func(*corev1.VolumeMount) {},
		"volume not prepared": func(last *corev1.VolumeMount) { last.Name = "ghost" },
	}
	for k := 0; k <= 2; k++ {
		for name, fail := range fails {
			t.Run(fmt.Sprintf("after %d mounts, %s", k, name), func(t *testing.T) {
				f := newStageFixture(t)
				f.mkdirs(t, "a", "b")
				f.symlink(t, f.outside, "out")
				c := &corev1.Container{Name: "app"}
				var subs []string
				for i := range k {
					c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "vol", MountPath: fmt.Sprintf("/m%d", i)})
					subs = append(subs, []string{"a", "b"}[i])
				}
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "vol", MountPath: "/bad"})
				subs = append(subs, "out/secret")
				fail(&c.VolumeMounts[k])
				_, err := StageMounts(context.Background(), f.pod, c, subs, map[string]string{"vol": f.vol}, f.staging)
				if err == nil {
					t.Fatal("StageMounts succeeded")
				}
				if errors.Is(err, undo.ErrIncomplete) {
					t.Errorf("rollback reported a failure: %v", err)
				}
				assertNoMountsBelow(t, f.staging)
				if _, err := os.Lstat(f.staging); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("staging dir left after the rollback: %v", err)
				}
			})
		}
	}
}
