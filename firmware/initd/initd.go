// Package initd composes the firmware as PID 1, and does nothing else: it
// sets up logging (firmware/logbuf), reaps orphans, runs the boot
// (firmware/boot) with the commit stages of the dataplane
// (firmware/backend), and runs every service under the supervisor: the IKE
// daemon, the console and SSH logins, and the watchers that hand carrier
// and address changes to the commit pipeline.
package initd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade/palisade/drivers/ports"
	"github.com/palisade/palisade/firmware/backend"
	"github.com/palisade/palisade/firmware/boot"
	"github.com/palisade/palisade/firmware/cli"
	"github.com/palisade/palisade/firmware/commit"
	"github.com/palisade/palisade/firmware/logbuf"
	"github.com/palisade/palisade/firmware/supervisor"
)

// Run boots the box and runs its services forever.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	// Security events (logins, tunnels, commits) have a ring of their own,
	// so that a flood of other lines cannot push them out.
	ring := logbuf.New(1000, 500)
	// Log lines show on the console while the box boots; once the login
	// prompt is up they go only to `show log messages`, as on Junos.
	bootLog := &gate{w: stdout, open: true}
	log := slog.New(ring.Handler(bootLog, &slog.HandlerOptions{Level: slog.LevelInfo}))
	say := func(format string, a ...any) {
		line := fmt.Sprintf(format, a...)
		fmt.Fprintln(stdout, line)
		ring.Write([]byte(time.Now().UTC().Format(time.Stamp) + " " + line + "\n"))
	}
	go reap(ctx)

	var data *backend.Dataplane
	box, err := boot.Up(ctx, boot.Real(log, say), func(b *boot.Box) []commit.Stage {
		stages := []commit.Stage{commit.NetStage(b.Netlink, log)}
		d, err := backend.StartDataplane(ctx, b.Netlink, log, b.Pipeline.Running)
		if err != nil {
			// No firewall: no forwarding either (the system stage is
			// the dataplane's), and the console says why.
			say("firewall and VPN unavailable: %v", err)
			return stages
		}
		data = d
		// The IKE daemon is supervised from now on, like every service:
		// the boot commit's VPN stage waits until it is ready.
		go supervisor.Run(ctx, supervisor.Options{Log: log}, supervisor.Service{Name: "ike", Run: d.VPN().Run})
		return append(stages, d.Stages()...)
	})
	if err != nil {
		return err
	}

	bootLog.close()
	tty := openConsole(box.Board.Console, stdin, stdout)
	box.Pipeline.Announce = func(msg string) { fmt.Fprintf(tty, "\r\n%s\r\n", msg) }
	sys := &backend.System{Box: box, Data: data, Log: ring, Events: log}
	box.Pipeline.Committed = sys.Committed
	editor := cli.NewEditor(sys)
	services := []supervisor.Service{
		{Name: "console", Run: func(ctx context.Context) error {
			return Console{TTY: tty, Terminal: box.Board.Console, Sys: sys, Editor: editor, Check: sys.CheckLogin,
				Log: log.With("service", "console")}.Run(ctx)
		}},
		// A running box reacts to what changes under it: the parts of the
		// running Intent that depend on a port's carrier or addresses are
		// applied again, and nothing else.
		{Name: "carrier", Run: func(ctx context.Context) error {
			return ports.WatchCarrier(ctx, ports.WatchOptions{}, func(e ports.CarrierEvent) {
				log.Info("link", "event", e.String())
				if err := box.Pipeline.React(ctx, commit.Change{Kind: commit.Carrier, Port: e.Junos}); err != nil {
					log.Warn("re-applying after a carrier change", "err", err)
				}
			})
		}},
		{Name: "hot-plug", Run: func(ctx context.Context) error {
			return ports.WatchNewLinks(ctx, ports.WatchOptions{}, func(name string) {
				fresh, err := box.AdoptPorts("/sys")
				if err != nil {
					log.Warn("a new NIC", "link", name, "err", err)
				}
				for _, p := range fresh {
					log.Info("port added", "name", p.Junos, "nic", p.NIC.Name, "driver", p.NIC.Driver, "mac", p.NIC.MAC)
					if err := box.Pipeline.React(ctx, commit.Change{Kind: commit.Port, Port: p.Junos}); err != nil {
						log.Warn("applying the configuration of a new port", "port", p.Junos, "err", err)
					}
				}
			})
		}},
		{Name: "addresses", Run: func(ctx context.Context) error {
			return ports.WatchAddresses(ctx, ports.WatchOptions{}, func(e ports.AddressEvent) {
				if err := box.Pipeline.React(ctx, commit.Change{Kind: commit.Address, Port: e.Junos}); err != nil {
					log.Warn("re-applying after an address change", "err", err)
				}
			})
		}},
	}
	if data != nil {
		services = append(services,
			supervisor.Service{Name: "session log", Run: data.WatchSessions},
			supervisor.Service{Name: "kernel log", Run: KernelLog{Path: "/dev/kmsg", Log: log, Prefix: "palisade "}.Run})
	}
	sshSvc := &SSH{Sys: sys, Editor: editor, Log: log}
	services = append(services, supervisor.Service{Name: "ssh", Run: sshSvc.Run})
	supervisor.Run(ctx, supervisor.Options{Log: log}, services...)
	return nil
}

// openConsole opens the board's serial port for the CLI, or falls back to
// the init's own stdin and stdout (the kernel console).
func openConsole(name string, stdin io.Reader, stdout io.Writer) io.ReadWriter {
	if f, err := os.OpenFile("/dev/"+name, os.O_RDWR|unix.O_NOCTTY, 0); err == nil {
		return f
	}
	return struct {
		io.Reader
		io.Writer
	}{stdin, stdout}
}

// reap collects orphaned children, as PID 1 must.
func reap(ctx context.Context) {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, unix.SIGCHLD)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			for {
				var ws unix.WaitStatus
				pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}
}

// gate passes writes through until closed.
type gate struct {
	mu   sync.Mutex
	w    io.Writer
	open bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *gate) close() {
	g.mu.Lock()
	g.open = false
	g.mu.Unlock()
}
