package spec

import (
	"cmp"
	"maps"
	"math/bits"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The default profile allows some syscalls only for listed values of their
// first argument, one rule per value: socket for 32 address families (31
// rules), personality for 5 personas. libseccomp compiles each such rule
// into its own branch, and its export of the i386 section grows steeply
// with them. libcontainer's init compiles the filter at every container
// start: on the 2-core CI host, in runc's code path without the load, the
// 36 argument rules took ~10 of its 16-21 ms (CPU). Each value set is
// rewritten as few masked-equality rules ((arg & mask) == value) that cover
// exactly its values: 13 rules for socket, 2 for personality, and the
// compile takes 9-10 ms. The allowed calls do not change
// (TestCompactArgRules_SameDecisions compiles both filters and compares
// their verdicts).

// maxArgValues bounds the value sets compactArgRules rewrites.
const maxArgValues = 64

// argGroup is the rules of one syscall that share an action and test one
// argument for a finite set of values.
type argGroup struct {
	first  int // index of its first rule in the profile
	rules  int
	rule   specs.LinuxSyscall // the action, name and argument index
	values map[uint64]bool
}

// compactArgRules rewrites, in place, every syscall's set of one-value
// rules (see above) as masked-equality rules covering exactly the same
// values, where that takes fewer rules. A syscall is left alone unless
// every rule naming it is such a rule (one name, one argument, the same
// action, errno and argument index, and an operator with finitely many
// small values: ==, <, <=).
func compactArgRules(f *specs.LinuxSeccomp) {
	groups := map[string]*argGroup{}
	spoilt := map[string]bool{}
	for i, r := range f.Syscalls {
		vals, ok := oneArgValues(r)
		if !ok {
			for _, n := range r.Names {
				spoilt[n] = true
			}
			continue
		}
		name := r.Names[0]
		g := groups[name]
		if g == nil {
			g = &argGroup{first: i, rule: r, values: map[uint64]bool{}}
			groups[name] = g
		} else if !sameGroup(g.rule, r) {
			spoilt[name] = true
			continue
		}
		g.rules++
		for _, v := range vals {
			g.values[v] = true
		}
	}
	replace := map[int][]specs.LinuxSyscall{}
	drop := map[string]bool{}
	for name, g := range groups {
		// A name keeps at least one rule: runc's ENOSYS stub is laid out
		// from the names a profile mentions.
		if spoilt[name] || len(g.values) == 0 || len(g.values) > maxArgValues {
			continue
		}
		cubes := coverValues(slices.Sorted(maps.Keys(g.values)))
		if len(cubes) >= g.rules {
			continue
		}
		for _, c := range cubes {
			r := g.rule
			r.Names = []string{name}
			r.Args = []specs.LinuxSeccompArg{{Index: g.rule.Args[0].Index, Value: ^c.free, ValueTwo: c.value, Op: specs.OpMaskedEqual}}
			replace[g.first] = append(replace[g.first], r)
		}
		drop[name] = true
	}
	if len(drop) == 0 {
		return
	}
	out := make([]specs.LinuxSyscall, 0, len(f.Syscalls))
	for i, r := range f.Syscalls {
		if rs, ok := replace[i]; ok {
			out = append(out, rs...)
			continue
		}
		if len(r.Names) == 1 && drop[r.Names[0]] {
			continue
		}
		out = append(out, r)
	}
	f.Syscalls = out
}

// oneArgValues returns the values a rule with one name and one argument
// condition admits, if they are few.
func oneArgValues(r specs.LinuxSyscall) ([]uint64, bool) {
	if len(r.Names) != 1 || len(r.Args) != 1 {
		return nil, false
	}
	a := r.Args[0]
	switch {
	case a.Op == specs.OpEqualTo:
		return []uint64{a.Value}, true
	case a.Op == specs.OpLessThan && a.Value <= maxArgValues:
		return valuesBelow(a.Value), true
	case a.Op == specs.OpLessEqual && a.Value < maxArgValues:
		return valuesBelow(a.Value + 1), true
	}
	return nil, false
}

func valuesBelow(n uint64) []uint64 {
	vals := make([]uint64, 0, n)
	for v := range n {
		vals = append(vals, v)
	}
	return vals
}

func sameGroup(a, b specs.LinuxSyscall) bool {
	return a.Action == b.Action && a.Args[0].Index == b.Args[0].Index &&
		(a.ErrnoRet == nil) == (b.ErrnoRet == nil) && (a.ErrnoRet == nil || *a.ErrnoRet == *b.ErrnoRet)
}

// cube is the set of values v with v &^ free == value: value with every
// combination of the free bits.
type cube struct{ value, free uint64 }

func (c cube) size() int { return 1 << bits.OnesCount64(c.free) }

func (c cube) has(v uint64) bool { return v&^c.free == c.value }

// coverValues returns few cubes whose union is exactly vals (sorted,
// distinct), found as a two-level logic minimiser does (Quine–McCluskey):
// the prime cubes, then, greedily, the one that covers most values left
// (for socket's families 13 cubes; the smallest cover has 12).
// (The default filter of a capability set is built once: see
// defaultFilters.)
func coverValues(vals []uint64) []cube {
	return greedyCover(vals, primeCubes(vals))
}

// primeCubes merges cubes of vals that differ in one bit until no more
// merge; the cubes that never merged are the prime ones, largest first.
func primeCubes(vals []uint64) []cube {
	level := map[cube]bool{}
	for _, v := range vals {
		level[cube{value: v}] = true
	}
	var primes []cube
	for len(level) > 0 {
		next := map[cube]bool{}
		merged := map[cube]bool{}
		for a := range level {
			for b := range level {
				d := a.value ^ b.value
				if a.free == b.free && a.value < b.value && bits.OnesCount64(d) == 1 {
					next[cube{value: a.value, free: a.free | d}] = true
					merged[a], merged[b] = true, true
				}
			}
		}
		for c := range level {
			if !merged[c] {
				primes = append(primes, c)
			}
		}
		level = next
	}
	slices.SortFunc(primes, func(a, b cube) int {
		return cmp.Or(cmp.Compare(b.size(), a.size()), cmp.Compare(a.value, b.value), cmp.Compare(a.free, b.free))
	})
	return primes
}

// greedyCover covers vals with the prime that covers most of what is left,
// again and again.
func greedyCover(vals []uint64, primes []cube) []cube {
	left := slices.Clone(vals)
	var out []cube
	for len(left) > 0 {
		best, n := primes[0], -1
		for _, c := range primes {
			k := 0
			for _, v := range left {
				if c.has(v) {
					k++
				}
			}
			if k > n {
				best, n = c, k
			}
		}
		out = append(out, best)
		left = slices.DeleteFunc(left, best.has)
	}
	return out
}
