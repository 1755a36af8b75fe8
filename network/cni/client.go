package cni

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
)

// DefaultIfName is the pod-side interface name.
const DefaultIfName = "eth0"

// DefaultBinDirs are searched for plugin binaries when none are configured.
var DefaultBinDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

// defaultTimeout bounds a plugin chain run when the caller's context has no
// deadline.
const defaultTimeout = 2 * time.Minute

// ErrNoCachedResult marks a DEL error for an attachment that has no cached
// ADD result, so that ADD never fully succeeded (or its DEL already did).
var ErrNoCachedResult = errors.New("no cached cni result")

// PortMapping is one hostPort forward, in the shape of the portmap plugin's
// portMappings capability.
type PortMapping struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// Attachment names one sandbox interface on a network.
type Attachment struct {
	// ContainerID is the CNI container ID: a fresh sandbox id per sandbox
	// instance, never the bare pod UID.
	ContainerID string
	// NetNS is the pinned netns path; empty when it is gone (DEL only).
	NetNS string
	// IfName defaults to DefaultIfName.
	IfName string
	// Args are CNI_ARGS pairs (K8S_POD_NAME...).
	Args [][2]string
	// PortMappings become the portMappings capability argument.
	PortMappings []PortMapping
}

func (a Attachment) runtimeConf() *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{
		ContainerID: a.ContainerID,
		NetNS:       a.NetNS,
		IfName:      a.IfName,
		Args:        a.Args,
	}
	if rt.IfName == "" {
		rt.IfName = DefaultIfName
	}
	if len(a.PortMappings) > 0 {
		pms := make([]PortMapping, len(a.PortMappings))
		for i, pm := range a.PortMappings {
			pm.Protocol = strings.ToLower(pm.Protocol)
			if pm.Protocol == "" {
				pm.Protocol = "tcp"
			}
			pms[i] = pm
		}
		rt.CapabilityArgs = map[string]any{"portMappings": pms}
	}
	return rt
}

// Result is what an ADD produced.
type Result struct {
	// Network is the configuration list name.
	Network string
	// ConfigBytes is the list used, to persist with the sandbox.
	ConfigBytes []byte
	// Interface is the sandbox-side interface name.
	Interface string
	// IPs are the addresses of the sandbox interface.
	IPs []net.IP
	// Raw is the full result of the chain.
	Raw *types100.Result
}

// Client runs plugin chains with one result cache dir and plugin path.
// It is safe for concurrent use.
type Client struct {
	lib     *libcni.CNIConfig
	exec    invoke.Exec
	binDirs []string
}

// NewClient returns a client that finds plugins in binDirs (DefaultBinDirs
// if empty) and keeps libcni's result cache in cacheDir.
func NewClient(binDirs []string, cacheDir string) (*Client, error) {
	if cacheDir == "" {
		return nil, errors.New("cni cache dir is empty")
	}
	if len(binDirs) == 0 {
		binDirs = DefaultBinDirs
	}
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("create cni cache dir %q: %w", cacheDir, err)
	}
	// A non-nil exec up front: libcni sets a default lazily, which races.
	exec := &invoke.DefaultExec{
		RawExec:       &invoke.RawExec{Stderr: os.Stderr},
		PluginDecoder: version.PluginDecoder{},
	}
	return &Client{
		lib:     libcni.NewCNIConfigWithCacheDir(binDirs, cacheDir, exec),
		exec:    exec,
		binDirs: binDirs,
	}, nil
}

// Add runs ADD of network n for a. On error, the caller must still call Del:
// plugins before the failing one may have allocated.
func (c *Client) Add(ctx context.Context, n *Network, a Attachment) (*Result, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	rt := a.runtimeConf()
	list := n.forAttachment(len(a.PortMappings) > 0)
	res, err := c.lib.AddNetworkList(ctx, list, rt)
	if err != nil {
		return nil, fmt.Errorf("cni add of %q on network %q: %w", a.ContainerID, n.Name, err)
	}
	cur, err := types100.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("convert cni result of %q on network %q: %w", a.ContainerID, n.Name, err)
	}
	return &Result{
		Network:     n.Name,
		ConfigBytes: list.Bytes,
		Interface:   rt.IfName,
		IPs:         sandboxIPs(cur, rt.IfName),
		Raw:         cur,
	}, nil
}

// sandboxIPs returns the addresses on the sandbox interface ifName (and
// those bound to no interface).
func sandboxIPs(r *types100.Result, ifName string) []net.IP {
	var ips []net.IP
	for _, ip := range r.IPs {
		if ip.Interface != nil {
			i := *ip.Interface
			if i < 0 || i >= len(r.Interfaces) || r.Interfaces[i].Name != ifName || r.Interfaces[i].Sandbox == "" {
				continue
			}
		}
		ips = append(ips, ip.Address.IP)
	}
	return ips
}

// Del runs DEL for a. It replays the cached ADD configuration and capability
// arguments when libcni has them, so DEL matches ADD even if the conf dir
// changed; otherwise it runs fallback (nil: nothing to do), skipping plugins
// whose binary is missing, since those never ran. A netns path that no longer
// exists is passed as empty, as the CNI spec allows. DEL of something already
// deleted succeeds. Errors without a cached result wrap ErrNoCachedResult.
func (c *Client) Del(ctx context.Context, fallback *Network, a Attachment) error {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	rt := a.runtimeConf()
	rt.NetNS = existingPath(rt.NetNS)
	cached, err := c.cached(rt.ContainerID, rt.IfName)
	if err != nil {
		return err
	}
	if len(cached) == 0 {
		if fallback == nil {
			return nil
		}
		list := c.foundPlugins(fallback.list)
		if len(list.Plugins) == 0 {
			return nil
		}
		if err := c.lib.DelNetworkList(ctx, list, rt); err != nil {
			return fmt.Errorf("cni del of %q on network %q: %w: %w", rt.ContainerID, list.Name, err, ErrNoCachedResult)
		}
		return nil
	}
	var errs []error
	for _, att := range cached {
		errs = append(errs, c.delCached(ctx, att, rt.NetNS))
	}
	return errors.Join(errs...)
}

// cached returns libcni's cached attachments of containerID on ifName.
func (c *Client) cached(containerID, ifName string) ([]*libcni.NetworkAttachment, error) {
	all, err := c.lib.GetCachedAttachments(containerID)
	if err != nil {
		return nil, fmt.Errorf("read cni cache of %q: %w", containerID, err)
	}
	var out []*libcni.NetworkAttachment
	for _, att := range all {
		if att.IfName == ifName {
			out = append(out, att)
		}
	}
	return out, nil
}

func (c *Client) delCached(ctx context.Context, att *libcni.NetworkAttachment, netns string) error {
	list, err := libcni.NetworkConfFromBytes(att.Config)
	if err != nil {
		return fmt.Errorf("parse cached cni configuration of %q: %w", att.ContainerID, err)
	}
	if err := c.lib.DelNetworkList(ctx, list, cachedRuntimeConf(att, netns)); err != nil {
		return fmt.Errorf("cni del of %q on network %q: %w", att.ContainerID, list.Name, err)
	}
	return nil
}

func cachedRuntimeConf(att *libcni.NetworkAttachment, netns string) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{
		ContainerID:    att.ContainerID,
		NetNS:          netns,
		IfName:         att.IfName,
		Args:           att.CniArgs,
		CapabilityArgs: att.CapabilityArgs,
	}
}

// MissingPlugins names the plugins of n whose binary is in none of the bin
// dirs: an ADD with n would fail on the first of them.
func (c *Client) MissingPlugins(n *Network) []string {
	var out []string
	for _, p := range n.list.Plugins {
		if _, err := c.exec.FindInPath(p.Network.Type, c.binDirs); err != nil {
			out = append(out, p.Network.Type)
		}
	}
	return out
}

// foundPlugins returns list without the plugins whose binary is not in the
// bin dirs: an ADD that failed on a missing plugin never ran it, and DEL
// runs in reverse order, so keeping it would stop the DEL of the plugins
// that did allocate.
func (c *Client) foundPlugins(list *libcni.NetworkConfigList) *libcni.NetworkConfigList {
	out := *list
	out.Plugins = nil
	for _, p := range list.Plugins {
		if _, err := c.exec.FindInPath(p.Network.Type, c.binDirs); err != nil {
			slog.Debug("cni del skips missing plugin", "network", list.Name, "plugin", p.Network.Type)
			continue
		}
		out.Plugins = append(out.Plugins, p)
	}
	return &out
}

func existingPath(p string) string {
	if p == "" {
		return ""
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, defaultTimeout)
}
