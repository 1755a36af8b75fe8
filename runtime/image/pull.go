package image

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PullOptions tune Pull.
type PullOptions struct {
	// Insecure allows plain HTTP to the registry. Loopback and RFC 1918
	// registries use HTTP anyway.
	Insecure bool
	// Platform is "os/arch[/variant]"; empty means linux on the host's
	// architecture.
	Platform string
	// Auth, if set, are the credentials given with this pull.
	Auth *Credentials
	// Progress, if set, hears how each layer's download goes.
	Progress ProgressFunc
}

// Pull fetches ref from its registry and stores it under ref's canonical
// name and, for a tag, also under "repo@<digest>" (the digest the registry
// served, an index digest for multi-platform images). Credentials come from
// the docker config of the user running podd, if any, unless opts.Auth
// gives some. A registry with mirrors (Options.Mirrors) is tried through
// each mirror in order, then itself; the error names every endpoint tried.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (Image, error) {
	r, err := parseRef(ref, opts.Insecure)
	if err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	plat := hostPlatform()
	if opts.Platform != "" {
		p, err := v1.ParsePlatform(opts.Platform)
		if err != nil {
			return Image{}, fmt.Errorf("pull %s: platform %q: %w", ref, opts.Platform, err)
		}
		plat = *p
	}
	var desc *remote.Descriptor
	var errs []error
	for _, ep := range s.endpointsFor(r) {
		at, err := onEndpoint(r, ep)
		if err == nil {
			desc, err = remote.Get(at,
				remote.WithContext(ctx),
				remote.WithPlatform(plat),
				remote.WithAuthFromKeychain(keychain{opts.Auth}))
		}
		if err == nil {
			break
		}
		errs = append(errs, endpointError(ep, err))
		if ctx.Err() != nil {
			break
		}
	}
	if desc == nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, errAllEndpoints(errs))
	}
	img, err := desc.Image()
	if err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	if desc.MediaType.IsIndex() {
		release, err := s.writeIndex(ctx, desc.Digest, desc.Manifest)
		if err != nil {
			return Image{}, fmt.Errorf("pull %s: %w", ref, err)
		}
		defer release()
	}
	names := []string{refString(r)}
	if _, isTag := r.(name.Tag); isTag {
		names = append(names, repoString(r)+"@"+desc.Digest.String())
	}
	out, err := s.store(ctx, img, names, opts.Progress)
	if err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	return out, nil
}
