package vpn

import (
	"errors"
	"fmt"

	"github.com/palisade/palisade/vpn/ike/seam"
	"github.com/palisade/palisade/vpn/xfrm"
)

// XFRMInstaller installs negotiated Child SAs as a pair of kernel states.
type XFRMInstaller struct{ M *xfrm.Manager }

// states returns the inbound and outbound kernel states of c.
func states(c *seam.ChildSA) (in, out xfrm.SA) {
	in = xfrm.SA{Src: c.Remote, Dst: c.Local, SPI: c.SPIIn, Reqid: c.Tunnel.Reqid, Suite: c.Suite, EncKey: c.EncIn, AuthKey: c.AuthIn}
	out = xfrm.SA{Src: c.Local, Dst: c.Remote, SPI: c.SPIOut, Reqid: c.Tunnel.Reqid, Suite: c.Suite, EncKey: c.EncOut, AuthKey: c.AuthOut}
	if c.EncapLocal != 0 {
		in.Encap = &xfrm.Encap{SrcPort: c.EncapRemote, DstPort: c.EncapLocal}
		out.Encap = &xfrm.Encap{SrcPort: c.EncapLocal, DstPort: c.EncapRemote}
	}
	// The daemon rekeys on time itself; the kernel's hard limit is the safety
	// net, a little after the negotiated lifetime. Kilobyte lifetimes are the
	// kernel's to count: soft at 90% for the rekey, hard at the limit.
	for _, s := range []*xfrm.SA{&in, &out} {
		if c.Lifetime > 0 {
			s.HardSeconds = uint64(c.Lifetime.Seconds()) + 30
		}
		if c.LifetimeKB > 0 {
			s.HardBytes = c.LifetimeKB * 1024
			s.SoftBytes = s.HardBytes / 10 * 9
		}
	}
	return in, out
}

// Install implements seam.Installer. Inbound first, so that the peer's
// first packets under the new SA are not dropped.
func (x XFRMInstaller) Install(c *seam.ChildSA) error {
	in, out := states(c)
	if err := x.M.InstallSA(in); err != nil {
		return fmt.Errorf("tunnel %s: %w", c.Tunnel.Name, err)
	}
	if err := x.M.InstallSA(out); err != nil {
		return errors.Join(fmt.Errorf("tunnel %s: %w", c.Tunnel.Name, err), x.M.RemoveSA(xfrm.StateID{Dst: in.Dst, SPI: in.SPI}))
	}
	return nil
}

// Remove implements seam.Installer.
func (x XFRMInstaller) Remove(c *seam.ChildSA) error {
	return errors.Join(
		x.M.RemoveSA(xfrm.StateID{Dst: c.Local, SPI: c.SPIIn}),
		x.M.RemoveSA(xfrm.StateID{Dst: c.Remote, SPI: c.SPIOut}),
	)
}
