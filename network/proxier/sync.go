package proxier

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-iptables/iptables"
)

// Proxier keeps one daemon's chains in the kernel equal to a ruleset. The
// rules stay when the daemon stops (traffic keeps flowing); a new Proxier
// over the same tag adopts and reconciles them at its first Sync.
type Proxier struct {
	tag string
	ipt *iptables.IPTables

	mu sync.Mutex
	// written is the ruleset last put into the kernel, nil when unknown (at
	// the first sync, after a failure): then every chain is written and the
	// kernel asked which are stale. jumped says the jumps into the chains
	// are known to be in place.
	written *Ruleset
	jumped  bool
	// checkedEmpty says the tag's chains are known to be gone.
	checkedEmpty bool
	restorer     restorer
}

// New returns the Proxier of tag over the host's IPv4 iptables.
func New(tag string) (*Proxier, error) {
	ipt, err := iptables.NewWithProtocol(iptables.ProtocolIPv4)
	if err != nil {
		return nil, fmt.Errorf("service rules: %w", err)
	}
	return &Proxier{tag: tag, ipt: ipt, restorer: restorer{ahead: nftBackend()}}, nil
}

// Tag is the tag the Proxier's chains carry.
func (p *Proxier) Tag() string { return p.tag }

// Sync makes the kernel's rules rs: one iptables-restore of the daemon's
// chains that changed since the last sync (all of them at the first; atomic
// per table), then the jumps into them. An empty ruleset removes the jumps
// and every chain of the tag. Syncing the ruleset last applied does
// nothing.
func (p *Proxier) Sync(ctx context.Context, rs Ruleset) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rs.Empty() {
		return p.cleanupLocked(ctx)
	}
	var input string
	if p.written != nil {
		input = RestoreChanges(p.tag, rs, *p.written)
	} else {
		existing, err := listChains(p.ipt, p.tag)
		if err != nil {
			return err
		}
		input = Restore(p.tag, rs, existing)
	}
	if input == "" && p.jumped {
		return nil
	}
	if rs.LocalNet {
		if err := enableRouteLocalnet(); err != nil {
			return err
		}
	}
	if input != "" {
		if err := p.restorer.restore(ctx, input); err != nil {
			p.written = nil
			return err
		}
	}
	p.written, p.checkedEmpty = &rs, false
	if !p.jumped {
		for _, j := range Jumps(p.tag) {
			if err := p.ensureFirst(j); err != nil {
				return err
			}
		}
		p.jumped = true
	}
	return nil
}

// ensureFirst inserts j at the head of its chain unless it is there.
func (p *Proxier) ensureFirst(j Jump) error {
	ok, err := p.ipt.Exists(j.Table, j.Chain, j.Rule...)
	if err != nil {
		return fmt.Errorf("service rules: check jump from %s %s: %w", j.Table, j.Chain, err)
	}
	if ok {
		return nil
	}
	if err := p.ipt.Insert(j.Table, j.Chain, 1, j.Rule...); err != nil {
		return fmt.Errorf("service rules: jump from %s %s: %w", j.Table, j.Chain, err)
	}
	return nil
}

// Cleanup removes the jumps and every chain of the Proxier's tag.
func (p *Proxier) Cleanup(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cleanupLocked(ctx)
}

func (p *Proxier) cleanupLocked(ctx context.Context) error {
	// No Service: no iptables-restore waits for one.
	p.restorer.close()
	if p.written == nil && !p.jumped && p.checkedEmpty {
		return nil
	}
	if err := Cleanup(ctx, p.tag); err != nil {
		return err
	}
	p.written, p.jumped, p.checkedEmpty = nil, false, true
	return nil
}

func keys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func listChains(ipt *iptables.IPTables, tag string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, table := range []string{"nat", "filter"} {
		chains, err := ipt.ListChains(table)
		if err != nil {
			return nil, fmt.Errorf("service rules: list %s chains: %w", table, err)
		}
		for _, ch := range chains {
			if strings.HasPrefix(ch, ChainPrefix(tag)) {
				out[table] = append(out[table], ch)
			}
		}
	}
	return out, nil
}

// ListChains lists the chains of tag in the nat and filter tables, as
// "table/chain" (a census: none once the last Service is gone).
func ListChains(tag string) ([]string, error) {
	ipt, err := iptables.NewWithProtocol(iptables.ProtocolIPv4)
	if err != nil {
		return nil, err
	}
	m, err := listChains(ipt, tag)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, table := range []string{"nat", "filter"} {
		for _, ch := range m[table] {
			out = append(out, table+"/"+ch)
		}
	}
	return out, nil
}

// Cleanup removes the jumps and every chain of tag; what is already gone
// is no error. The e2e tests call it too, so that a failed test leaves
// nothing behind.
func Cleanup(ctx context.Context, tag string) error {
	ipt, err := iptables.NewWithProtocol(iptables.ProtocolIPv4)
	if err != nil {
		return fmt.Errorf("service rules: %w", err)
	}
	existing, err := listChains(ipt, tag)
	if err != nil {
		return err
	}
	var errs []error
	for _, j := range Jumps(tag) {
		// No jump can name a chain that does not exist (and iptables -C
		// fails on one).
		if target := j.Rule[len(j.Rule)-1]; !slices.Contains(existing[j.Table], target) {
			continue
		}
		if err := ipt.DeleteIfExists(j.Table, j.Chain, j.Rule...); err != nil {
			errs = append(errs, fmt.Errorf("service rules: remove jump from %s %s: %w", j.Table, j.Chain, err))
		}
	}
	if input := Restore(tag, Ruleset{}, existing); input != "" {
		if err := restore(ctx, input); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// restoreTimeout bounds one iptables-restore.
const restoreTimeout = 30 * time.Second

// restore feeds input to a new iptables-restore --noflush: only the chains
// it names change, atomically per table.
func restore(ctx context.Context, input string) error {
	return (&restorer{}).restore(ctx, input)
}

// enableRouteLocalnet lets node ports answer on 127.0.0.1, as kube-proxy
// does; it is never turned off again (another proxy may rely on it).
func enableRouteLocalnet() error {
	const f = "/proc/sys/net/ipv4/conf/all/route_localnet"
	if b, err := os.ReadFile(f); err == nil && strings.TrimSpace(string(b)) == "1" {
		return nil
	}
	if err := os.WriteFile(f, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("service rules: enable route_localnet: %w", err)
	}
	return nil
}
