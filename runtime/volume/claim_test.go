package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func claimVolume(name, claim string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}
}

// TestPrepare_ClaimIsItsDirectoryInPlace: a claim volume is the claim's
// directory itself, and Cleanup of the pod leaves it and its data alone.
func TestPrepare_ClaimIsItsDirectoryInPlace(t *testing.T) {
	podDir := t.TempDir()
	claimDir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(claimDir, 0o777); err != nil {
		t.Fatal(err)
	}
	claims := func(name string) (string, error) {
		if name != "data" {
			return "", fmt.Errorf("persistentvolumeclaim %q not found", name)
		}
		return claimDir, nil
	}
	pod := testPod(corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		claimVolume("v", "data"))
	paths, err := PrepareWithClaims(context.Background(), pod, podDir, claims)
	if err != nil {
		t.Fatal(err)
	}
	if paths["v"] != claimDir {
		t.Errorf("claim volume path = %q, want %q", paths["v"], claimDir)
	}
	if err := os.WriteFile(filepath.Join(claimDir, "kept"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Cleanup(context.Background(), podDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(claimDir, "kept")); err != nil {
		t.Errorf("pod cleanup touched the claim's data: %v", err)
	}
}

// TestPrepare_MissingClaimNamesItAndUndoes: a claim that does not exist
// fails the volume with the claim's name, and what came before is undone.
func TestPrepare_MissingClaimNamesItAndUndoes(t *testing.T) {
	podDir := t.TempDir()
	claims := func(name string) (string, error) { return "", fmt.Errorf("persistentvolumeclaim %q not found", name) }
	pod := testPod(corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		claimVolume("v", "gone"))
	_, err := PrepareWithClaims(context.Background(), pod, podDir, claims)
	want := `spec.volumes[1].persistentVolumeClaim of pod "web": persistentvolumeclaim "gone" not found`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if _, err := os.Stat(filepath.Join(podDir, "volumes", "scratch")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("emptyDir not undone: %v", err)
	}
	if _, err := Prepare(context.Background(), pod, podDir); err == nil {
		t.Error("Prepare without claims accepted a claim volume")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = PrepareWithClaims(context.Background(), testPod(claimVolume("v", "f")), podDir,
		func(string) (string, error) { return file, nil })
	if err == nil {
		t.Error("a claim volume that is not a directory was accepted")
	}
}
