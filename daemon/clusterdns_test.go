//lint:file-ignore SA1019 podd serves v1 Endpoints, as `kubectl get endpoints` shows them (issue 11)

package daemon

import (
	"context"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/daemon/services"
)

func TestClusterDNSAnswersPodNamesFromThePodTable(t *testing.T) {
	d := startTestDaemon(t)
	d.mustApply(t, podYAML("web"))
	eventually(t, "web has an IP", 5*time.Second, func() bool { p := d.pod("web"); return p != nil && p.Status.PodIP != "" })
	ip := netip.MustParseAddr(d.pod("web").Status.PodIP)
	cat := dnsCatalog{pods: d.pods}
	if !cat.PodHasIP("default", ip) {
		t.Errorf("pod default/web's IP %s not found", ip)
	}
	if cat.PodHasIP("other", ip) {
		t.Errorf("IP %s of a default pod found in namespace other", ip)
	}
	if cat.PodHasIP("default", netip.MustParseAddr("192.0.2.1")) {
		t.Errorf("an IP no pod has was found")
	}
}

func TestNoClusterDNSWithoutABridgeGateway(t *testing.T) {
	d := startTestDaemon(t)
	d.cfg.ClusterDNS = true
	srv, err := d.startClusterDNS(context.Background())
	if err != nil || srv != nil {
		t.Fatalf("startClusterDNS on a network without gateway = %v, %v; want nothing served", srv, err)
	}
	if len(d.deps.ClusterDNS.Nameservers) != 0 {
		t.Errorf("pods were given cluster DNS %v that is not served", d.deps.ClusterDNS.Nameservers)
	}
}

// Cluster DNS answers pod names from an index the pods' changes keep,
// not by copying every pod's status at each query: a pod replaced under
// its name keeps its new address when the old one's removal comes last.
func TestClusterDNSPodIndexFollowsPodChanges(t *testing.T) {
	p := newPods()
	cat := dnsCatalog{pods: p}
	pod := func(uid, ip string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: types.UID(uid)},
			Status: corev1.PodStatus{PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}}
	}
	old, ip := pod("u1", "10.88.0.2"), netip.MustParseAddr("10.88.0.2")
	p.notify("MODIFIED", podworker.NewPublished(old))
	if !cat.PodHasIP("default", ip) || cat.PodHasIP("other", ip) {
		t.Fatalf("after the pod's change: default %v other %v", cat.PodHasIP("default", ip), cat.PodHasIP("other", ip))
	}
	next := pod("u2", "10.88.0.3")
	p.notify("MODIFIED", podworker.NewPublished(next))
	p.notify("DELETED", podworker.NewPublished(old))
	if cat.PodHasIP("default", ip) {
		t.Error("the deleted pod's address still resolves")
	}
	if !cat.PodHasIP("default", netip.MustParseAddr("10.88.0.3")) {
		t.Error("the replacing pod's address is gone with the old pod")
	}
	p.notify("MODIFIED", podworker.NewPublished(pod("u2", "10.88.0.4")))
	if cat.PodHasIP("default", netip.MustParseAddr("10.88.0.3")) {
		t.Error("a pod's former address still resolves")
	}
}

// A headless Service's endpoint with a hostname is named by it in DNS.
func TestDNSServiceNamesEndpointsByHostname(t *testing.T) {
	svc := services.Info{Namespace: "default", Name: "db", ClusterIP: corev1.ClusterIPNone, Endpoints: &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: "10.88.0.2", Hostname: "db-0"}, {IP: "10.88.0.3"}}}}}}
	got := dnsService(svc)
	if len(got.Endpoints) != 2 || got.Endpoints[0].Hostname != "db-0" || got.Endpoints[1].Hostname != "" {
		t.Errorf("endpoints as DNS sees them: %+v", got.Endpoints)
	}
}
