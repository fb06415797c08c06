package ports

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Setup renames each port's NIC to its kernel name and brings it up, through h. A link that already has
// its name is only brought up, so Setup is idempotent. Renames go through temporary names, so ports may
// swap names (eth1 becoming ge-0-0-0 while a stale ge-0-0-0 exists). Failures are collected per port.
func Setup(h *netlink.Handle, ports []Port) error {
	type pending struct {
		p    Port
		link netlink.Link
	}
	var errs []error
	var todo []pending
	for i, p := range ports {
		link, err := h.LinkByName(p.NIC.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("port %s: finding link %s: %w", p.Junos, p.NIC.Name, err))
			continue
		}
		if link.Attrs().Name != p.Kernel {
			if err := h.LinkSetDown(link); err != nil {
				errs = append(errs, fmt.Errorf("port %s: setting %s down to rename it: %w", p.Junos, p.NIC.Name, err))
				continue
			}
			tmp := fmt.Sprintf("pal-tmp%d", i)
			if err := h.LinkSetName(link, tmp); err != nil {
				errs = append(errs, fmt.Errorf("port %s: renaming %s to %s: %w", p.Junos, p.NIC.Name, tmp, err))
				continue
			}
		}
		todo = append(todo, pending{p, link})
	}
	for _, t := range todo {
		if t.link.Attrs().Name != t.p.Kernel {
			if err := h.LinkSetName(t.link, t.p.Kernel); err != nil {
				errs = append(errs, fmt.Errorf("port %s: renaming %s to %s: %w", t.p.Junos, t.p.NIC.Name, t.p.Kernel, err))
				continue
			}
		}
		if err := h.LinkSetUp(t.link); err != nil {
			errs = append(errs, fmt.Errorf("port %s: setting %s up: %w", t.p.Junos, t.p.Kernel, err))
		}
	}
	return errors.Join(errs...)
}

// CarrierEvent is a change of a port's carrier (link detected or lost).
type CarrierEvent struct {
	// Junos and Kernel name the port, e.g. "ge-0/0/0" and "ge-0-0-0".
	Junos, Kernel string
	Up            bool
	Time          time.Time
}

func (e CarrierEvent) String() string {
	state := "down"
	if e.Up {
		state = "up"
	}
	return fmt.Sprintf("%s: link %s", e.Junos, state)
}

// WatchOptions configures WatchCarrier. The zero value watches the caller's network namespace.
type WatchOptions struct {
	// Namespace, if set, is the network namespace to watch (tests).
	Namespace *netns.NsHandle
	// Now is the clock for event times; nil means time.Now.
	Now func() time.Time
}

// WatchCarrier calls report for the current carrier state of every port (links named like ge-0-0-N), then
// for every change, until ctx is done. It returns nil when ctx ends, or the subscription's error.
// report is called from WatchCarrier's goroutine only.
func WatchCarrier(ctx context.Context, opts WatchOptions, report func(CarrierEvent)) error {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	last := map[string]bool{} // kernel name -> carrier
	return watch(ctx, "link", func(ch chan netlink.LinkUpdate, done chan struct{}, onErr func(error)) error {
		return netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{Namespace: opts.Namespace, ListExisting: true, ErrorCallback: onErr})
	}, func(u netlink.LinkUpdate) {
		name := u.Attrs().Name
		junos, isPort := JunosName(name)
		if !isPort || u.Header.Type == unix.RTM_DELLINK {
			return
		}
		up := u.IfInfomsg.Flags&unix.IFF_LOWER_UP != 0
		if prev, seen := last[name]; seen && prev == up {
			return
		}
		last[name] = up
		report(CarrierEvent{Junos: junos, Kernel: name, Up: up, Time: now()})
	})
}

// watch subscribes (sub gets the update channel, the channel whose close
// ends the subscription, and the callback for its errors) and hands every
// update to handle until ctx is done; it returns nil then, or the
// subscription's error.
func watch[U any](ctx context.Context, what string, sub func(ch chan U, done chan struct{}, onErr func(error)) error, handle func(U)) error {
	updates := make(chan U, 64)
	done := make(chan struct{})
	defer close(done)
	errc := make(chan error, 1)
	onErr := func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	if err := sub(updates, done, onErr); err != nil {
		return fmt.Errorf("subscribing to %s changes: %w", what, err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return fmt.Errorf("watching %s changes: %w", what, err)
		case u, ok := <-updates:
			if !ok {
				return fmt.Errorf("watching %s changes: subscription closed", what)
			}
			handle(u)
		}
	}
}

// WatchNewLinks calls report with the kernel name of every link that
// appears and is not a port yet (a hot-plugged NIC, before Adopt names it),
// until ctx is done. Loopback and the ports themselves are not reported.
func WatchNewLinks(ctx context.Context, opts WatchOptions, report func(kernelName string)) error {
	seen := map[int]bool{}
	return watch(ctx, "link", func(ch chan netlink.LinkUpdate, done chan struct{}, onErr func(error)) error {
		return netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{Namespace: opts.Namespace, ErrorCallback: onErr})
	}, func(u netlink.LinkUpdate) {
		name := u.Attrs().Name
		if u.Header.Type != unix.RTM_NEWLINK || name == "lo" || seen[u.Attrs().Index] {
			return
		}
		if _, isPort := JunosName(name); isPort {
			return
		}
		if u.Attrs().EncapType != "ether" {
			return // tunnels (xfrm, ipsec) are not NICs
		}
		seen[u.Attrs().Index] = true
		report(name)
	})
}

// AddressEvent is an IPv4 or IPv6 address added to or removed from a port.
type AddressEvent struct {
	Junos, Kernel string
	Addr          netip.Prefix
	Added         bool
	Time          time.Time
}

// WatchAddresses reports every address added to or removed from a port
// until ctx ends; addresses of other links (lo, tunnels) are not reported.
func WatchAddresses(ctx context.Context, opts WatchOptions, report func(AddressEvent)) error {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	h := &netlink.Handle{} // the calling thread's namespace
	if opts.Namespace != nil {
		var err error
		if h, err = netlink.NewHandleAt(*opts.Namespace); err != nil {
			return fmt.Errorf("opening netlink in the watched namespace: %w", err)
		}
		defer h.Close()
	}
	names := map[int]string{} // ifindex -> kernel name, looked up once
	return watch(ctx, "address", func(ch chan netlink.AddrUpdate, done chan struct{}, onErr func(error)) error {
		return netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{Namespace: opts.Namespace, ErrorCallback: onErr})
	}, func(u netlink.AddrUpdate) {
		name, seen := names[u.LinkIndex]
		if !seen {
			if l, err := h.LinkByIndex(u.LinkIndex); err == nil {
				name = l.Attrs().Name
				names[u.LinkIndex] = name
			}
		}
		junos, isPort := JunosName(name)
		if !isPort {
			return
		}
		a, ok := netip.AddrFromSlice(u.LinkAddress.IP)
		if !ok {
			return
		}
		ones, _ := u.LinkAddress.Mask.Size()
		report(AddressEvent{Junos: junos, Kernel: name, Addr: netip.PrefixFrom(a.Unmap(), ones), Added: u.NewAddr, Time: now()})
	})
}
