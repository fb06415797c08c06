package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// attachedNet is a host net's TAP after attachHostNet moved it into its namespace and renamed it.
type attachedNet struct {
	tap    string // the name QEMU first opened it by, in the host namespace
	netns  string // real namespace name
	ifname string // its name there
}

// Restart boots the box called name again after its QEMU exited (with -no-reboot, a guest that reboots
// ends its QEMU): a new QEMU with the same kernel, config disk, MACs, wires and host nets. The host nets'
// TAPs stay in their namespaces with their addresses and routes while the box is down, as a switch port
// keeps its configuration while the router behind it reboots; the new QEMU gets them as open file
// descriptors. The previous console log is kept as NAME.console.N.log (N = 1 for the first boot).
//
// The returned Guest replaces the old one in Lab.Guest and Lab.Guests; Expect and Send on the old one
// fail from now on.
func (l *Lab) Restart(ctx context.Context, name string) (*Guest, error) {
	l.closeMu.Lock()
	defer l.closeMu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("restarting %s: the lab is closed", name)
	}
	at := -1
	for i, g := range l.guests {
		if g.Box.Name == name {
			at = i
		}
	}
	if at < 0 {
		return nil, fmt.Errorf("restarting %s: no such box", name)
	}
	old := l.guests[at]
	select {
	case <-old.exited:
	default:
		return nil, fmt.Errorf("restarting %s: its QEMU is still running (Kill or Wait first)", name)
	}

	ports := append([]netdev(nil), old.ports...)
	var files []*os.File
	defer func() {
		for _, f := range files { // QEMU has its own copies by now, or failed
			f.Close()
		}
	}()
	for n, p := range ports {
		if p.kind != "tap" && p.kind != "tapfd" {
			continue
		}
		an, ok := l.attachedTAP(p)
		if !ok {
			return nil, fmt.Errorf("restarting %s: ge-0/0/%d: its host net was never attached", name, n)
		}
		f, err := openTAP(an.netns, an.ifname)
		if err != nil {
			return nil, fmt.Errorf("restarting %s: ge-0/0/%d: %w", name, n, err)
		}
		files = append(files, f)
		ports[n] = netdev{kind: "tapfd", tap: an.tap, file: f}
	}

	extraFiles(ports) // numbers the fds before startGuest renders the command line

	boots := 1
	for {
		kept := filepath.Join(l.dir, fmt.Sprintf("%s.console.%d.log", name, boots))
		if _, err := os.Stat(kept); errors.Is(err, os.ErrNotExist) {
			if err := os.Rename(old.log, kept); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("restarting %s: keeping the previous console log: %w", name, err)
			}
			break
		}
		boots++
	}
	old.con.conn.Close()
	g, err := l.startGuest(ctx, l.runCtx, old.Box, old.index, ports)
	if err != nil {
		return nil, fmt.Errorf("restarting %s: %w", name, err)
	}
	l.guests[at] = g
	return g, nil
}

func (l *Lab) attachedTAP(p netdev) (attachedNet, bool) {
	for _, an := range l.attached {
		if an.tap == p.tap {
			return an, true
		}
	}
	return attachedNet{}, false
}

// extraFiles numbers the open TAPs among ports as QEMU will see them (fd 3, 4, ...) and returns the files
// for exec.Cmd.ExtraFiles.
func extraFiles(ports []netdev) []*os.File {
	var files []*os.File
	for i := range ports {
		if ports[i].kind == "tapfd" {
			ports[i].fd = 3 + len(files)
			files = append(files, ports[i].file)
		}
	}
	return files
}

// openTAP attaches to the persistent TAP device ifname in the network namespace netns (a name under
// /run/netns), as QEMU's -netdev tap,ifname= would from inside that namespace.
func openTAP(netns, ifname string) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	// A goroutine of its own: if the thread cannot return to its namespace, it stays locked and the
	// runtime ends it with the goroutine.
	go func() {
		runtime.LockOSThread()
		f, restored, err := openTAPIn(netns, ifname)
		if restored {
			runtime.UnlockOSThread()
		}
		ch <- result{f, err}
	}()
	r := <-ch
	return r.f, r.err
}

func openTAPIn(netns, ifname string) (_ *os.File, restored bool, _ error) {
	self, err := os.Open(fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid()))
	if err != nil {
		return nil, true, fmt.Errorf("opening this thread's network namespace: %w", err)
	}
	defer self.Close()
	target, err := os.Open(filepath.Join("/run/netns", netns))
	if err != nil {
		return nil, true, fmt.Errorf("opening network namespace %s: %w", netns, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("entering network namespace %s: %w", netns, err)
	}
	f, openErr := openTUN(ifname)
	if openErr != nil {
		openErr = fmt.Errorf("in network namespace %s: %w", netns, openErr)
	}
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		if f != nil {
			f.Close()
		}
		return nil, false, errors.Join(openErr, fmt.Errorf("returning from network namespace %s: %w", netns, err))
	}
	return f, true, openErr
}

// openTUN opens /dev/net/tun and attaches it to the TAP ifname, with the flags QEMU itself uses (no
// packet information, virtio-net headers).
func openTUN(ifname string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("TAP %s: %w", ifname, err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("attaching to TAP %s: %w", ifname, err)
	}
	return os.NewFile(uintptr(fd), "tap:"+ifname), nil
}
