package spec

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/net/bpf"
)

func TestCoverValues_Exact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sets := [][]uint64{
		{0}, {5}, {0, 1}, {0, 2}, {1, 2}, {0, 1, 2, 3}, {0, 8, 0x20000, 0x20008, 0xffffffff},
		{0, 1, 2, 7, 8, 9, 10, 13, 14, 15, 16, 17, 18, 21, 22, 24, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 39, 41, 42, 43, 44, 45},
		{1 << 63, 1<<63 | 1, 1 << 32},
	}
	for range 200 {
		set := map[uint64]bool{}
		for range 1 + rng.IntN(40) {
			set[rng.Uint64N(64)] = true
		}
		var vals []uint64
		for v := range set {
			vals = append(vals, v)
		}
		slices.Sort(vals)
		sets = append(sets, vals)
	}
	for _, vals := range sets {
		slices.Sort(vals)
		cubes := coverValues(vals)
		if len(cubes) > len(vals) {
			t.Errorf("%v: %d cubes for %d values", vals, len(cubes), len(vals))
		}
		// The union is vals: every value is covered, and every cube's
		// members are values.
		for _, v := range vals {
			if !slices.ContainsFunc(cubes, func(c cube) bool { return c.has(v) }) {
				t.Errorf("%v: %#x not covered by %v", vals, v, cubes)
			}
		}
		for _, c := range cubes {
			if c.size() > len(vals) {
				t.Fatalf("%v: cube %v is larger than the set", vals, c)
			}
			members := []uint64{c.value}
			for b := range 64 {
				if c.free&(1<<b) != 0 {
					for _, m := range members {
						members = append(members, m|1<<b)
					}
				}
			}
			for _, m := range members {
				if _, found := slices.BinarySearch(vals, m); !found {
					t.Errorf("%v: cube %v admits %#x", vals, c, m)
				}
			}
		}
	}
	if n := len(coverValues([]uint64{0, 1, 2, 7, 8, 9, 10, 13, 14, 15, 16, 17, 18, 21, 22, 24, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 39, 41, 42, 43, 44, 45})); n != 13 {
		t.Errorf("socket's families: %d cubes, want 13", n)
	}
}

// Only a syscall whose every rule admits few values of one argument is
// rewritten; one with another rule, or none to admit, is left as it is.
func TestCompactArgRules_LeavesOthersAlone(t *testing.T) {
	eq := func(name string, v uint64) specs.LinuxSyscall {
		return specs.LinuxSyscall{Names: []string{name}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: v, Op: specs.OpEqualTo}}}
	}
	f := &specs.LinuxSeccomp{Syscalls: []specs.LinuxSyscall{
		eq("a", 0), eq("a", 1), eq("a", 2), eq("a", 3),
		eq("b", 0), eq("b", 1), {Names: []string{"b", "c"}, Action: specs.ActAllow},
		eq("d", 0), eq("d", 1), {Names: []string{"d"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 2, Op: specs.OpEqualTo}}},
		{Names: []string{"e"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0, Op: specs.OpLessThan}}},
		eq("f", 0), {Names: []string{"f"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 1, Value: 1, Op: specs.OpEqualTo}}},
	}}
	compactArgRules(f)
	var names []string
	for _, r := range f.Syscalls {
		names = append(names, r.Names[0])
	}
	if got, want := strings.Join(names, " "), "a b b b d d d e f f"; got != want {
		t.Errorf("rules %s, want %s", got, want)
	}
	if a := f.Syscalls[0]; a.Args[0].Op != specs.OpMaskedEqual || a.Args[0].Value != ^uint64(3) || a.Args[0].ValueTwo != 0 {
		t.Errorf("a's rule %+v, want (arg0 & ^3) == 0", a.Args[0])
	}
}

// The compacted default profile decides every syscall as moby's does, on
// both architectures podd keeps, for every capability set that changes the
// profile: both are compiled with libseccomp (as libcontainer's init does)
// and run on the same calls.
func TestCompactArgRules_SameDecisions(t *testing.T) {
	capSets := map[string][]string{"default": DefaultCapabilities, "all": allCapabilities, "none": nil}
	for name, caps := range capSets {
		t.Run(name, func(t *testing.T) {
			rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
			moby, err := seccomp.GetDefaultProfile(rs)
			if err != nil {
				t.Fatal(err)
			}
			moby.Architectures = []specs.Arch{specs.ArchX86_64, specs.ArchX86}
			compact, err := seccomp.GetDefaultProfile(rs)
			if err != nil {
				t.Fatal(err)
			}
			compact.Architectures = moby.Architectures
			compactArgRules(compact)
			if len(compact.Syscalls) >= len(moby.Syscalls) {
				t.Errorf("%d rules compacted to %d", len(moby.Syscalls), len(compact.Syscalls))
			}
			want, got := compileFilter(t, moby), compileFilter(t, compact)
			calls := 0
			for _, arch := range []uint32{auditArchX86_64, auditArchI386, auditArchAArch64} {
				for nr := range uint32(1024) {
					for _, a0 := range argSamples(nr, arch) {
						calls++
						in := seccompData(arch, nr, a0)
						w, g := runFilter(t, want, in), runFilter(t, got, in)
						if w != g {
							t.Fatalf("arch %#x syscall %d arg0 %#x: moby's filter returns %#x, the compacted one %#x", arch, nr, a0, w, g)
						}
					}
				}
			}
			t.Logf("%d rules → %d, %d calls decided alike", len(moby.Syscalls), len(compact.Syscalls), calls)
		})
	}
}

// BenchmarkCompileDefaultFilter is libseccomp's compile of the default
// profile as moby writes it and as podd hands it to libcontainer, whose
// init compiles it at every container start (with the binary tree, as
// libcontainer does for more than 32 syscalls).
func BenchmarkCompileDefaultFilter(b *testing.B) {
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: DefaultCapabilities}}}
	for _, compacted := range []bool{false, true} {
		f, err := seccomp.GetDefaultProfile(rs)
		if err != nil {
			b.Fatal(err)
		}
		f.Architectures = []specs.Arch{specs.ArchX86_64, specs.ArchX86}
		name := "moby"
		if compacted {
			compactArgRules(f)
			name = "compacted"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				compileFilter(b, f)
			}
		})
	}
}

const (
	auditArchX86_64  = 0xc000003e
	auditArchI386    = 0x40000003
	auditArchAArch64 = 0xc00000b7
)

// argSamples are the first arguments tried for syscall nr: every small
// value and values with high bits for the syscalls that test their first
// argument, a few for the others.
func argSamples(nr, arch uint32) []uint64 {
	tested := map[uint32][]uint32{
		auditArchX86_64: {41, 135, 56},        // socket, personality, clone
		auditArchI386:   {359, 136, 102, 120}, // socket, personality, socketcall, clone
	}
	few := []uint64{0, 3, 45, 1 << 32, 0xffffffff}
	if !slices.Contains(tested[arch], nr) {
		return few
	}
	var vals []uint64
	for v := range uint64(300) {
		vals = append(vals, v, v|1<<32, v|1<<63, 0xffffffff-v, 0x20000|v, ^v)
	}
	for b := range 64 {
		vals = append(vals, 1<<b, 1<<b|8, 1<<b|0x20000)
	}
	return vals
}

// seccompData is the kernel's struct seccomp_data for a call, laid out for
// x/net/bpf's VM, which loads words big-endian: each 32-bit word the
// filter reads holds what a little-endian kernel would give it.
func seccompData(arch, nr uint32, arg0 uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], nr)
	binary.BigEndian.PutUint32(b[4:], arch)
	binary.BigEndian.PutUint32(b[16:], uint32(arg0))
	binary.BigEndian.PutUint32(b[20:], uint32(arg0>>32))
	return b
}

func runFilter(t *testing.T, vm *bpf.VM, in []byte) int {
	t.Helper()
	ret, err := vm.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	return ret
}

// compileFilter compiles f with libseccomp as libcontainer's InitSeccomp
// does (its default action, architectures, binary tree, one rule per name,
// the conditions of a rule ANDed), and returns the program in a VM.
func compileFilter(t testing.TB, f *specs.LinuxSeccomp) *bpf.VM {
	t.Helper()
	def := libseccomp.ActErrno.SetReturnCode(int16(*f.DefaultErrnoRet))
	filter, err := libseccomp.NewFilter(def)
	if err != nil {
		t.Fatal(err)
	}
	defer filter.Release()
	for _, a := range f.Architectures {
		arch, err := libseccomp.GetArchFromString(map[specs.Arch]string{specs.ArchX86_64: "amd64", specs.ArchX86: "x86"}[a])
		if err == nil {
			err = filter.AddArch(arch)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := filter.SetOptimize(2); err != nil {
		t.Fatal(err)
	}
	ops := map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
		specs.OpEqualTo: libseccomp.CompareEqual, specs.OpNotEqual: libseccomp.CompareNotEqual,
		specs.OpLessThan: libseccomp.CompareLess, specs.OpLessEqual: libseccomp.CompareLessOrEqual,
		specs.OpGreaterThan: libseccomp.CompareGreater, specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
		specs.OpMaskedEqual: libseccomp.CompareMaskedEqual,
	}
	for _, r := range f.Syscalls {
		var act libseccomp.ScmpAction
		switch r.Action {
		case specs.ActAllow:
			act = libseccomp.ActAllow
		case specs.ActErrno:
			act = libseccomp.ActErrno.SetReturnCode(int16(*r.ErrnoRet))
		default:
			t.Fatalf("rule %v: action not handled here", r)
		}
		if act == def {
			continue
		}
		var conds []libseccomp.ScmpCondition
		for _, a := range r.Args {
			c, err := libseccomp.MakeCondition(a.Index, ops[a.Op], a.Value, a.ValueTwo)
			if err != nil {
				t.Fatal(err)
			}
			conds = append(conds, c)
		}
		for _, n := range r.Names {
			nr, err := libseccomp.GetSyscallFromName(n)
			if err != nil {
				continue // not a syscall of this libseccomp, as runc skips it
			}
			if len(conds) == 0 {
				err = filter.AddRule(nr, act)
			} else {
				err = filter.AddRuleConditional(nr, act, conds)
			}
			if err != nil {
				t.Fatalf("rule %s %v: %v", n, r, err)
			}
		}
	}
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var buf bytes.Buffer
	done := make(chan error, 1)
	go func() { _, err := io.Copy(&buf, rd); done <- err }()
	err = filter.ExportBPF(wr)
	wr.Close()
	if cerr := <-done; err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	var prog []bpf.RawInstruction
	raw := buf.Bytes()
	for i := 0; i+8 <= len(raw); i += 8 {
		prog = append(prog, bpf.RawInstruction{
			Op: binary.NativeEndian.Uint16(raw[i:]), Jt: raw[i+2], Jf: raw[i+3], K: binary.NativeEndian.Uint32(raw[i+4:]),
		})
	}
	insns, ok := bpf.Disassemble(prog)
	if !ok {
		t.Fatal("libseccomp's program does not disassemble")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}
