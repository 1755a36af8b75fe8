package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podd-dev/podd/daemon/store"
)

// objectDaemon is a daemon with a store and the object table only: enough
// for the objects, which need no pod worker.
func objectDaemon(t *testing.T, root string) *Daemon {
	t.Helper()
	st, err := store.Open(store.Layout{Root: root, RunRoot: filepath.Join(t.TempDir(), "run")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cidr, err := serviceCIDR(Config{})
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{ctx: ctx, store: st, pods: newPods(), objects: newObjects(), svc: newServiceProxy(cidr, "test", &noRules{})}
	t.Cleanup(func() { cancel(); d.wg.Wait() })
	if err := d.restoreObjects(); err != nil {
		t.Fatal(err)
	}
	return d
}

func applyString(t *testing.T, d *Daemon, m string) ([]ApplyResult, error) {
	t.Helper()
	res, _, err := d.apply(context.Background(), []byte(m), "m.yaml", "")
	return res, err
}

func actions(res []ApplyResult) string {
	var out []string
	for _, r := range res {
		out = append(out, strings.ToLower(r.Kind)+"/"+r.Name+" "+r.Action)
	}
	return strings.Join(out, ", ")
}

// files lists every file under root, for "nothing changed" checks.
func files(t *testing.T, root string) string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			out = append(out, strings.TrimPrefix(p, root))
		}
		return nil
	})
	return strings.Join(out, "\n")
}

const shopObjects = `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {a: "1"}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: shop}
immutable: true
stringData: {k: v}
`

func TestApplyObjectsCreatesNamespaceFirstThenIsUnchanged(t *testing.T) {
	root := t.TempDir()
	d := objectDaemon(t, root)
	res, err := applyString(t, d, shopObjects)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(res); got != "configmap/cfg created, namespace/shop created, persistentvolumeclaim/data created, secret/s created" {
		t.Errorf("results %s", got)
	}
	res, err = applyString(t, d, shopObjects)
	if err != nil || strings.Count(actions(res), "unchanged") != 4 {
		t.Errorf("second apply: %s, %v", actions(res), err)
	}
	// A restarted daemon finds them all, with the same UIDs.
	again := objectDaemon(t, root)
	for _, r := range res {
		obj, ok := again.objects.get(resourceOf(r.Kind), r.Namespace, r.Name)
		if !ok || string(obj.GetUID()) != r.UID {
			t.Errorf("%s/%s after restart: %v %v", r.Kind, r.Name, ok, obj)
		}
	}
}

func TestApplyRefusedChangesNothing(t *testing.T) {
	root := t.TempDir()
	d := objectDaemon(t, root)
	if _, err := applyString(t, d, shopObjects); err != nil {
		t.Fatal(err)
	}
	before := files(t, root)
	for _, tc := range []struct {
		name, manifest, want string
		class                error
	}{
		{"pod in a missing namespace", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: nowhere}\nspec: {containers: [{name: c, image: busybox}]}\n",
			`namespaces "nowhere" not found`, ErrNotFound},
		{"configmap in a missing namespace", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new, namespace: nowhere}\n",
			`namespaces "nowhere" not found`, ErrNotFound},
		{"immutable secret", "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\nimmutable: true\nstringData: {k: changed}\n",
			"data: Forbidden: field is immutable when `immutable` is set", ErrInvalidArgument},
		{"claim shrinks", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: shop}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}\n",
			"spec.resources.requests[storage]: Forbidden: field can not be less than previous value", ErrInvalidArgument},
		{"claim modes change", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: shop}\nspec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 1Gi}}}\n",
			"spec: Forbidden: spec is immutable after creation", ErrInvalidArgument},
		{"invalid object", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new, namespace: shop}\ndata: {\"a b\": x}\n",
			`data[a b]: Invalid value`, ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := applyString(t, d, tc.manifest)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.class) {
				t.Fatalf("error %v; want %q (%v)", err, tc.want, tc.class)
			}
			if after := files(t, root); after != before {
				t.Errorf("files changed:\n%s\nwant\n%s", after, before)
			}
		})
	}
}

func TestDeleteNamespaceDeletesItsObjectsAndVolumes(t *testing.T) {
	root := t.TempDir()
	d := objectDaemon(t, root)
	if _, err := applyString(t, d, shopObjects); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := d.deleteObject(ctx, resNamespaces, "", "default", true); !errors.Is(err, ErrFailedPrecondition) {
		t.Errorf("delete default: %v", err)
	}
	if _, err := d.deleteObject(ctx, resNamespaces, "", "shop", true); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{resConfigMaps, resSecrets, resClaims} {
		if objs := d.objects.list(r, ""); len(objs) != 0 {
			t.Errorf("%s left: %d", r, len(objs))
		}
	}
	if _, err := os.Stat(d.store.Layout.NamespaceDir("shop")); !os.IsNotExist(err) {
		t.Errorf("namespace dir left: %v", err)
	}
	if _, err := applyString(t, d, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n"); !errors.Is(err, ErrNotFound) {
		t.Errorf("apply into the deleted namespace: %v", err)
	}
	if _, err := d.deleteObject(ctx, resConfigMaps, "default", "missing", true); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
}

func TestTerminatingNamespaceRefusesContentAndResumesAfterRestart(t *testing.T) {
	root := t.TempDir()
	d := objectDaemon(t, root)
	if _, err := applyString(t, d, shopObjects); err != nil {
		t.Fatal(err)
	}
	// A namespace marked Terminating by a daemon that died before it finished.
	n, _ := d.objects.namespace("shop")
	n.DeletionTimestamp = &n.CreationTimestamp
	if err := d.store.SaveNamespace(n); err != nil {
		t.Fatal(err)
	}
	again := objectDaemon(t, root)
	if err := again.objects.checkNamespace("shop", nil); err == nil || !strings.Contains(err.Error(), "being terminated") {
		t.Errorf("terminating namespace accepted content: %v", err)
	}
	if err := again.adoptNamespaces(); err != nil {
		t.Fatal(err)
	}
	if _, err := again.deleteObject(context.Background(), resNamespaces, "", "shop", true); err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if _, ok := again.objects.namespace("shop"); ok {
		t.Error("the terminating namespace was not deleted after the restart")
	}
}

func TestStaticManifestHoldsPodsAndControllersOnly(t *testing.T) {
	root := t.TempDir()
	d := objectDaemon(t, root)
	before := files(t, root)
	_, _, err := d.apply(context.Background(), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"), "/etc/podd/manifests/c.yaml", "/etc/podd/manifests/c.yaml")
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "a static manifest holds Pods, Deployments, DaemonSets, Jobs and CronJobs only") {
		t.Errorf("static ConfigMap: %v", err)
	}
	if after := files(t, root); after != before {
		t.Errorf("files changed:\n%s", after)
	}
}
