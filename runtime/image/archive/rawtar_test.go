package archive

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"
)

// rawBlock builds one 512-byte ustar header block by hand, for the entries
// Go's tar writer refuses to write (sparse headers, PAX sparse records).
// patch may edit the block before the checksum is computed.
func rawBlock(name string, typ byte, size int64, patch func(b []byte)) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:108], "0000644\x00")
	copy(b[108:116], "0000000\x00")
	copy(b[116:124], "0000000\x00")
	copy(b[124:136], fmt.Sprintf("%011o\x00", size))
	copy(b[136:148], "14544540000\x00")
	b[156] = typ
	copy(b[257:265], "ustar\x0000")
	if patch != nil {
		patch(b)
	}
	copy(b[148:156], "        ")
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// pad rounds data up to whole blocks.
func pad(data []byte) []byte {
	if r := len(data) % 512; r != 0 {
		data = append(data, make([]byte, 512-r)...)
	}
	return data
}

// gnuSparseTar is an old-GNU sparse entry ('S') holding 512 bytes of data
// that declares realSize bytes: the bomb shape (a small archive entry that
// a naive unpacker writes out in full).
func gnuSparseTar(t testing.TB, name string, realSize int64) *bytes.Reader {
	t.Helper()
	hdr := rawBlock(name, 'S', 512, func(b []byte) {
		copy(b[257:265], "ustar  \x00") // GNU magic
		copy(b[386:398], fmt.Sprintf("%011o\x00", realSize-512))
		copy(b[398:410], fmt.Sprintf("%011o\x00", 512))
		copy(b[483:495], fmt.Sprintf("%011o\x00", realSize))
	})
	var buf bytes.Buffer
	buf.Write(hdr)
	buf.Write(bytes.Repeat([]byte("A"), 512))
	buf.Write(make([]byte, 1024))
	return bytes.NewReader(buf.Bytes())
}

// paxSparseTar is a PAX 1.0 GNU sparse entry: the map is in the data, the
// real size in the PAX records.
func paxSparseTar(t testing.TB, name string, realSize int64) *bytes.Reader {
	t.Helper()
	rec := func(k, v string) string {
		s := " " + k + "=" + v + "\n"
		n := len(s)
		for len(strconv.Itoa(n))+len(s) != n {
			n = len(strconv.Itoa(n)) + len(s)
		}
		return strconv.Itoa(n) + s
	}
	recs := rec("GNU.sparse.major", "1") + rec("GNU.sparse.minor", "0") +
		rec("GNU.sparse.name", name) + rec("GNU.sparse.realsize", strconv.FormatInt(realSize, 10))
	sparseMap := pad([]byte(fmt.Sprintf("1\n%d\n512\n", realSize-512)))
	var buf bytes.Buffer
	buf.Write(rawBlock("PaxHeaders/"+name, 'x', int64(len(recs)), nil))
	buf.Write(pad([]byte(recs)))
	buf.Write(rawBlock("GNUSparseFile.0/"+name, '0', int64(len(sparseMap)+512), nil))
	buf.Write(sparseMap)
	buf.Write(bytes.Repeat([]byte("A"), 512))
	buf.Write(make([]byte, 1024))
	return bytes.NewReader(buf.Bytes())
}
