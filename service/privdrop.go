package service

import (
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"strconv"

	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// KeptCapabilities are what the daemon needs after start: CAP_NET_ADMIN
// for NFQUEUE, netlink routing state and the network sysctls, CAP_NET_RAW
// for the AF_PACKET socket that writes replies.
func KeptCapabilities() []cap.Value { return []cap.Value{cap.NET_ADMIN, cap.NET_RAW} }

// DropPrivileges switches the whole process (every thread: libcap applies
// each change to all of them) to the user called name and its primary
// group, keeping only KeptCapabilities in the permitted and effective sets
// and in the bounding set, as the original did with libcap-ng. It is done
// after everything that needs more (the pidfile, the control socket) is
// open.
func DropPrivileges(name string, log *slog.Logger) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("config: [general] user: %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return fmt.Errorf("config: [general] user %s: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return fmt.Errorf("config: [general] user %s: gid %q: %w", name, u.Gid, err)
	}
	if os.Geteuid() == uid {
		log.Info("already running as the configured user", "user", name)
		return nil
	}
	keep := KeptCapabilities()
	var others []cap.Value
	for v := cap.Value(0); v < cap.MaxBits(); v++ {
		if v != cap.NET_ADMIN && v != cap.NET_RAW {
			others = append(others, v)
		}
	}
	// The bounding set first: dropping from it needs CAP_SETPCAP, which
	// the final set does not keep.
	if err := cap.DropBound(others...); err != nil {
		return fmt.Errorf("privileges: dropping the capability bounding set: %w", err)
	}
	if err := cap.SetGroups(gid); err != nil {
		return fmt.Errorf("privileges: switching to group %d: %w", gid, err)
	}
	if err := cap.SetUID(uid); err != nil {
		return fmt.Errorf("privileges: switching to user %s (%d): %w", name, uid, err)
	}
	set := cap.NewSet()
	if err := set.SetFlag(cap.Permitted, true, keep...); err != nil {
		return fmt.Errorf("privileges: %w", err)
	}
	if err := set.SetFlag(cap.Effective, true, keep...); err != nil {
		return fmt.Errorf("privileges: %w", err)
	}
	if err := set.SetProc(); err != nil {
		return fmt.Errorf("privileges: keeping only %v: %w", keep, err)
	}
	log.Info("dropped privileges", "user", name, "uid", uid, "gid", gid, "capabilities", cap.GetProc().String())
	return nil
}
