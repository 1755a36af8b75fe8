package image

import (
	"io"
	"time"
)

// Layer states a pull reports (LayerProgress.State).
const (
	LayerWaiting     = "Waiting"
	LayerDownloading = "Downloading"
	LayerExists      = "Already exists"
	LayerDone        = "Pull complete"
)

// LayerProgress is where the download of one layer stands.
type LayerProgress struct {
	// Digest is the layer's compressed digest.
	Digest string
	// Size is its compressed size, Done the bytes stored so far.
	Size, Done int64
	State      string
}

// ProgressFunc receives each layer's progress: every layer once as Waiting
// before any download, then changes, at most every progressInterval per
// layer while it downloads, and once as Done or Exists. It runs on the
// pulling goroutine and must not block.
type ProgressFunc func(LayerProgress)

// progressInterval spaces the Downloading reports of one layer.
const progressInterval = 100 * time.Millisecond

// progressReader reports the bytes read through it.
type progressReader struct {
	r    io.Reader
	p    LayerProgress
	fn   ProgressFunc
	last time.Time
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.p.Done += int64(n)
	if now := time.Now(); n > 0 && now.Sub(pr.last) >= progressInterval {
		pr.last = now
		pr.fn(pr.p)
	}
	return n, err
}
