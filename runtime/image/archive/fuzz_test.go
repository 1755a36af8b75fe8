package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"testing"
)

// fuzzCap is the layer size cap the fuzz target applies with.
const fuzzCap = 1 << 20

// FuzzApplyLayer feeds arbitrary bytes to Apply as a layer tar: it must
// never panic, never write outside its directory (sandbox checks that at
// cleanup) and never write more than the cap.
func FuzzApplyLayer(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		root, _ := sandbox(t)
		_ = Apply(context.Background(), root, bytes.NewReader(data), Options{MaxSize: fuzzCap, MaxEntries: 1000})
		if n := treeBytes(t, root); n > fuzzCap {
			t.Fatalf("%d bytes written, cap %d", n, fuzzCap)
		}
	})
}

// fuzzSeeds are small layers of the shapes real images hold, and the
// hostile ones the tests above use.
func fuzzSeeds(t testing.TB) [][]byte {
	all := func(r io.Reader) []byte {
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return [][]byte{
		all(tarOf(t,
			entry{name: "./bin/", typ: tar.TypeDir},
			entry{name: "./bin/busybox", body: "\x7fELF", mode: 0o755},
			entry{name: "./bin/sh", typ: tar.TypeSymlink, link: "busybox"},
			entry{name: "./bin/ash", typ: tar.TypeLink, link: "bin/busybox"},
			entry{name: "./tmp/", typ: tar.TypeDir, mode: 0o1777},
			entry{name: "./etc/passwd", body: "root:x:0:0::/root:/bin/sh\n"})),
		all(tarOf(t,
			entry{name: "etc/", typ: tar.TypeDir},
			entry{name: "etc/.wh.motd"},
			entry{name: "var/.wh..wh..opq"},
			entry{name: "dev/fifo", typ: tar.TypeFifo})),
		all(tarOf(t,
			entry{name: "evil", typ: tar.TypeSymlink, link: "/"},
			entry{name: "evil/etc/x", body: "x"},
			entry{name: "l", typ: tar.TypeLink, link: "../outside/secret"},
			entry{name: "../x", body: "x"})),
		all(gnuSparseTar(t, "bomb", 1<<30)),
		all(paxSparseTar(t, "bomb", 1<<30)),
	}
}
