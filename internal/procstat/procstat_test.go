package procstat

import (
	"errors"
	"os"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Stat
		ok   bool
	}{
		{"42 (sleep) S 7 42 42 0 -1", Stat{Comm: "sleep", State: 'S', PPid: 7}, true},
		{"42 (a) b) (c) Z 1 42 42 0 -1", Stat{Comm: "a) b) (c", State: 'Z', PPid: 1}, true},
		{"42 () R 0 0", Stat{Comm: "", State: 'R', PPid: 0}, true},
		{"42 sleep S 7", Stat{}, false},
		{"42 (sleep)", Stat{}, false},
		{"42 (sleep) S x", Stat{}, false},
		{"42 (sleep) SS 7", Stat{}, false},
	} {
		got, err := parse([]byte(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parse(%q) = %+v, %v; want %+v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestReadSelfAndMissing(t *testing.T) {
	st, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PPid != os.Getppid() || st.Ended() || st.Comm == "" {
		t.Errorf("own stat %+v (parent %d)", st, os.Getppid())
	}
	if _, err := Read(1 << 30); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat of no process: %v, want ErrNotExist", err)
	}
	if !(Stat{State: 'Z'}).Ended() || !(Stat{State: 'X'}).Ended() || (Stat{State: 'S'}).Ended() {
		t.Error("Ended")
	}
}
