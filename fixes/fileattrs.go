package fixes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Owner is a file's user and group.
type Owner struct {
	UID int `json:"uid"`
	GID int `json:"gid"`
}

// fileAttrs is what a replaced file keeps besides its bytes: owner, mode,
// and its extended attributes, which carry the POSIX ACLs
// (system.posix_acl_access, system.posix_acl_default) and the SELinux
// label (security.selinux).
type fileAttrs struct {
	Owner  *Owner
	Mode   fs.FileMode
	Xattrs map[string][]byte
}

// readAttrs returns fp's attributes; nil when it does not exist.
func readAttrs(fp string) (*fileAttrs, error) {
	fi, err := os.Stat(fp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	a := &fileAttrs{Mode: fi.Mode().Perm()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		a.Owner = &Owner{UID: int(st.Uid), GID: int(st.Gid)}
	}
	a.Xattrs, err = readXattrs(fp)
	return a, err
}

func readXattrs(fp string) (map[string][]byte, error) {
	size, err := unix.Listxattr(fp, nil)
	if errors.Is(err, unix.ENOTSUP) || (err == nil && size == 0) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list the extended attributes of %s: %w", fp, err)
	}
	buf := make([]byte, size)
	if size, err = unix.Listxattr(fp, buf); err != nil {
		return nil, fmt.Errorf("list the extended attributes of %s: %w", fp, err)
	}
	out := map[string][]byte{}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		n, err := unix.Getxattr(fp, name, nil)
		if err != nil {
			return nil, fmt.Errorf("read %s of %s: %w", name, fp, err)
		}
		v := make([]byte, n)
		if n, err = unix.Getxattr(fp, name, v); err != nil {
			return nil, fmt.Errorf("read %s of %s: %w", name, fp, err)
		}
		out[name] = v[:n]
	}
	return out, nil
}

// apply gives the open file f these attributes: owner, the extended
// attributes, then the mode last, as chmod does on a file with an ACL (its
// group bits become the ACL's mask; a recorded mode already shows it).
func (a *fileAttrs) apply(f *os.File) error {
	if a.Owner != nil {
		if err := f.Chown(a.Owner.UID, a.Owner.GID); err != nil {
			return err
		}
	}
	for name, v := range a.Xattrs {
		if err := unix.Fsetxattr(int(f.Fd()), name, v, 0); err != nil && !errors.Is(err, unix.ENOTSUP) {
			return fmt.Errorf("set %s on %s: %w", name, f.Name(), err)
		}
	}
	return f.Chmod(a.Mode)
}

// attrsDiffer names what of fp's owner and extended attributes differs
// from the recorded state, "" when nothing does.
func attrsDiffer(fp string, want FileState) string {
	got, err := readAttrs(fp)
	if err != nil || got == nil {
		return "owner and extended attributes"
	}
	var what []string
	if got.Owner == nil || *got.Owner != *want.Owner {
		what = append(what, "owner")
	}
	if len(got.Xattrs) != len(want.Xattrs) {
		what = append(what, "extended attributes")
	} else {
		for k, v := range want.Xattrs {
			if string(got.Xattrs[k]) != string(v) {
				what = append(what, "extended attributes")
				break
			}
		}
	}
	return strings.Join(what, " and ")
}

// syncDir makes a rename or removal in dir durable: the file's data was
// synced, but its name lives in the directory.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// selinuxOn reports whether SELinux is enabled (selinuxfs mounted).
var selinuxOn = func() bool {
	_, err := os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}

var lookPath = exec.LookPath

// relabel gives a file tsdoctor created the label the policy wants for its
// path (a unit under /etc/systemd/system needs systemd_unit_file_t, which a
// file renamed from a temporary one does not get), where SELinux is on and
// restorecon exists. A replaced file kept its own label.
func (h *Host) relabel(fp string) error {
	if !selinuxOn() {
		return nil
	}
	if _, err := lookPath("restorecon"); err != nil {
		return nil
	}
	_, err := h.run(context.Background(), []string{"restorecon", filepath.Clean(fp)})
	return err
}
