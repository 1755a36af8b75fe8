package sandbox

import (
	"os"
	"path/filepath"
	"testing"
)

// A restart restores what it can read and leaves the rest alone: a
// record that is not JSON, one naming another ID (a directory renamed or
// copied) and an entry with no record are each skipped, never fatal.
func TestReadRecordsSkipsWhatItCannotTrust(t *testing.T) {
	dir := t.TempDir()
	file := func(name string) string { return filepath.Join(dir, name, "record.json") }
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		if data != "" {
			if err := os.WriteFile(file(name), []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("b", `{"ID":"b"}`)
	write("a", `{"ID":"a"}`)
	write("other", `{"ID":"b"}`)
	write("torn", `{"ID":"to`)
	write("empty", "")
	recs, err := readRecords(dir, file, "sandbox", func(r *Record) string { return r.ID })
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != "a" || recs[1].ID != "b" {
		t.Fatalf("readRecords = %+v, want the records of a and b, in that order", recs)
	}
	none, err := readRecords(filepath.Join(dir, "missing"), file, "sandbox", func(r *Record) string { return r.ID })
	if err != nil || len(none) != 0 {
		t.Fatalf("readRecords of a missing dir = %v, %v; want none and no error", none, err)
	}
}
