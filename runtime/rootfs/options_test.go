package rootfs

import (
	"fmt"
	"strings"
	"testing"
)

func TestOverlayOptionsOrderNewestFirst(t *testing.T) {
	data, chdir, err := overlayOptions([]string{"/l/base", "/l/mid", "/l/top"}, "/c/upper", "/c/work", 4095)
	if err != nil {
		t.Fatal(err)
	}
	want := "lowerdir=/l/top:/l/mid:/l/base,upperdir=/c/upper,workdir=/c/work"
	if data != want || chdir != "" {
		t.Errorf("got %q chdir %q, want %q", data, chdir, want)
	}
}

func TestOverlayOptionsDropsRepeatedLayers(t *testing.T) {
	data, _, err := overlayOptions([]string{"/l/empty", "/l/a", "/l/empty", "/l/b"}, "/u", "/w", 4095)
	if err != nil {
		t.Fatal(err)
	}
	if want := "lowerdir=/l/b:/l/empty:/l/a,upperdir=/u,workdir=/w"; data != want {
		t.Errorf("got %q, want %q", data, want)
	}
}

func TestOverlayOptionsWithoutUpperDir(t *testing.T) {
	data, chdir, err := overlayOptions([]string{"/l/base", "/l/top"}, "", "", 4095)
	if err != nil {
		t.Fatal(err)
	}
	if want := "lowerdir=/l/top:/l/base"; data != want || chdir != "" {
		t.Errorf("got %q chdir %q, want %q", data, chdir, want)
	}
}

func TestOverlayOptionsLongLowerDirs(t *testing.T) {
	parent := "/var/lib/podd/images/" + strings.Repeat("p", 150) + "/layers"
	var lowers []string
	for i := 0; i < 40; i++ {
		lowers = append(lowers, fmt.Sprintf("%s/%064x", parent, i))
	}
	data, chdir, err := overlayOptions(lowers, "/c/upper", "/c/work", 4095)
	if err != nil {
		t.Fatal(err)
	}
	if chdir != parent {
		t.Errorf("chdir = %q, want %q", chdir, parent)
	}
	if len(data) > 4095 || !strings.HasPrefix(data, fmt.Sprintf("lowerdir=%064x:", 39)) ||
		!strings.Contains(data, fmt.Sprintf(":%064x,upperdir=/c/upper,workdir=/c/work", 0)) {
		t.Errorf("data = %q", data)
	}
}

func TestOverlayOptionsErrors(t *testing.T) {
	many := make([]string, 500)
	for i := range many {
		many[i] = fmt.Sprintf("/l/%064x", i)
	}
	for name, tc := range map[string]struct {
		lowers      []string
		upper, work string
	}{
		"no lower dirs":     {nil, "/u", "/w"},
		"relative lower":    {[]string{"l"}, "/u", "/w"},
		"colon in lower":    {[]string{"/l:x"}, "/u", "/w"},
		"comma in upper":    {[]string{"/l"}, "/u,x", "/w"},
		"too long even rel": {many, "/u", "/w"},
	} {
		if _, _, err := overlayOptions(tc.lowers, tc.upper, tc.work, 4095); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCommonParent(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"/a/b/c", "/a/b/d"}, "/a/b"},
		{[]string{"/a/b/c"}, "/a/b"},
		{[]string{"/a/bc/x", "/a/b/y"}, "/a"},
		{[]string{"/x/1", "/y/2"}, "/"},
	} {
		if got := commonParent(tc.in); got != tc.want {
			t.Errorf("commonParent(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
