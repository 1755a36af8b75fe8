package cni

import (
	"github.com/podd-dev/podd/runtime/atomicfile"

	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/utils"
)

// Defaults of podd's own network, written when the conf dir holds none.
const (
	DefaultNetworkName = "podd"
	DefaultBridge      = "podd0"
	DefaultSubnet      = "10.88.0.0/16"
	// DefaultConflistFile is the file name the default network is written to.
	DefaultConflistFile = "10-podd.conflist"
	// CNIVersion is the spec version of the generated configuration.
	CNIVersion = "1.0.0"
)

// DefaultOptions shape podd's default network. Zero fields take the
// Default* constants; an empty IPAMDataDir leaves host-local's own default.
type DefaultOptions struct {
	Name        string
	Bridge      string
	Subnet      string
	IPAMDataDir string
}

func (o DefaultOptions) withDefaults() DefaultOptions {
	if o.Name == "" {
		o.Name = DefaultNetworkName
	}
	if o.Bridge == "" {
		o.Bridge = DefaultBridge
	}
	if o.Subnet == "" {
		o.Subnet = DefaultSubnet
	}
	return o
}

type conflist struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

type bridgeConf struct {
	Type        string   `json:"type"`
	Bridge      string   `json:"bridge"`
	IsGateway   bool     `json:"isGateway"`
	IPMasq      bool     `json:"ipMasq"`
	HairpinMode bool     `json:"hairpinMode"`
	IPAM        ipamConf `json:"ipam"`
}

type ipamConf struct {
	Type    string        `json:"type"`
	Ranges  [][]ipamRange `json:"ranges"`
	Routes  []ipamRoute   `json:"routes"`
	DataDir string        `json:"dataDir,omitempty"`
}

type ipamRange struct {
	Subnet string `json:"subnet"`
}

type ipamRoute struct {
	Dst string `json:"dst"`
}

type portmapConf struct {
	Type         string          `json:"type"`
	Capabilities map[string]bool `json:"capabilities"`
}

// DefaultConflist renders podd's default network: a bridge (gateway, IP
// masquerade, hairpin) with host-local IPAM and a default route, chained with
// portmap for hostPort. It does no I/O.
func DefaultConflist(o DefaultOptions) ([]byte, error) {
	o = o.withDefaults()
	if err := utils.ValidateNetworkName(o.Name); err != nil {
		return nil, fmt.Errorf("default network name %q: %w", o.Name, err)
	}
	if err := utils.ValidateInterfaceName(o.Bridge); err != nil {
		return nil, fmt.Errorf("default network bridge %q: %w", o.Bridge, err)
	}
	ip, subnet, err := net.ParseCIDR(o.Subnet)
	if err != nil {
		return nil, fmt.Errorf("default network subnet %q: %w", o.Subnet, err)
	}
	if !ip.Equal(subnet.IP) {
		return nil, fmt.Errorf("default network subnet %q: host bits set (network is %s)", o.Subnet, subnet)
	}
	dst := "0.0.0.0/0"
	if subnet.IP.To4() == nil {
		dst = "::/0"
	}
	if o.IPAMDataDir != "" && !filepath.IsAbs(o.IPAMDataDir) {
		return nil, fmt.Errorf("default network ipam data dir %q: not absolute", o.IPAMDataDir)
	}
	c := conflist{
		CNIVersion: CNIVersion,
		Name:       o.Name,
		Plugins: []any{
			bridgeConf{
				Type: "bridge", Bridge: o.Bridge, IsGateway: true, IPMasq: true, HairpinMode: true,
				IPAM: ipamConf{
					Type:    "host-local",
					Ranges:  [][]ipamRange{{{Subnet: subnet.String()}}},
					Routes:  []ipamRoute{{Dst: dst}},
					DataDir: o.IPAMDataDir,
				},
			},
			portmapConf{Type: "portmap", Capabilities: map[string]bool{"portMappings": true}},
		},
	}
	out, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode default network: %w", err)
	}
	return append(out, '\n'), nil
}

// Network is one loaded network configuration list.
type Network struct {
	// Name is the network name of the list.
	Name string
	// File is where it was loaded from; empty when parsed from bytes.
	File string
	// Bytes is the configuration list as JSON (a single-plugin .conf file is
	// converted), fit for ParseNetwork.
	Bytes []byte

	list *libcni.NetworkConfigList
	// noPorts is list without its port-mapping plugins, for a sandbox with
	// no hostPort; list itself when it has none.
	noPorts *libcni.NetworkConfigList
	// masq are the subnets podd masquerades in place of the bridge
	// plugin, whose ipMasq is off in list (see podMasquerade).
	masq []*net.IPNet
}

// ParseNetwork parses configuration list bytes.
func ParseNetwork(data []byte) (*Network, error) {
	list, err := libcni.NetworkConfFromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("parse cni configuration list: %w", err)
	}
	if len(list.Plugins) == 0 {
		return nil, fmt.Errorf("cni configuration list %q has no plugins", list.Name)
	}
	bytes := list.Bytes
	run, masq, err := podMasquerade(list)
	if err != nil {
		return nil, fmt.Errorf("cni configuration list %q: %w", list.Name, err)
	}
	noPorts, err := withoutPortMappers(run)
	if err != nil {
		return nil, fmt.Errorf("cni configuration list %q: %w", list.Name, err)
	}
	return &Network{Name: list.Name, Bytes: bytes, list: run, noPorts: noPorts, masq: masq}, nil
}

// Masquerade returns the subnets whose traffic podd masquerades for the
// network's sandboxes (EnsureMasquerade) in place of its bridge plugin:
// an ADD must find them masqueraded.
func (n *Network) Masquerade() []*net.IPNet { return n.masq }

// forAttachment is the list an ADD with ports (or none) runs.
func (n *Network) forAttachment(hasPorts bool) *libcni.NetworkConfigList {
	if hasPorts || n.noPorts == nil {
		return n.list
	}
	return n.noPorts
}

// withoutPortMappers returns list without the plugins whose only capability
// is portMappings (portmap): with no hostPort they do nothing on ADD but
// cost an exec, and on DEL they still scan and rewrite the host's iptables
// nat chains. A DEL replays the list its ADD cached, so each sandbox's DEL
// runs exactly the plugins its ADD ran.
func withoutPortMappers(list *libcni.NetworkConfigList) (*libcni.NetworkConfigList, error) {
	var kept []json.RawMessage
	for _, p := range list.Plugins {
		if !onlyPortMappings(p.Network.Capabilities) {
			kept = append(kept, p.Bytes)
		}
	}
	if len(kept) == len(list.Plugins) || len(kept) == 0 {
		return list, nil
	}
	return withPlugins(list, kept)
}

// withPlugins returns list with its plugins replaced by plugins (their
// configurations), the rest of the list (name, version, other keys) as it
// is.
func withPlugins(list *libcni.NetworkConfigList, plugins []json.RawMessage) (*libcni.NetworkConfigList, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(list.Bytes, &top); err != nil {
		return nil, err
	}
	b, err := json.Marshal(plugins)
	if err != nil {
		return nil, err
	}
	top["plugins"] = b
	data, err := json.Marshal(top)
	if err != nil {
		return nil, err
	}
	return libcni.NetworkConfFromBytes(data)
}

func onlyPortMappings(caps map[string]bool) bool {
	return len(caps) == 1 && caps["portMappings"]
}

// ConfFiles returns the CNI configuration files of dir (*.conflist and
// *.conf) in lexical order, the order the kubelet picks them in.
func ConfFiles(dir string) ([]string, error) {
	files, err := libcni.ConfFiles(dir, []string{".conflist", ".conf"})
	if err != nil {
		return nil, fmt.Errorf("list cni configuration in %q: %w", dir, err)
	}
	sort.Strings(files)
	return files, nil
}

// LoadNetwork loads the first valid configuration file of confDir. When the
// dir holds no configuration file at all, it writes podd's default network
// there (DefaultConflist with def) and loads that.
func LoadNetwork(confDir string, def DefaultOptions) (*Network, error) {
	files, err := ConfFiles(confDir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		data, err := DefaultConflist(def)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(confDir, DefaultConflistFile)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("write default network: %w", err)
		}
		if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
			return nil, fmt.Errorf("write default cni configuration: %w", err)
		}
		slog.Info("wrote default cni configuration", "path", path)
		files = []string{path}
	}
	n, skipped, err := firstValid(confDir, files)
	for _, e := range skipped {
		slog.Warn("skipping invalid cni configuration", "err", e)
	}
	return n, err
}

// LoadExisting loads the first valid configuration file of confDir and
// writes nothing: a dir with no configuration file is an error.
func LoadExisting(confDir string) (*Network, error) {
	files, err := ConfFiles(confDir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no CNI configuration in %s", confDir)
	}
	n, _, err := firstValid(confDir, files)
	return n, err
}

// firstValid loads the first of files that is valid, and says why the ones
// before it were skipped.
func firstValid(confDir string, files []string) (*Network, []error, error) {
	var errs []error
	for _, f := range files {
		n, err := loadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return n, errs, nil
	}
	return nil, errs, fmt.Errorf("no valid cni configuration in %q: %w", confDir, errors.Join(errs...))
}

// loadFile loads a .conflist, or a single-plugin .conf wrapped into a list.
// Only inlined plugins count: podd caches and replays the list bytes.
func loadFile(path string) (*Network, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cni configuration: %w", err)
	}
	if filepath.Ext(path) == ".conf" {
		if data, err = wrapConf(data); err != nil {
			return nil, fmt.Errorf("load cni configuration %q: %w", path, err)
		}
	}
	n, err := ParseNetwork(data)
	if err != nil {
		return nil, fmt.Errorf("load cni configuration %q: %w", path, err)
	}
	n.File = path
	return n, nil
}

// wrapConf turns a single-plugin configuration into a list holding it.
func wrapConf(data []byte) ([]byte, error) {
	conf, err := libcni.NetworkPluginConfFromBytes(data)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse plugin configuration: %w", err)
	}
	return json.Marshal(map[string]any{
		"cniVersion": conf.Network.CNIVersion,
		"name":       conf.Network.Name,
		"plugins":    []any{raw},
	})
}
