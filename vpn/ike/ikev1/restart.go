package ikev1

import (
	"github.com/palisade/palisade/vpn/ike/seam"
	"log/slog"
)

// Restart starts the engine over after a panic in one of its handlers (see
// package loop): its state may be broken, so nothing of it is trusted
// beyond the configuration. The Child SAs it installed are removed from the
// kernel (each removal guarded, since the records may be what broke), and
// the gateways negotiate again as after a commit. No Delete is sent: the
// peer finds out through its own dead peer detection or our INITIAL-CONTACT.
func (e *Engine) Restart(err error) {
	e.env.Log.Error("IKEv1 engine crashed; restarting it without its SAs", "err", err, slog.Bool("security", true))
	var cfgs []PeerConfig
	var installed []*seam.ChildSA
	for _, p := range e.peers {
		cfgs = append(cfgs, p.cfg)
		for _, c := range p.children {
			if c.installed != nil {
				installed = append(installed, c.installed)
			}
		}
	}
	for _, c := range installed {
		removeGuarded(e.env, c)
	}
	cmds := e.cmds
	*e = *NewEngine(e.cfg, e.env, e.tr)
	e.cmds = cmds // callers of Do hold this channel
	e.SetPeers(cfgs)
}

// removeGuarded removes one Child SA from the kernel; a panic there is
// logged, not passed on, so that the restart goes through.
func removeGuarded(env seam.Env, c *seam.ChildSA) {
	defer func() {
		if r := recover(); r != nil {
			env.Log.Error("removing a Child SA after an engine crash", "panic", r)
		}
	}()
	if err := env.Installer.Remove(c); err != nil {
		env.Log.Warn("removing a Child SA after an engine crash", "err", err)
	}
}
