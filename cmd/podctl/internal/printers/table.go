package printers

import (
	"io"
	"strings"
	"unicode/utf8"
)

// Layout of kubectl's table writer: a cell is at least minCellWidth wide and
// cellPadding wider than its longest text.
const (
	minCellWidth = 6
	cellPadding  = 3
)

// Table writes rows of cells aligned in columns, as kubectl's tab writer
// does. Column widths are remembered across calls and never shrink, so rows
// printed later (a watch) stay aligned with the header. The last cell of a
// row is never padded.
type Table struct {
	out    io.Writer
	widths []int
}

// NewTable returns a Table that writes to out.
func NewTable(out io.Writer) *Table {
	return &Table{out: out}
}

// Write lays out rows together, widening columns as needed, and writes them.
func (t *Table) Write(rows ...[]string) error {
	for _, row := range rows {
		for i := 0; i < len(row)-1; i++ {
			w := utf8.RuneCountInString(row[i]) + cellPadding
			w = max(w, minCellWidth)
			if i >= len(t.widths) {
				t.widths = append(t.widths, w)
			} else {
				t.widths[i] = max(t.widths[i], w)
			}
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", t.widths[i]-utf8.RuneCountInString(cell)))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(t.out, b.String())
	return err
}
