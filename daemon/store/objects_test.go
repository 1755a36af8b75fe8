package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func objectStore(t *testing.T) *Store {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(Layout{Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestObjectsRoundTripPerNamespaceWithPrivateModes(t *testing.T) {
	s := objectStore(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "shop"}, Data: map[string][]byte{"k": []byte("v")}}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "shop"}, Data: map[string]string{"a": "b"}}
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "shop"}}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "shop"}}
	if err := s.SaveObject(ResourceSecrets, "shop", "creds", sec); err == nil {
		t.Fatal("an object was saved in a namespace that is not saved")
	}
	if err := s.SaveNamespace(ns); err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		res string
		obj any
		nm  string
	}{{ResourceSecrets, sec, "creds"}, {ResourceConfigMaps, cm, "cfg"}, {ResourceClaims, claim, "data"}, {ResourceDeployments, dep, "web"}, {ResourceReplicaSets, rs, "web-abc"}} {
		if err := s.SaveObject(o.res, "shop", o.nm, o.obj); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := s.EnsureClaimDir("shop", "data")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(s.Layout.ObjectFile("shop", ResourceSecrets, "creds"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, %v; want 0600", st.Mode(), err)
	}
	if st, err := os.Stat(s.Layout.NamespacesDir()); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("namespaces dir mode %v, %v; want 0700", st.Mode(), err)
	}
	got, err := s.LoadObjects()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Namespaces) != 1 || len(got.Secrets) != 1 || len(got.ConfigMaps) != 1 || len(got.Claims) != 1 || len(got.Bad) != 0 ||
		len(got.Deployments) != 1 || len(got.ReplicaSets) != 1 {
		t.Fatalf("loaded %+v", got)
	}
	if string(got.Secrets[0].Data["k"]) != "v" || got.ConfigMaps[0].Data["a"] != "b" {
		t.Errorf("objects changed on the way: %+v %+v", got.Secrets[0], got.ConfigMaps[0])
	}
	if err := s.RemoveObject(ResourceSecrets, "shop", "creds"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveClaimDir("shop", "data"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("claim volume left: %v", err)
	}
	if err := s.RemoveNamespace("shop"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LoadObjects(); len(got.Namespaces)+len(got.ConfigMaps) != 0 {
		t.Errorf("namespace removal left %+v", got)
	}
}

func TestObjectsRefusePathNames(t *testing.T) {
	s := objectStore(t)
	for _, name := range []string{"", ".", "..", "a/b", "../x"} {
		if err := s.SaveNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err == nil {
			t.Errorf("namespace %q saved", name)
		}
		if err := s.SaveObject(ResourceSecrets, "default", name, struct{}{}); err == nil {
			t.Errorf("secret %q saved", name)
		}
		if err := s.RemoveNamespace(name); err == nil {
			t.Errorf("namespace %q removed", name)
		}
	}
}

func TestObjectsCorruptFileIsQuarantinedOthersLoad(t *testing.T) {
	s := objectStore(t)
	if err := s.SaveNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "good", Namespace: "shop"}}
	if err := s.SaveObject(ResourceConfigMaps, "shop", "good", cm); err != nil {
		t.Fatal(err)
	}
	bad := s.Layout.ObjectFile("shop", ResourceConfigMaps, "bad")
	if err := os.WriteFile(bad, []byte("{trunc"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A file that names another object than its path is corrupt too.
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "shop"}}
	if err := s.SaveObject(ResourceConfigMaps, "shop", "renamed", other); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadObjects()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ConfigMaps) != 1 || got.ConfigMaps[0].Name != "good" || len(got.Bad) != 2 {
		t.Fatalf("loaded %d configmaps, %d quarantined", len(got.ConfigMaps), len(got.Bad))
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("corrupt file left in place: %v", err)
	}
}

// A kill while a namespace (or a claim's volume) is removed leaves it whole
// or gone: a namespace half-removed came back with part of its objects.
func TestRemoveNamespaceKilledHalfwayLeavesItGone(t *testing.T) {
	s := objectStore(t)
	if err := s.SaveNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "shop"}}
	if err := s.SaveObject(ResourceConfigMaps, "shop", "cfg", cm); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureClaimDir("shop", "data"); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gone"}}); err != nil {
		t.Fatal(err)
	}
	crash := errors.New("killed")
	removeAll = func(path string) error {
		if _, err := os.Stat(path); err != nil {
			return os.RemoveAll(path)
		}
		return crash // killed before unlinking anything of it
	}
	t.Cleanup(func() { removeAll = os.RemoveAll })
	if err := s.RemoveClaimDir("shop", "data"); !errors.Is(err, crash) {
		t.Fatalf("RemoveClaimDir = %v, want the simulated crash", err)
	}
	if err := s.RemoveNamespace("gone"); !errors.Is(err, crash) {
		t.Fatalf("RemoveNamespace = %v, want the simulated crash", err)
	}
	removeAll = os.RemoveAll
	got, err := s.LoadObjects()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Namespaces) != 1 || got.Namespaces[0].Name != "shop" || len(got.ConfigMaps) != 1 || len(got.Bad) != 0 {
		t.Fatalf("after kills during removals loaded %d namespaces (%v), %d configmaps, bad %v; want shop and its configmap", len(got.Namespaces), got.Namespaces, len(got.ConfigMaps), got.Bad)
	}
	for _, dir := range []string{s.Layout.NamespacesDir(), s.Layout.ClaimsDir("shop")} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if isTrash(e.Name()) || e.Name() == "gone" || e.Name() == "data" {
				t.Errorf("%s still holds %s after the load", dir, e.Name())
			}
		}
	}
}
