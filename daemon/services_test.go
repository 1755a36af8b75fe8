package daemon

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/network/proxier"
)

const twoServices = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  ports: [{port: 5432}]
`

func service(t *testing.T, d *Daemon, name string) *corev1.Service {
	t.Helper()
	obj, ok := d.objects.get(resServices, "default", name)
	if !ok {
		t.Fatalf("service %q not found", name)
	}
	return obj.(*corev1.Service)
}

func TestServiceAllocationsArePersistedAndCollisionsRefused(t *testing.T) {
	root := t.TempDir()
	d := objectDaemon(t, root)
	res, err := applyString(t, d, twoServices)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(res); got != "service/web created, service/db created" {
		t.Errorf("apply: %s", got)
	}
	web, db := service(t, d, "web"), service(t, d, "db")
	if web.Spec.ClusterIP != "10.96.0.1" || db.Spec.ClusterIP != "10.96.0.2" || web.Spec.Ports[0].NodePort != 30080 {
		t.Errorf("allocated %s %s node port %d", web.Spec.ClusterIP, db.Spec.ClusterIP, web.Spec.Ports[0].NodePort)
	}
	// The selector-less Service has a cluster IP, rejected (no endpoint).
	rules := d.svc.rules.(*noRules).last
	if len(rules.Filter[proxier.ChainsOf("test").Filter]) != 3 {
		t.Errorf("filter rules %v: want web (cluster IP and node port) and db rejected, all without endpoints", rules.Filter)
	}

	before := files(t, root)
	for _, tc := range []struct{ manifest, want string }{
		{"apiVersion: v1\nkind: Service\nmetadata: {name: other}\nspec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}\n",
			`service "other": spec.clusterIP: Invalid value: "10.96.0.1": provided IP is already allocated (to service default/web)`},
		{"apiVersion: v1\nkind: Service\nmetadata: {name: other}\nspec: {type: NodePort, ports: [{port: 80, nodePort: 30080}]}\n",
			`spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated (to service default/web)`},
		{"apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.96.0.9, ports: [{port: 80}]}\n---\n" +
			"apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {clusterIP: 10.96.0.9, ports: [{port: 80}]}\n",
			`document 2: service "b": spec.clusterIP: Invalid value: "10.96.0.9": provided IP is already allocated (to service default/a)`},
		{"apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: 10.96.0.7, selector: {app: web}, ports: [{port: 80}]}\n",
			`spec.clusterIP: Invalid value: "10.96.0.7": field is immutable`},
	} {
		if _, err := applyString(t, d, tc.manifest); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("apply: %v\nwant %s", err, tc.want)
		}
	}
	if after := files(t, root); after != before {
		t.Errorf("a refused manifest changed the store:\n%s\nwas\n%s", after, before)
	}
	if res, err := applyString(t, d, twoServices); err != nil || actions(res) != "service/web unchanged, service/db unchanged" {
		t.Errorf("re-apply: %s %v", actions(res), err)
	}

	d2 := objectDaemon(t, root)
	if got := service(t, d2, "db").Spec.ClusterIP; got != "10.96.0.2" {
		t.Errorf("after a restart db has %s", got)
	}
	if _, err := applyString(t, d2, "apiVersion: v1\nkind: Service\nmetadata: {name: new}\nspec: {ports: [{port: 80}]}\n"); err != nil {
		t.Fatal(err)
	}
	if got := service(t, d2, "new").Spec.ClusterIP; got != "10.96.0.3" {
		t.Errorf("a restarted daemon handed out %s, want the first address its Services do not hold", got)
	}
	for _, name := range []string{"web", "db", "new"} {
		if _, err := d2.deleteObject(context.Background(), resServices, "default", name, false); err != nil {
			t.Fatal(err)
		}
	}
	if rs := d2.svc.rules.(*noRules).last; !rs.Empty() {
		t.Errorf("rules left after the last Service was deleted: %+v", rs)
	}
	if _, err := d2.deleteObject(context.Background(), resEndpoints, "default", "web", false); err == nil {
		t.Error("endpoints deleted: they follow their Service")
	}
}

func TestClusterDNSSeesServicesAndReadyEndpoints(t *testing.T) {
	d := objectDaemon(t, t.TempDir())
	if _, err := applyString(t, d, twoServices+"---\napiVersion: v1\nkind: Service\nmetadata: {name: headless}\nspec: {clusterIP: None, selector: {app: db}}\n"); err != nil {
		t.Fatal(err)
	}
	cat := dnsCatalog{pods: d.pods, services: d.svc.reg}
	web, ok := cat.Service("default", "web")
	if !ok || len(web.ClusterIPs) != 1 || web.ClusterIPs[0].String() != "10.96.0.1" || len(web.Ports) != 1 || web.Ports[0].Port != 80 || len(web.Endpoints) != 0 {
		t.Errorf("web as DNS sees it: %+v %v", web, ok)
	}
	if h, ok := cat.Service("default", "headless"); !ok || !h.Headless() {
		t.Errorf("headless as DNS sees it: %+v %v", h, ok)
	}
	if _, ok := cat.Service("default", "missing"); ok {
		t.Error("a missing Service resolves")
	}
}

// A pod change costs the Service sync no copy of every pod. The sync runs
// at nearly every pod change during a burst of starts; copying all 200
// pods each time was half of what the daemon allocated (9 MB/s), and the
// garbage collections that followed held up the API.
func TestServiceSyncCopiesNoPod(t *testing.T) {
	d := startTestDaemon(t)
	const n = 100
	var m strings.Builder
	for i := range n {
		fmt.Fprintf(&m, "%s---\n", podYAML(fmt.Sprintf("p%d", i)))
	}
	d.mustApply(t, m.String()+twoServices)
	ctx := context.Background()
	sync := func() {
		if err := d.syncServices(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sync()
	if allocs := testing.AllocsPerRun(5, sync); allocs >= n {
		t.Errorf("a Service sync over %d pods made %.0f allocations, want fewer than one per pod", n, allocs)
	}
}
