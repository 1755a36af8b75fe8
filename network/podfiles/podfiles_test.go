package podfiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pod(name string, mut func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns1"}}
	if mut != nil {
		mut(p)
	}
	return p
}

func TestR91Hostname(t *testing.T) {
	long := strings.Repeat("a", 62) + "-bcd"
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"pod name", pod("web", nil), "web"},
		{"spec.hostname wins", pod("web", func(p *corev1.Pod) { p.Spec.Hostname = "h1" }), "h1"},
		{"truncated to 63 without trailing dash", pod(long, nil), strings.Repeat("a", 62)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Hostname(tt.pod); got != tt.want {
				t.Fatalf("Hostname = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestR91Hosts(t *testing.T) {
	aliases := []corev1.HostAlias{
		{IP: "1.2.3.4", Hostnames: []string{"foo", "foo.local"}},
		{IP: "5.6.7.8"},
	}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		podIP   string
		host    string
		domain  string
		want    []string // lines that must appear, in this order
		notWant []string
	}{
		{
			name: "pod ip and hostname", pod: pod("web", nil), podIP: "10.88.0.5",
			want: []string{"# Kubernetes-managed hosts file.", "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", "10.88.0.5\tweb"},
		},
		{
			name: "fqdn with subdomain",
			pod:  pod("web", func(p *corev1.Pod) { p.Spec.Hostname = "h"; p.Spec.Subdomain = "sub" }), podIP: "10.88.0.5",
			want: []string{"10.88.0.5\th.sub.ns1.svc.cluster.local\th"},
		},
		{
			name: "fqdn under the configured cluster domain",
			pod:  pod("web", func(p *corev1.Pod) { p.Spec.Hostname = "h"; p.Spec.Subdomain = "sub" }), podIP: "10.88.0.5", domain: "corp.internal.",
			want: []string{"10.88.0.5\th.sub.ns1.svc.corp.internal\th"},
		},
		{
			name: "host aliases after the pod line",
			pod:  pod("web", func(p *corev1.Pod) { p.Spec.HostAliases = aliases }), podIP: "10.88.0.5",
			want:    []string{"10.88.0.5\tweb", "# Entries added by HostAliases.", "1.2.3.4\tfoo\tfoo.local"},
			notWant: []string{"5.6.7.8"},
		},
		{
			name: "no pod ip, no pod line", pod: pod("web", nil),
			want: []string{"127.0.0.1\tlocalhost"}, notWant: []string{"\tweb"},
		},
		{
			name:  "hostNetwork copies the host file plus aliases",
			pod:   pod("web", func(p *corev1.Pod) { p.Spec.HostNetwork = true; p.Spec.HostAliases = aliases }),
			podIP: "10.0.0.9", host: "127.0.0.1 localhost\n192.168.1.2 node1",
			want:    []string{"# Kubernetes-managed hosts file (host network).", "127.0.0.1 localhost", "192.168.1.2 node1", "1.2.3.4\tfoo\tfoo.local"},
			notWant: []string{"10.0.0.9", "ip6-allnodes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(Hosts(tt.pod, tt.podIP, []byte(tt.host), tt.domain))
			lines := strings.Split(got, "\n")
			at := 0
			for _, w := range tt.want {
				for at < len(lines) && lines[at] != w {
					at++
				}
				if at == len(lines) {
					t.Fatalf("missing or misplaced line %q in:\n%s", w, got)
				}
			}
			for _, nw := range tt.notWant {
				if strings.Contains(got, nw) {
					t.Errorf("unexpected %q in:\n%s", nw, got)
				}
			}
			if !strings.HasSuffix(got, "\n") {
				t.Errorf("no trailing newline")
			}
		})
	}
}

func TestR91ResolvConf(t *testing.T) {
	host := "# generated\nnameserver 10.0.0.2\nnameserver 10.0.0.3 ; comment\nsearch corp.example. lab.example\noptions ndots:2 rotate\n"
	str := func(s string) *string { return &s }
	cluster := ClusterDNS{Nameservers: []string{"10.88.0.1"}, Domain: "cluster.local"}
	manyNS := &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1", "8.8.8.8"}}
	var many []string
	for i := range 40 {
		many = append(many, "d"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+".example")
	}
	tests := []struct {
		name     string
		policy   corev1.DNSPolicy
		hostNet  bool
		dns      *corev1.PodDNSConfig
		cluster  ClusterDNS
		want     string
		wantWarn string
		wantErr  bool
	}{
		{
			name: "Default uses the host file", policy: corev1.DNSDefault,
			want: "search corp.example lab.example\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions ndots:2 rotate\n",
		},
		{
			name: "ClusterFirst without a cluster DNS falls back with a warning", policy: corev1.DNSClusterFirst,
			want:     "search corp.example lab.example\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions ndots:2 rotate\n",
			wantWarn: "no cluster DNS",
		},
		{
			name: "empty policy is ClusterFirst", policy: "",
			want:     "search corp.example lab.example\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions ndots:2 rotate\n",
			wantWarn: "no cluster DNS",
		},
		{
			name: "ClusterFirst with hostNetwork is Default, no warning", policy: corev1.DNSClusterFirst, hostNet: true,
			want: "search corp.example lab.example\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions ndots:2 rotate\n",
		},
		{
			name: "ClusterFirstWithHostNet without a cluster DNS warns", policy: corev1.DNSClusterFirstWithHostNet, hostNet: true,
			want:     "search corp.example lab.example\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions ndots:2 rotate\n",
			wantWarn: "no cluster DNS",
		},
		{
			name: "ClusterFirst uses the cluster DNS alone, cluster then host searches, ndots:5", policy: corev1.DNSClusterFirst, cluster: cluster,
			want: "search ns1.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.88.0.1\noptions ndots:5\n",
		},
		{
			name: "empty policy is ClusterFirst with the cluster DNS", policy: "", cluster: cluster,
			want: "search ns1.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.88.0.1\noptions ndots:5\n",
		},
		{
			name: "ClusterFirst with hostNetwork is Default even with a cluster DNS", policy: corev1.DNSClusterFirst, hostNet: true, cluster: cluster,
			want: "search corp.example lab.example\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions ndots:2 rotate\n",
		},
		{
			name: "ClusterFirstWithHostNet with hostNetwork uses the cluster DNS", policy: corev1.DNSClusterFirstWithHostNet, hostNet: true, cluster: cluster,
			want: "search ns1.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.88.0.1\noptions ndots:5\n",
		},
		{
			name: "ClusterFirstWithHostNet on the pod network uses the cluster DNS", policy: corev1.DNSClusterFirstWithHostNet, cluster: cluster,
			want: "search ns1.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.88.0.1\noptions ndots:5\n",
		},
		{
			name: "Default ignores the cluster DNS", policy: corev1.DNSDefault, cluster: cluster,
			want: "search corp.example lab.example\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions ndots:2 rotate\n",
		},
		{
			name: "None ignores the cluster DNS", policy: corev1.DNSNone, cluster: cluster,
			dns:  &corev1.PodDNSConfig{Nameservers: []string{"9.9.9.9"}},
			want: "nameserver 9.9.9.9\n",
		},
		{
			name: "ClusterFirst merges dnsConfig: nameservers and searches after, options override", policy: corev1.DNSClusterFirst, cluster: cluster,
			dns: &corev1.PodDNSConfig{
				Nameservers: []string{"10.88.0.1", "9.9.9.9"},
				Searches:    []string{"svc.cluster.local", "extra.example"},
				Options:     []corev1.PodDNSConfigOption{{Name: "ndots", Value: str("2")}, {Name: "edns0"}},
			},
			want: "search ns1.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example extra.example\nnameserver 10.88.0.1\nnameserver 9.9.9.9\noptions ndots:2 edns0\n",
		},
		{
			name: "ClusterFirst drops host searches the cluster path has; custom domain", policy: corev1.DNSClusterFirst,
			cluster: ClusterDNS{Nameservers: []string{"10.88.0.1"}, Domain: "corp.example."},
			want:    "search ns1.svc.corp.example svc.corp.example corp.example lab.example\nnameserver 10.88.0.1\noptions ndots:5\n",
		},
		{
			name: "None uses dnsConfig alone", policy: corev1.DNSNone,
			dns:  &corev1.PodDNSConfig{Nameservers: []string{"9.9.9.9"}, Searches: []string{"a.example"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: str("5")}, {Name: "edns0"}}},
			want: "search a.example\nnameserver 9.9.9.9\noptions ndots:5 edns0\n",
		},
		{name: "None without nameservers is an error", policy: corev1.DNSNone, dns: &corev1.PodDNSConfig{Searches: []string{"a"}}, wantErr: true},
		{name: "None without dnsConfig is an error", policy: corev1.DNSNone, wantErr: true},
		{name: "unknown policy is an error", policy: "Bogus", wantErr: true},
		{
			name: "dnsConfig merged, duplicates removed, options overridden", policy: corev1.DNSDefault,
			dns: &corev1.PodDNSConfig{
				Nameservers: []string{"10.0.0.2", "9.9.9.9"},
				Searches:    []string{"lab.example", "extra.example"},
				Options:     []corev1.PodDNSConfigOption{{Name: "ndots", Value: str("5")}, {Name: "rotate"}, {Name: "edns0"}},
			},
			want: "search corp.example lab.example extra.example\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 9.9.9.9\noptions ndots:5 rotate edns0\n",
		},
		{
			name: "more than 3 nameservers are cut with a warning", policy: corev1.DNSDefault, dns: manyNS,
			want:     "search corp.example lab.example\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 1.1.1.1\noptions ndots:2 rotate\n",
			wantWarn: "nameserver limits were exceeded",
		},
		{
			name: "more than 32 searches are cut with a warning", policy: corev1.DNSNone,
			dns:      &corev1.PodDNSConfig{Nameservers: []string{"9.9.9.9"}, Searches: many},
			want:     "search " + strings.Join(many[:32], " ") + "\nnameserver 9.9.9.9\n",
			wantWarn: "search line limits were exceeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pod("web", func(p *corev1.Pod) {
				p.Spec.DNSPolicy = tt.policy
				p.Spec.HostNetwork = tt.hostNet
				p.Spec.DNSConfig = tt.dns
			})
			got, warn, err := ResolvConf(p, []byte(host), tt.cluster)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ResolvConf succeeded, want error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("resolv.conf =\n%s\nwant\n%s", got, tt.want)
			}
			if (tt.wantWarn == "") != (warn == "") || !strings.Contains(warn, tt.wantWarn) {
				t.Errorf("warning = %q, want one containing %q", warn, tt.wantWarn)
			}
		})
	}
}

func TestReadHostResolvConf(t *testing.T) {
	tests := []struct {
		name    string
		host    string
		systemd string // "" = file absent
		want    string
	}{
		{"plain host file", "nameserver 10.0.0.2\n", "nameserver 1.1.1.1\n", "nameserver 10.0.0.2\n"},
		{"stub swapped for systemd's file", "nameserver 127.0.0.53\n", "nameserver 1.1.1.1\n", "nameserver 1.1.1.1\n"},
		{"stub kept without systemd's file", "nameserver 127.0.0.53\n", "", "nameserver 127.0.0.53\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			hostPath := filepath.Join(dir, "resolv.conf")
			sdPath := filepath.Join(dir, "systemd-resolv.conf")
			if err := os.WriteFile(hostPath, []byte(tt.host), 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.systemd != "" {
				if err := os.WriteFile(sdPath, []byte(tt.systemd), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := readHostResolvConf(hostPath, sdPath)
			if err != nil || string(got) != tt.want {
				t.Fatalf("read = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := readHostResolvConf(filepath.Join(t.TempDir(), "missing"), "/nonexistent"); err == nil {
		t.Errorf("missing host file: no error")
	}
}
