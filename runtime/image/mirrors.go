package image

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Mirrors maps a registry host to the endpoints tried, in order, before the
// registry itself when pulling from it: a pull-through cache, or a local
// registry standing in for an upstream one. Keys are hosts as in image
// references ("registry.k8s.io", "docker.io", "localhost:5000"); values are
// "http://host[:port]" or "https://host[:port]" URLs.
type Mirrors map[string][]string

// CheckMirrors reports the first malformed entry of m, naming it.
func CheckMirrors(m Mirrors) error {
	_, err := parseMirrors(m)
	return err
}

// endpoint is one place to pull a registry's repositories from.
type endpoint struct {
	// url is what the user wrote ("" for the registry itself).
	url      string
	host     string
	insecure bool
}

// parseMirrors checks m and keys it by canonical registry host.
func parseMirrors(m Mirrors) (map[string][]endpoint, error) {
	out := map[string][]endpoint{}
	for host, urls := range m {
		if _, err := name.NewRegistry(host, name.StrictValidation); err != nil || host == "" || strings.Contains(host, "/") {
			return nil, fmt.Errorf("registry mirrors: %q is not a registry host", host)
		}
		if len(urls) == 0 {
			return nil, fmt.Errorf("registry mirrors: %s: no endpoint", host)
		}
		key := canonicalHost(host)
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("registry mirrors: %s is given twice (as %s)", host, key)
		}
		for _, raw := range urls {
			ep, err := parseEndpoint(raw)
			if err != nil {
				return nil, fmt.Errorf("registry mirrors: %s: %w", host, err)
			}
			out[key] = append(out[key], ep)
		}
	}
	return out, nil
}

func parseEndpoint(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("endpoint %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return endpoint{}, fmt.Errorf("endpoint %q: want an http:// or https:// URL", raw)
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return endpoint{}, fmt.Errorf("endpoint %q: want scheme://host[:port] and nothing else", raw)
	}
	if _, err := name.NewRegistry(u.Host, name.StrictValidation); err != nil {
		return endpoint{}, fmt.Errorf("endpoint %q: %w", raw, err)
	}
	return endpoint{url: raw, host: u.Host, insecure: u.Scheme == "http"}, nil
}

// canonicalHost spells a registry host the way go-containerregistry
// reports it: Docker Hub's names all become index.docker.io.
func canonicalHost(h string) string {
	switch h = strings.ToLower(h); h {
	case dockerHub, "registry-1.docker.io", name.DefaultRegistry:
		return name.DefaultRegistry
	}
	return h
}

// endpointsFor lists where to pull r from: its mirrors in order, then the
// registry itself (url "").
func (s *Store) endpointsFor(r name.Reference) []endpoint {
	eps := append([]endpoint(nil), s.mirrors[canonicalHost(r.Context().RegistryStr())]...)
	return append(eps, endpoint{host: r.Context().RegistryStr()})
}

// onEndpoint is r with its registry replaced by ep's host.
func onEndpoint(r name.Reference, ep endpoint) (name.Reference, error) {
	if ep.url == "" {
		return r, nil
	}
	var opts []name.Option
	if ep.insecure {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(ep.host, opts...)
	if err != nil {
		return nil, err
	}
	repo := reg.Repo(r.Context().RepositoryStr())
	switch r := r.(type) {
	case name.Digest:
		return repo.Digest(r.DigestStr()), nil
	case name.Tag:
		return repo.Tag(r.TagStr()), nil
	}
	return nil, fmt.Errorf("reference %s is neither a tag nor a digest", r)
}

// Credentials are registry credentials given with one pull (a CRI client
// passes them in PullImage). They are sent to Host only, or to every
// endpoint the pull contacts (mirrors included) when Host is empty; other
// hosts get the credentials of podd's docker config, if any.
type Credentials struct {
	Host          string
	Username      string
	Password      string
	IdentityToken string
	RegistryToken string
}

// keychain resolves the pull's credentials for a registry.
type keychain struct{ creds *Credentials }

func (k keychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

func (k keychain) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	c := k.creds
	if c != nil && *c != (Credentials{Host: c.Host}) && (c.Host == "" || canonicalHost(c.Host) == canonicalHost(target.RegistryStr())) {
		return authn.FromConfig(authn.AuthConfig{
			Username: c.Username, Password: c.Password,
			IdentityToken: c.IdentityToken, RegistryToken: c.RegistryToken,
		}), nil
	}
	return authn.Resolve(ctx, authn.DefaultKeychain, target)
}

// endpointError names the endpoint a pull attempt failed on.
func endpointError(ep endpoint, err error) error {
	if ep.url == "" {
		return fmt.Errorf("%s: %w", ep.host, err)
	}
	return fmt.Errorf("mirror %s: %w", ep.url, err)
}

// errAllEndpoints joins the failures of every endpoint tried.
func errAllEndpoints(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
