package daemon

import (
	"net/netip"
	"testing"
	"time"
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
	srv, err := d.startClusterDNS()
	if err != nil || srv != nil {
		t.Fatalf("startClusterDNS on a network without gateway = %v, %v; want nothing served", srv, err)
	}
	if len(d.deps.ClusterDNS.Nameservers) != 0 {
		t.Errorf("pods were given cluster DNS %v that is not served", d.deps.ClusterDNS.Nameservers)
	}
}
