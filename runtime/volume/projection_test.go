package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podd-dev/podd/runtime/atomicdir"
)

// fakeObjects is Objects over maps.
type fakeObjects struct {
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

func (f fakeObjects) ConfigMap(name string) (*corev1.ConfigMap, bool) {
	cm, ok := f.cms[name]
	return cm.DeepCopy(), ok
}

func (f fakeObjects) Secret(name string) (*corev1.Secret, bool) {
	s, ok := f.secrets[name]
	return s.DeepCopy(), ok
}

func testObjects() fakeObjects {
	return fakeObjects{
		cms: map[string]*corev1.ConfigMap{"cfg": {ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
			Data: map[string]string{"a": "A", "b": "B"}, BinaryData: map[string][]byte{"bin": {0, 1}}}},
		secrets: map[string]*corev1.Secret{"sec": {ObjectMeta: metav1.ObjectMeta{Name: "sec"},
			Data: map[string][]byte{"pw": []byte("hunter2")}}},
	}
}

func ptr[T any](v T) *T { return &v }

func keys(p payload) []string {
	out := make([]string, 0, len(p))
	for k, f := range p {
		out = append(out, k+"="+string(f.Data)+"@"+f.Mode.String())
	}
	sort.Strings(out)
	return out
}

func TestVolumePayload(t *testing.T) {
	cm := func(s corev1.ConfigMapVolumeSource) corev1.Volume {
		s.LocalObjectReference.Name = "cfg"
		return corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{ConfigMap: &s}}
	}
	tests := []struct {
		name    string
		vol     corev1.Volume
		fsGroup *int64
		want    []string
		wantErr string
	}{
		{name: "configMap without items projects every key at 0644", vol: cm(corev1.ConfigMapVolumeSource{}),
			want: []string{"a=A@-rw-r--r--", "b=B@-rw-r--r--", "bin=\x00\x01@-rw-r--r--"}},
		{name: "items map keys to paths with their modes", vol: cm(corev1.ConfigMapVolumeSource{DefaultMode: ptr[int32](0o600),
			Items: []corev1.KeyToPath{{Key: "a", Path: "dir/x"}, {Key: "b", Path: "y", Mode: ptr[int32](0o400)}}}),
			want: []string{"dir/x=A@-rw-------", "y=B@-r--------"}},
		{name: "a missing key is not found", vol: cm(corev1.ConfigMapVolumeSource{Items: []corev1.KeyToPath{{Key: "zz", Path: "z"}}}),
			wantErr: `configmap "cfg" has no key "zz": not found`},
		{name: "an optional missing key is left out", vol: cm(corev1.ConfigMapVolumeSource{Optional: ptr(true),
			Items: []corev1.KeyToPath{{Key: "zz", Path: "z"}, {Key: "a", Path: "a"}}}), want: []string{"a=A@-rw-r--r--"}},
		{name: "a missing configMap is not found", vol: corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}}}},
			wantErr: `configmap "nope" not found`},
		{name: "an optional missing configMap is an empty volume", vol: corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Optional: ptr(true)}}},
			want: []string{}},
		{name: "fsGroup makes files group-readable", vol: cm(corev1.ConfigMapVolumeSource{DefaultMode: ptr[int32](0o600),
			Items: []corev1.KeyToPath{{Key: "a", Path: "a"}}}), fsGroup: ptr[int64](1234), want: []string{"a=A@-rw-r-----"}},
		{name: "secret", vol: corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec"}}},
			want: []string{"pw=hunter2@-rw-r--r--"}},
		{name: "a missing secret is not found", vol: corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "x"}}},
			wantErr: `secret "x" not found`},
		{name: "projected merges its sources", vol: corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			DefaultMode: ptr[int32](0o440),
			Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Items: []corev1.KeyToPath{{Key: "a", Path: "cfg/a"}}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Items: []corev1.KeyToPath{{Key: "pw", Path: "sec/pw", Mode: ptr[int32](0o400)}}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptr(true)}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}},
			}}}},
			want: []string{"cfg/a=A@-r--r-----", "name=web@-r--r-----", "sec/pw=hunter2@-r--------"}},
		{name: "projected names the source that is missing", vol: corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}}}}}}},
			wantErr: `sources[0]: secret "absent" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := testPod(tt.vol)
			if tt.fsGroup != nil {
				pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: tt.fsGroup}
			}
			got, err := volumePayload(pod, &pod.Spec.Volumes[0], testObjects())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrNotFound) {
					t.Fatalf("err = %v, want %q wrapping ErrNotFound", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k := keys(got); !reflect.DeepEqual(k, tt.want) {
				t.Errorf("payload = %q, want %q", k, tt.want)
			}
		})
	}
}

// A configMap volume is written with the atomic-writer layout, and a
// second Prepare after the object changed swaps in the new content.
func TestPrepare_ConfigMapVolumeIsRewrittenOnChange(t *testing.T) {
	podDir := t.TempDir()
	objs := testObjects()
	pod := testPod(corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}})
	paths, err := PrepareWith(context.Background(), pod, podDir, Sources{Objects: objs})
	if err != nil {
		t.Fatal(err)
	}
	dir := paths["cfg"]
	if got, err := os.Readlink(filepath.Join(dir, "a")); err != nil || got != filepath.Join(atomicdir.DataLink, "a") {
		t.Fatalf("a -> %q (%v), want a link through ..data", got, err)
	}
	objs.cms["cfg"].Data["a"] = "A2"
	delete(objs.cms["cfg"].Data, "b")
	if _, err := PrepareWith(context.Background(), pod, podDir, Sources{Objects: objs}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "a")); err != nil || string(b) != "A2" {
		t.Errorf("a after the update = %q (%v), want A2", b, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "b")); !os.IsNotExist(err) {
		t.Errorf("removed key b still there: %v", err)
	}
	// A volume whose object went away keeps its last content and the
	// error says what is missing.
	delete(objs.cms, "cfg")
	_, err = PrepareWith(context.Background(), pod, podDir, Sources{Objects: objs})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `spec.volumes[0].configMap of pod "web": configmap "cfg" not found`) {
		t.Errorf("err = %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "a")); err != nil || string(b) != "A2" {
		t.Errorf("a after a failed refresh = %q (%v), want A2 kept", b, err)
	}
}
