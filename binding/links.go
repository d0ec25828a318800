package binding

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// A Link is what the Table needs to know of a network interface.
type Link struct {
	Name  string
	Index int
	MAC   net.HardwareAddr
}

// A LinkEvent is one message of a LinkSource subscription.
type LinkEvent struct {
	// Sync marks a full list: Links holds every interface that exists now,
	// and any interface not in it is gone.
	Sync  bool
	Links []Link
	// Otherwise the event is about Link alone: it exists, possibly under a
	// new name or with a new address, unless Deleted is set.
	Link    Link
	Deleted bool
}

// A LinkSource reports the network interfaces of the daemon's namespace. The
// Table uses netlink; tests inject events without a kernel.
type LinkSource interface {
	// Watch starts a subscription. The channel carries a Sync event first,
	// then every change in order. It is closed when ctx is done or the
	// subscription fails; the Table then calls Watch again, and the new Sync
	// event repairs whatever was missed.
	Watch(ctx context.Context) (<-chan LinkEvent, error)
}

// NetlinkLinks returns the LinkSource of the network namespace ns, through
// rtnetlink link notifications. netns.None() means the namespace of the
// process.
func NetlinkLinks(ns netns.NsHandle, log *slog.Logger) LinkSource {
	return &netlinkLinks{ns: ns, log: log}
}

type netlinkLinks struct {
	ns  netns.NsHandle
	log *slog.Logger
}

// linkEventBuffer is deep enough to absorb the burst of a host creating many
// TAPs at once while the Table rebuilds a snapshot.
const linkEventBuffer = 1024

// linkSocketBuffer is the kernel receive buffer of the subscription. When it
// overflows (ENOBUFS) the subscription ends and Watch is called again.
const linkSocketBuffer = 4 << 20

// dumpRetries bounds the retries of a link dump that the kernel interrupted
// because the list changed while it was read.
const dumpRetries = 10

// Watch subscribes first and lists second, so that no change falls between
// the two: a change that races with the list shows up again as an event,
// and replaying it after the list converges on the same state. The
// subscription does not ask for the existing links as well (ListExisting):
// the list has them, and a second dump of 10,000 links, each fully decoded
// by the library and replayed as an event, doubled the start-up work.
func (s *netlinkLinks) Watch(ctx context.Context) (<-chan LinkEvent, error) {
	updates := make(chan netlink.LinkUpdate, linkEventBuffer)
	done := make(chan struct{})
	var closing atomic.Bool
	ns := s.ns
	opts := netlink.LinkSubscribeOptions{
		Namespace:         &ns,
		ListExisting:      false,
		ReceiveBufferSize: linkSocketBuffer,
		ErrorCallback: func(err error) {
			switch {
			case closing.Load():
			case errors.Is(err, netlink.ErrDumpInterrupted):
				// The listing below is retried until complete.
				s.log.Debug("binding: link dump interrupted", "error", err)
			default:
				s.log.Warn("binding: link subscription", "error", err)
			}
		},
	}
	if err := netlink.LinkSubscribeWithOptions(updates, done, opts); err != nil {
		return nil, fmt.Errorf("binding: subscribe to link events: %w", err)
	}
	stop := func() {
		closing.Store(true)
		close(done)
		// The library's reader blocks on a full channel; drain it until it
		// notices the closed socket and closes the channel.
		for range updates {
		}
	}
	links, err := s.list()
	if err != nil {
		go stop()
		return nil, err
	}

	out := make(chan LinkEvent, 1)
	go func() {
		defer close(out)
		defer stop()
		if !sendLinkEvent(ctx, out, LinkEvent{Sync: true, Links: links}) {
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case u, ok := <-updates:
				if !ok {
					return
				}
				ev, ok := linkEventOf(u)
				if ok && !sendLinkEvent(ctx, out, ev) {
					return
				}
			}
		}
	}()
	return out, nil
}

func sendLinkEvent(ctx context.Context, out chan<- LinkEvent, ev LinkEvent) bool {
	select {
	case out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// list returns every link of the namespace, retrying interrupted dumps.
//
// It reads the dump itself instead of calling netlink's LinkList, which
// decodes every attribute of every link (statistics, link info, ...) into
// a Link object: of each interface the Table needs only the index, name and
// hardware address, and on a host with 10,000 TAPs the full decoding was a
// tenth of the daemon's start-up.
func (s *netlinkLinks) list() ([]Link, error) {
	sock, err := nl.GetNetlinkSocketAt(s.ns, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("binding: netlink socket: %w", err)
	}
	defer sock.Close()
	if err := sock.SetReceiveTimeout(&nl.SocketTimeoutTv); err != nil {
		return nil, fmt.Errorf("binding: netlink socket: %w", err)
	}
	handle := &nl.SocketHandle{Socket: sock}
	for try := 0; ; try++ {
		req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
		req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
		req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: handle}
		var links []Link
		err := req.ExecuteIter(unix.NETLINK_ROUTE, unix.RTM_NEWLINK, func(msg []byte) bool {
			if k, ok := parseLinkMessage(msg); ok {
				links = append(links, k)
			}
			return true
		})
		if errors.Is(err, netlink.ErrDumpInterrupted) && try < dumpRetries {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("binding: list links: %w", err)
		}
		return links, nil
	}
}

// parseLinkMessage reads the index, name and hardware address out of the
// payload of an RTM_NEWLINK message: an ifinfomsg followed by attributes.
func parseLinkMessage(msg []byte) (Link, bool) {
	if len(msg) < unix.SizeofIfInfomsg {
		return Link{}, false
	}
	info := nl.DeserializeIfInfomsg(msg)
	k := Link{Index: int(info.Index)}
	native := nl.NativeEndian()
	for attrs := msg[unix.SizeofIfInfomsg:]; len(attrs) >= unix.SizeofRtAttr; {
		n := int(native.Uint16(attrs[0:2]))
		if n < unix.SizeofRtAttr || n > len(attrs) {
			break
		}
		data := attrs[unix.SizeofRtAttr:n]
		switch native.Uint16(attrs[2:4]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER) {
		case unix.IFLA_IFNAME:
			k.Name = string(bytes.TrimRight(data, "\x00"))
		case unix.IFLA_ADDRESS:
			// An all-zero address (loopback) is no address, as netlink's
			// own decoding has it.
			if !isZero(data) {
				k.MAC = slices.Clone(net.HardwareAddr(data))
			}
		}
		attrs = attrs[min(nlAlign(n), len(attrs)):]
	}
	return k, k.Name != "" && k.Index > 0
}

// nlAlign rounds a netlink attribute length up to its 4-byte alignment.
func nlAlign(n int) int { return (n + unix.NLA_ALIGNTO - 1) &^ (unix.NLA_ALIGNTO - 1) }

// linkEventOf converts a netlink notification. Notifications of the bridge
// family describe bridge ports, not links: a port leaving its bridge sends
// RTM_DELLINK for an interface that still exists, so they are skipped.
func linkEventOf(u netlink.LinkUpdate) (LinkEvent, bool) {
	if u.Family == unix.AF_BRIDGE || u.Link == nil {
		return LinkEvent{}, false
	}
	return LinkEvent{Link: linkOf(u.Link.Attrs()), Deleted: u.Header.Type == unix.RTM_DELLINK}, true
}

func linkOf(a *netlink.LinkAttrs) Link {
	return Link{Name: a.Name, Index: a.Index, MAC: slices.Clone(a.HardwareAddr)}
}

// sameLink reports whether two descriptions of a link are the same to the
// Table; the kernel repeats RTM_NEWLINK for every flag and carrier change.
func sameLink(a, b Link) bool {
	return a.Name == b.Name && a.Index == b.Index && bytes.Equal(a.MAC, b.MAC)
}
