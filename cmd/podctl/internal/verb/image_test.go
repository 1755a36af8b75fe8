package verb

import (
	"bytes"
	"strings"
	"testing"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// On a terminal the pull redraws one line per layer in place: the second
// draw moves the cursor back over the first and clears each line.
func TestPullRendererRedrawsBarsOnATerminal(t *testing.T) {
	var out bytes.Buffer
	r := &pullRenderer{out: &out, tty: true, states: map[string]string{}}
	r.render([]*poddv1.LayerProgress{
		{Digest: "sha256:aaaaaaaaaaaaaaaa", Size: 3_400_000, Done: 1_200_000, State: "Downloading"},
		{Digest: "sha256:bbbbbbbbbbbbbbbb", Size: 10, Done: 10, State: "Already exists"},
	})
	first := out.String()
	want := "\x1b[2Kaaaaaaaaaaaa: Downloading [==========>                   ] 1.20MB/3.40MB\n" +
		"\x1b[2Kbbbbbbbbbbbb: Already exists\n"
	if first != want {
		t.Fatalf("first draw %q, want %q", first, want)
	}
	out.Reset()
	r.render([]*poddv1.LayerProgress{
		{Digest: "sha256:aaaaaaaaaaaaaaaa", Size: 3_400_000, Done: 3_400_000, State: "Pull complete"},
		{Digest: "sha256:bbbbbbbbbbbbbbbb", Size: 10, Done: 10, State: "Already exists"},
	})
	if got := out.String(); !strings.HasPrefix(got, "\x1b[2A\x1b[2Kaaaaaaaaaaaa: Pull complete\n") {
		t.Errorf("second draw %q does not go back two lines and redraw", got)
	}
}

func TestProgressBarAndSizes(t *testing.T) {
	for _, tc := range []struct {
		done, total int64
		want        string
	}{{0, 100, "[>         ]"}, {50, 100, "[=====>    ]"}, {100, 100, "[==========]"}, {5, 0, "[>         ]"}, {200, 100, "[==========]"}} {
		if got := progressBar(tc.done, tc.total, 10); got != tc.want {
			t.Errorf("progressBar(%d, %d) = %q, want %q", tc.done, tc.total, got, tc.want)
		}
	}
	for n, want := range map[int64]string{999: "999B", 1500: "1.50kB", 2_500_000: "2.50MB", 3_000_000_000: "3.00GB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
