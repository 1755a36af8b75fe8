package spec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// userDB reads the image's /etc/passwd and /etc/group lazily, inside the
// rootfs; github.com/moby/sys/user parses them.
type userDB struct {
	rootfs string
	users  []user.User
	groups []user.Group
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
	if db.users, err = user.ParsePasswdFilter(strings.NewReader(pw), func(u user.User) bool {
		return validID(u.Uid) && validID(u.Gid)
	}); err != nil {
		return fmt.Errorf("parse /etc/passwd of the image: %w", err)
	}
	gr, err := readImageFile(db.rootfs, "etc/group")
	if err != nil {
		return err
	}
	if db.groups, err = user.ParseGroupFilter(strings.NewReader(gr), func(g user.Group) bool {
		return validID(g.Gid)
	}); err != nil {
		return fmt.Errorf("parse /etc/group of the image: %w", err)
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

// validID reports whether a parsed id fits a uid_t/gid_t.
func validID(id int) bool { return id >= 0 && id <= math.MaxUint32 }

func (db *userDB) userByName(name string) (user.User, bool, error) {
	if err := db.load(); err != nil {
		return user.User{}, false, err
	}
	for _, u := range db.users {
		if u.Name == name {
			return u, true, nil
		}
	}
	return user.User{}, false, nil
}

func (db *userDB) userByID(uid uint32) (user.User, bool, error) {
	if err := db.load(); err != nil {
		return user.User{}, false, err
	}
	for _, u := range db.users {
		if u.Uid == int(uid) {
			return u, true, nil
		}
	}
	return user.User{}, false, nil
}

func (db *userDB) groupByName(name string) (user.Group, bool, error) {
	if err := db.load(); err != nil {
		return user.Group{}, false, err
	}
	for _, g := range db.groups {
		if g.Name == name {
			return g, true, nil
		}
	}
	return user.Group{}, false, nil
}

// memberOf lists the gids of the groups that name a user as a member.
func (db *userDB) memberOf(login string) ([]uint32, error) {
	if err := db.load(); err != nil {
		return nil, err
	}
	var gids []uint32
	for _, g := range db.groups {
		for _, m := range g.List {
			if m == login {
				gids = append(gids, uint32(g.Gid))
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
	var entry user.User
	var found bool
	if id, ok := parseID(userPart); ok {
		uid = id
		entry, found, err = db.userByID(id)
	} else {
		entry, found, err = db.userByName(userPart)
		if err == nil && !found {
			return 0, 0, "", fmt.Errorf("user %q of the image is not in its /etc/passwd", userPart)
		}
		uid = uint32(entry.Uid)
	}
	if err != nil {
		return 0, 0, "", err
	}
	if found {
		gid, name = uint32(entry.Gid), entry.Name
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
	return uid, uint32(g.Gid), name, nil
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
			gid, name = uint32(e.Gid), e.Name
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
