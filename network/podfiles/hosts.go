package podfiles

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// DefaultClusterDomain is the DNS domain of pod FQDNs
// (hostname.subdomain.ns.svc.<domain>) when none is given.
const DefaultClusterDomain = "cluster.local"

// maxHostnameLen is the DNS label limit the kubelet truncates hostnames to.
const maxHostnameLen = 63

// Hostname is the pod's hostname (R91): spec.hostname, else the pod name,
// cut to 63 characters without a trailing '-' or '.'. A hostNetwork pod
// keeps the node's hostname instead; that is the caller's choice, since it
// needs no file.
func Hostname(pod *corev1.Pod) string {
	h := pod.Name
	if pod.Spec.Hostname != "" {
		h = pod.Spec.Hostname
	}
	if len(h) > maxHostnameLen {
		h = strings.TrimRight(h[:maxHostnameLen], "-.")
	}
	return h
}

// Domain is the pod's DNS domain, "<subdomain>.<namespace>.svc.<domain>"
// (DefaultClusterDomain when clusterDomain is empty), or empty when the pod
// sets no subdomain.
func Domain(pod *corev1.Pod, clusterDomain string) string {
	if pod.Spec.Subdomain == "" {
		return ""
	}
	ns := pod.Namespace
	if ns == "" {
		ns = "default"
	}
	if clusterDomain = strings.TrimSuffix(clusterDomain, "."); clusterDomain == "" {
		clusterDomain = DefaultClusterDomain
	}
	return fmt.Sprintf("%s.%s.svc.%s", pod.Spec.Subdomain, ns, clusterDomain)
}

const managedHostsHeader = `# Kubernetes-managed hosts file.
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
fe00::0	ip6-localnet
fe00::0	ip6-mcastprefix
fe00::1	ip6-allnodes
fe00::2	ip6-allrouters
`

const hostNetworkHostsHeader = "# Kubernetes-managed hosts file (host network).\n"

// Hosts renders the pod's /etc/hosts (R91). For a pod network: localhost
// lines, then podIP with the FQDN (when a subdomain is set) and the
// hostname, then hostAliases. For hostNetwork: the host's hosts file
// (hostHosts) followed by hostAliases. An empty podIP writes no pod line.
// The FQDN is under clusterDomain (see Domain).
func Hosts(pod *corev1.Pod, podIP string, hostHosts []byte, clusterDomain string) []byte {
	var b strings.Builder
	if pod.Spec.HostNetwork {
		b.WriteString(hostNetworkHostsHeader)
		b.Write(hostHosts)
		if len(hostHosts) > 0 && hostHosts[len(hostHosts)-1] != '\n' {
			b.WriteByte('\n')
		}
	} else {
		b.WriteString(managedHostsHeader)
		if podIP != "" {
			host := Hostname(pod)
			if d := Domain(pod, clusterDomain); d != "" {
				fmt.Fprintf(&b, "%s\t%s.%s\t%s\n", podIP, host, d, host)
			} else {
				fmt.Fprintf(&b, "%s\t%s\n", podIP, host)
			}
		}
	}
	b.WriteString(hostAliases(pod.Spec.HostAliases))
	return []byte(b.String())
}

func hostAliases(aliases []corev1.HostAlias) string {
	if len(aliases) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n# Entries added by HostAliases.\n")
	for _, a := range aliases {
		if len(a.Hostnames) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
	}
	return b.String()
}
