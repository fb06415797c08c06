package commit

import (
	"context"
	"log/slog"
	"maps"

	"github.com/vishvananda/netlink"

	"github.com/palisade/palisade/drivers/ports"
	"github.com/palisade/palisade/firmware/netconf"
	"github.com/palisade/palisade/policy"
	"github.com/palisade/palisade/vpn"
)

// The box's stages, in the order the firmware runs them: links and
// routes, the ruleset, the tunnels, then the kernel settings that turn
// forwarding on once the ruleset is in.

// NetStage applies links, addresses and static routes through h. After a
// carrier change it applies the routes again, and nothing else: Linux
// already stops using a route over a port without carrier
// (ignore_routes_with_linkdown), but a route whose next hop was
// unreachable when it was applied is only installed by trying again.
func NetStage(h *netlink.Handle, log *slog.Logger) Stage {
	return StageFunc{StageName: "interfaces and routes",
		Fn: func(_ context.Context, in *Intent) error {
			rep, err := netconf.Apply(h, in.Net, func(n string) bool { _, ok := ports.JunosName(n); return ok })
			for _, m := range rep.MissingLinks {
				log.Warn("interface is configured but not present on this board", "interface", m)
			}
			for _, r := range rep.InactiveRoutes {
				log.Warn("static route inactive", "route", r)
			}
			return err
		},
		ReactFn: func(_ context.Context, in *Intent, ch Change) error {
			if ch.Kind == Port {
				// A new port: its link settings, addresses and routes,
				// which waited for it since the commit.
				_, err := netconf.Apply(h, in.Net, func(n string) bool { _, ok := ports.JunosName(n); return ok })
				return err
			}
			if ch.Kind != Carrier {
				return nil
			}
			inactive, err := netconf.ApplyRoutes(h, in.Net)
			for _, r := range inactive {
				log.Info("static route inactive", "route", r, "after", ch.Kind.String())
			}
			return err
		}}
}

// FirewallStage loads the ruleset in one batch.
func FirewallStage(a *policy.Applier) Stage {
	return StageFunc{StageName: "security policies", Fn: func(ctx context.Context, in *Intent) error {
		return a.Apply(ctx, in.Firewall.Ruleset)
	}}
}

// VPNStage hands the tunnels to the IKE daemon, which installs their XFRM
// policies and negotiates what must come up now. When an address appears,
// the gateways that waited for it start.
func VPNStage(d *vpn.Daemon) Stage {
	return StageFunc{StageName: "ipsec vpn",
		Fn: func(ctx context.Context, in *Intent) error { return d.Apply(ctx, in.VPN) },
		ReactFn: func(ctx context.Context, _ *Intent, ch Change) error {
			if ch.Kind == Address || ch.Kind == Port {
				d.Rebind(ctx)
			}
			return nil
		}}
}

// SystemStage writes the kernel settings of the whole box under root
// (/proc/sys on the box). A setting the kernel refuses is logged, not a
// failed commit: the box still filters and forwards, only with the
// kernel's default for it.
func SystemStage(root string, log *slog.Logger) Stage {
	return StageFunc{StageName: "system settings", Fn: func(_ context.Context, in *Intent) error {
		if err := policy.WriteSysctls(root, in.Sysctls); err != nil {
			log.Warn("kernel settings", "err", err)
		}
		return nil
	}}
}

// sysctls are the settings every configuration gets: Junos's conntrack
// timeouts, static routes that give way without carrier, and forwarding,
// which the stage order turns on only once the ruleset is in.
func sysctls() map[string]string {
	s := maps.Clone(policy.ConntrackSysctls())
	maps.Copy(s, netconf.Sysctls())
	s["net/ipv4/ip_forward"] = "1"
	return s
}
