package podfiles

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Kubelet limits on resolv.conf (pkg/apis/core/validation).
const (
	MaxNameservers    = 3
	MaxSearches       = 32
	MaxSearchLineSize = 2048
)

// Host resolver files.
const (
	HostResolvConfPath     = "/etc/resolv.conf"
	SystemdResolvConfPath  = "/run/systemd/resolve/resolv.conf"
	systemdResolvedStubIP4 = "127.0.0.53"
)

// NoClusterDNSWarning is the warning for pods that ask for cluster DNS
// when the daemon runs none: they get the host's resolver configuration, as
// the kubelet does without clusterDNS.
const NoClusterDNSWarning = "podd runs no cluster DNS; pod with dnsPolicy ClusterFirst falls back to the Default policy (the host's resolv.conf)"

// ClusterDNS is the cluster DNS the daemon serves, as pods see it.
type ClusterDNS struct {
	// Nameservers are the server's addresses; none: no cluster DNS.
	Nameservers []string
	// Domain is the cluster domain (cluster.local).
	Domain string
}

// clusterOptions are the options of a pod using cluster DNS: a name with
// fewer than five dots is tried with the search path first.
var clusterOptions = []string{"ndots:5"}

// dnsConfig is a parsed or composed resolver configuration.
type dnsConfig struct {
	nameservers []string
	searches    []string
	options     []string // "name" or "name:value"
}

// ResolvConf renders the pod's /etc/resolv.conf (R91) from the host's
// resolver file, the cluster DNS and the pod's dnsPolicy and dnsConfig, as
// the kubelet does. Default uses the host file, and so does ClusterFirst
// with hostNetwork. ClusterFirst and ClusterFirstWithHostNet use the
// cluster DNS alone, with the search path <ns>.svc.<domain> svc.<domain>
// <domain> and then the host's, and options ndots:5 (without a cluster DNS
// they fall back to Default with a warning). None uses dnsConfig alone.
// dnsConfig is merged in with duplicates removed, then the kubelet limits
// apply (a warning says what was cut).
func ResolvConf(pod *corev1.Pod, hostResolvConf []byte, cluster ClusterDNS) ([]byte, string, error) {
	var cfg dnsConfig
	var warnings []string
	switch pod.Spec.DNSPolicy {
	case corev1.DNSNone:
		if pod.Spec.DNSConfig == nil || len(pod.Spec.DNSConfig.Nameservers) == 0 {
			return nil, "", errors.New("dnsPolicy None needs dnsConfig.nameservers")
		}
	case corev1.DNSDefault:
		cfg = parseResolvConf(hostResolvConf)
	case corev1.DNSClusterFirst, "", corev1.DNSClusterFirstWithHostNet:
		cfg = parseResolvConf(hostResolvConf)
		if pod.Spec.HostNetwork && pod.Spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
			break // ClusterFirst on the host's network is Default
		}
		if len(cluster.Nameservers) == 0 {
			warnings = append(warnings, NoClusterDNSWarning)
			break
		}
		cfg = dnsConfig{
			nameservers: slices.Clone(cluster.Nameservers),
			searches:    append(clusterSearches(pod.Namespace, cluster.Domain), cfg.searches...),
			options:     slices.Clone(clusterOptions),
		}
	default:
		return nil, "", fmt.Errorf("unknown dnsPolicy %q", pod.Spec.DNSPolicy)
	}
	if dc := pod.Spec.DNSConfig; dc != nil {
		cfg.nameservers = append(cfg.nameservers, dc.Nameservers...)
		cfg.searches = append(cfg.searches, trimSearches(dc.Searches)...)
		for _, o := range dc.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			cfg.options = mergeOptions(cfg.options, opt)
		}
	}
	cfg.nameservers = dedupe(cfg.nameservers)
	cfg.searches = dedupe(cfg.searches)
	warnings = append(warnings, cfg.applyLimits()...)
	return cfg.render(), strings.Join(warnings, "; "), nil
}

// clusterSearches is the cluster part of a pod's search path.
func clusterSearches(namespace, domain string) []string {
	domain = strings.TrimSuffix(domain, ".")
	if domain == "" {
		return nil
	}
	if namespace == "" {
		namespace = corev1.NamespaceDefault
	}
	return []string{namespace + ".svc." + domain, "svc." + domain, domain}
}

// parseResolvConf reads nameserver, search/domain (the last one wins, as in
// glibc) and options lines; later options override earlier ones by name.
func parseResolvConf(data []byte) dnsConfig {
	var cfg dnsConfig
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				cfg.nameservers = append(cfg.nameservers, f[1])
			}
		case "search", "domain":
			cfg.searches = trimSearches(f[1:])
		case "options":
			for _, o := range f[1:] {
				cfg.options = mergeOptions(cfg.options, o)
			}
		}
	}
	return cfg
}

// trimSearches drops "." and trailing dots so a domain counts once.
func trimSearches(in []string) []string {
	out := []string{}
	for _, s := range in {
		if s == "." || s == "" {
			continue
		}
		out = append(out, strings.TrimSuffix(s, "."))
	}
	return out
}

// mergeOptions sets opt in opts, replacing an option of the same name in place.
func mergeOptions(opts []string, opt string) []string {
	name, _, _ := strings.Cut(opt, ":")
	for i, o := range opts {
		if n, _, _ := strings.Cut(o, ":"); n == name {
			opts[i] = opt
			return opts
		}
	}
	return append(opts, opt)
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// applyLimits cuts nameservers and searches to the kubelet's limits and
// returns warnings naming what was applied.
func (c *dnsConfig) applyLimits() []string {
	var warnings []string
	if len(c.nameservers) > MaxNameservers {
		c.nameservers = c.nameservers[:MaxNameservers]
		warnings = append(warnings, "nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: "+strings.Join(c.nameservers, " "))
	}
	cut := false
	if len(c.searches) > MaxSearches {
		c.searches, cut = c.searches[:MaxSearches], true
	}
	for len(c.searches) > 0 && len(strings.Join(c.searches, " ")) > MaxSearchLineSize {
		c.searches, cut = c.searches[:len(c.searches)-1], true
	}
	if cut {
		warnings = append(warnings, "search line limits were exceeded, some search paths have been omitted, the applied search line is: "+strings.Join(c.searches, " "))
	}
	return warnings
}

func (c dnsConfig) render() []byte { return RenderResolvConf(c.nameservers, c.searches, c.options) }

// RenderResolvConf writes a resolv.conf: the search line, one nameserver
// line each, the options line; empty lines are left out.
func RenderResolvConf(nameservers, searches, options []string) []byte {
	var b strings.Builder
	if len(searches) > 0 {
		b.WriteString("search " + strings.Join(searches, " ") + "\n")
	}
	for _, ns := range nameservers {
		b.WriteString("nameserver " + ns + "\n")
	}
	if len(options) > 0 {
		b.WriteString("options " + strings.Join(options, " ") + "\n")
	}
	return []byte(b.String())
}

// ReadHostResolvConf reads the host resolver file at path. When it names
// systemd-resolved's stub (127.0.0.53, unreachable from a pod netns) and
// SystemdResolvConfPath exists, it reads that file instead, as the kubelet
// is told to on such hosts.
func ReadHostResolvConf(path string) ([]byte, error) {
	return readHostResolvConf(path, SystemdResolvConfPath)
}

func readHostResolvConf(path, systemdPath string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read host resolv.conf: %w", err)
	}
	if !slices.Contains(parseResolvConf(data).nameservers, systemdResolvedStubIP4) {
		return data, nil
	}
	real, err := os.ReadFile(systemdPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return data, nil
		}
		return nil, fmt.Errorf("read systemd-resolved resolv.conf: %w", err)
	}
	return real, nil
}
