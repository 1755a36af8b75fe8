package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podd-dev/podd/runtime/volume"
)

const dataClaim = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\n" +
	"spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n"

// TestClaimVolumeResolvesToTheClaimDirectory: a pod's claim volume is the
// claim's directory in the pod's namespace; a missing claim fails with
// its name until it is applied.
func TestClaimVolumeResolvesToTheClaimDirectory(t *testing.T) {
	d := objectDaemon(t, t.TempDir())
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: corev1.PodSpec{
		Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}}}
	podDir := t.TempDir()
	_, err := claimVolumes{d: d}.Prepare(context.Background(), pod, podDir)
	if err == nil || !strings.Contains(err.Error(), `spec.volumes[0].persistentVolumeClaim of pod "web": persistentvolumeclaim "data" not found`) {
		t.Fatalf("missing claim: err = %v", err)
	}
	if !errors.Is(err, volume.ErrClaimNotFound) {
		t.Fatalf("missing claim: %v is not volume.ErrClaimNotFound, so the pod would back off as after a crash", err)
	}
	if _, err := applyString(t, d, dataClaim); err != nil {
		t.Fatal(err)
	}
	// A volume directory lost in a crash is made again.
	if err := d.store.RemoveClaimDir("default", "data"); err != nil {
		t.Fatal(err)
	}
	paths, err := claimVolumes{d: d}.Prepare(context.Background(), pod, podDir)
	if err != nil {
		t.Fatal(err)
	}
	if want := d.store.Layout.ClaimDir("default", "data"); paths["v"] != want {
		t.Errorf("claim volume %q, want %q", paths["v"], want)
	}
	if fi, err := os.Stat(paths["v"]); err != nil || !fi.IsDir() {
		t.Errorf("claim directory: %v", err)
	}
}

// TestDeleteClaimInUseIsRefusedUntilThePodIsGone: the pvc-protection
// finalizer, as a refusal naming the pod; the claim and its data stay.
func TestDeleteClaimInUseIsRefusedUntilThePodIsGone(t *testing.T) {
	d := startTestDaemon(t)
	pod := podYAML("web") + "  volumes: [{name: v, persistentVolumeClaim: {claimName: data}}]\n"
	d.mustApply(t, dataClaim+"---\n"+pod)
	d.mustApply(t, podYAML("other")) // a pod without the claim does not hold it
	ctx := context.Background()
	marker := filepath.Join(d.store.Layout.ClaimDir("default", "data"), "kept")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := d.deleteObject(ctx, resClaims, "default", "data", true)
	if !errors.Is(err, ErrFailedPrecondition) || !strings.Contains(err.Error(), `in use by pod "default/web"`) {
		t.Fatalf("delete of a claim in use: %v", err)
	}
	if _, ok := d.objects.get(resClaims, "default", "data"); !ok {
		t.Fatal("the refused delete removed the claim")
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the refused delete removed the claim's data: %v", err)
	}
	if _, err := d.deletePod(ctx, "default", "web", nil, true, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pod web removed", 10*time.Second, func() bool { return d.pod("web") == nil })
	if _, err := d.deleteObject(ctx, resClaims, "default", "data", true); err != nil {
		t.Fatalf("delete of a claim no pod uses: %v", err)
	}
	if _, err := os.Stat(d.store.Layout.ClaimDir("default", "data")); !os.IsNotExist(err) {
		t.Errorf("claim directory left: %v", err)
	}
}
