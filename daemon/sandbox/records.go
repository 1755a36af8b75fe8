package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// readRecords reads the JSON record of each entry of dir, in name order:
// file gives an entry's record file, id a record's ID. An entry without a
// readable record, or whose record names another ID, is left alone with a
// warning naming it as what; a missing dir has none.
func readRecords[T any](dir string, file func(name string) string, what string, id func(*T) string) ([]T, error) {
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read the CRI %s records in %s: %w", what, dir, err)
	}
	var out []T
	for _, de := range ents {
		data, err := os.ReadFile(file(de.Name()))
		if err != nil {
			slog.Warn("CRI "+what+" without a record; left alone", what, de.Name(), "err", err)
			continue
		}
		var rec T
		if err := json.Unmarshal(data, &rec); err != nil || id(&rec) != de.Name() {
			slog.Warn("unreadable CRI "+what+" record; left alone", what, de.Name(), "err", err)
			continue
		}
		out = append(out, rec)
	}
	return out, nil
}
