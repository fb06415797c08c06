package ikev2

import (
	"log/slog"

	"github.com/palisade/palisade/vpn/ike/seam"
)

// Restart starts the engine over after a panic in one of its handlers (see
// package loop): its state may be broken, so nothing of it is trusted
// beyond the configuration. The Child SAs it installed are removed from the
// kernel (each removal guarded), and the gateways negotiate again as after
// a commit. No Delete is sent: the peer finds out through its own dead peer
// detection or our INITIAL_CONTACT.
func (e *Engine) Restart(err error) {
	e.env.Log.Error("IKEv2 engine crashed; restarting it without its SAs", "err", err, slog.Bool("security", true))
	var cfgs []PeerConfig
	var installed []*seam.ChildSA
	for _, p := range e.peers {
		cfgs = append(cfgs, p.cfg)
		for _, c := range p.children {
			for _, s := range c.sas {
				if s != nil && s.sa != nil {
					installed = append(installed, s.sa)
				}
			}
		}
	}
	for _, c := range installed {
		seam.RemoveAfterCrash(e.env, c)
	}
	cmds := e.cmds
	*e = *NewEngine(e.cfg, e.env, e.tr)
	e.cmds = cmds // callers of Do hold this channel
	e.SetPeers(cfgs)
}
