package spec

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// passwdEntry and groupEntry are the fields podd reads from the image's
// /etc/passwd and /etc/group.
type passwdEntry struct {
	name     string
	uid, gid uint32
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// userDB reads the image's user and group files lazily, inside the rootfs.
type userDB struct {
	rootfs string
	users  []passwdEntry
	groups []groupEntry
	loaded bool
}

func (db *userDB) load() error {
	if db.loaded {
		return nil
	}
	db.loaded = true
	pw, err := readImageFile(db.rootfs, "etc/passwd")
	if err != nil {
		return err
	}
	for _, f := range splitColon(pw, 4) {
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 == nil && err2 == nil {
			db.users = append(db.users, passwdEntry{name: f[0], uid: uint32(uid), gid: uint32(gid)})
		}
	}
	gr, err := readImageFile(db.rootfs, "etc/group")
	if err != nil {
		return err
	}
	for _, f := range splitColon(gr, 4) {
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		g := groupEntry{name: f[0], gid: uint32(gid)}
		if f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		db.groups = append(db.groups, g)
	}
	return nil
}

// readImageFile reads a file of the image without following links out of it;
// a missing file reads as empty.
func readImageFile(rootfs, name string) (string, error) {
	f, err := pathrs.OpenInRoot(rootfs, name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("open /%s of the image: %w", name, err)
	}
	defer f.Close()
	r, err := pathrs.Reopen(f, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return "", fmt.Errorf("open /%s of the image: %w", name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("read /%s of the image: %w", name, err)
	}
	return string(b), nil
}

// splitColon returns the colon-separated fields of each non-comment line
// that has at least min fields.
func splitColon(text string, min int) [][]string {
	var out [][]string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Split(line, ":"); len(f) >= min {
			out = append(out, f)
		}
	}
	return out
}

func (db *userDB) userByName(name string) (passwdEntry, bool, error) {
	if err := db.load(); err != nil {
		return passwdEntry{}, false, err
	}
	for _, u := range db.users {
		if u.name == name {
			return u, true, nil
		}
	}
	return passwdEntry{}, false, nil
}

func (db *userDB) userByID(uid uint32) (passwdEntry, bool, error) {
	if err := db.load(); err != nil {
		return passwdEntry{}, false, err
	}
	for _, u := range db.users {
		if u.uid == uid {
			return u, true, nil
		}
	}
	return passwdEntry{}, false, nil
}

func (db *userDB) groupByName(name string) (groupEntry, bool, error) {
	if err := db.load(); err != nil {
		return groupEntry{}, false, err
	}
	for _, g := range db.groups {
		if g.name == name {
			return g, true, nil
		}
	}
	return groupEntry{}, false, nil
}

// memberOf lists the gids of the groups that name a user as a member.
func (db *userDB) memberOf(user string) ([]uint32, error) {
	if err := db.load(); err != nil {
		return nil, err
	}
	var gids []uint32
	for _, g := range db.groups {
		for _, m := range g.members {
			if m == user {
				gids = append(gids, g.gid)
			}
		}
	}
	return gids, nil
}

func parseID(s string) (uint32, bool) {
	v, err := strconv.ParseUint(s, 10, 32)
	return uint32(v), err == nil
}

// imageUser resolves an image USER string to uid, gid and user name.
func (db *userDB) imageUser(spec string) (uid, gid uint32, name string, err error) {
	if spec == "" {
		return 0, 0, "root", nil
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	var entry passwdEntry
	var found bool
	if id, ok := parseID(userPart); ok {
		uid = id
		entry, found, err = db.userByID(id)
	} else {
		entry, found, err = db.userByName(userPart)
		if err == nil && !found {
			return 0, 0, "", fmt.Errorf("user %q of the image is not in its /etc/passwd", userPart)
		}
		uid = entry.uid
	}
	if err != nil {
		return 0, 0, "", err
	}
	if found {
		gid, name = entry.gid, entry.name
	}
	if !hasGroup {
		return uid, gid, name, nil
	}
	if id, ok := parseID(groupPart); ok {
		return uid, id, name, nil
	}
	g, ok, err := db.groupByName(groupPart)
	if err != nil {
		return 0, 0, "", err
	}
	if !ok {
		return 0, 0, "", fmt.Errorf("group %q of the image is not in its /etc/group", groupPart)
	}
	return uid, g.gid, name, nil
}

// resolveUser decides the process's user: securityContext runAsUser and
// runAsGroup (container over pod) win over the image USER; supplementary
// groups are the image's group memberships (unless the pod's
// supplementalGroupsPolicy is Strict), supplementalGroups and fsGroup.
func resolveUser(rootfs string, pod *corev1.Pod, c *corev1.Container, imageSpec string) (*shimv1.User, error) {
	db := &userDB{rootfs: rootfs}
	psc := pod.Spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	csc := c.SecurityContext
	if csc == nil {
		csc = &corev1.SecurityContext{}
	}
	runAsUser := pick(csc.RunAsUser, psc.RunAsUser)
	runAsGroup := pick(csc.RunAsGroup, psc.RunAsGroup)
	var uid, gid uint32
	var name string
	if runAsUser != nil {
		uid = uint32(*runAsUser)
		e, found, err := db.userByID(uid)
		if err != nil {
			return nil, err
		}
		if found {
			gid, name = e.gid, e.name
		}
	} else {
		var err error
		if uid, gid, name, err = db.imageUser(imageSpec); err != nil {
			return nil, err
		}
	}
	if runAsGroup != nil {
		gid = uint32(*runAsGroup)
	}
	if nonRoot := pick(csc.RunAsNonRoot, psc.RunAsNonRoot); nonRoot != nil && *nonRoot && uid == 0 {
		return nil, fmt.Errorf("container %q has runAsNonRoot and would run as root (uid 0)", c.Name)
	}
	var extra []uint32
	strict := psc.SupplementalGroupsPolicy != nil && *psc.SupplementalGroupsPolicy == corev1.SupplementalGroupsPolicyStrict
	if name != "" && !strict {
		member, err := db.memberOf(name)
		if err != nil {
			return nil, err
		}
		extra = append(extra, member...)
	}
	for _, g := range psc.SupplementalGroups {
		extra = append(extra, uint32(g))
	}
	if psc.FSGroup != nil {
		extra = append(extra, uint32(*psc.FSGroup))
	}
	return &shimv1.User{Uid: uid, Gid: gid, AdditionalGids: dedupe(extra, gid)}, nil
}

func pick[T any](first, second *T) *T {
	if first != nil {
		return first
	}
	return second
}

func dedupe(ids []uint32, skip uint32) []uint32 {
	seen := map[uint32]bool{skip: true}
	var out []uint32
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
