package ikev2

import (
	"context"
	"net/netip"

	"github.com/palisade/palisade/vpn/ike/ikev1"
)

// The IKEv1 engine's seams serve IKEv2 unchanged: the same datagram
// transports (so one UDP socket pair can carry both versions), the same
// tunnel configuration and the same installer of Child SAs.
type (
	Datagram      = ikev1.Datagram
	Transport     = ikev1.Transport
	PipeNetwork   = ikev1.PipeNetwork
	UDPTransport  = ikev1.UDPTransport
	Env           = ikev1.Env
	Installer     = ikev1.Installer
	ChildSA       = ikev1.ChildSA
	ChildConfig   = ikev1.ChildConfig
	ChildProposal = ikev1.ChildProposal
	ChildStatus   = ikev1.ChildStatus
)

// NewPipeNetwork returns an in-memory network for tests (see ikev1.PipeNetwork).
func NewPipeNetwork() *PipeNetwork { return ikev1.NewPipeNetwork() }

// ListenUDP opens the IKE and NAT-T sockets (see ikev1.ListenUDP).
func ListenUDP(ctx context.Context, addr netip.Addr, ike, natt uint16) (*UDPTransport, error) {
	return ikev1.ListenUDP(ctx, addr, ike, natt)
}

// NewRecordingInstaller returns an installer that records (see ikev1.RecordingInstaller).
func NewRecordingInstaller() *ikev1.RecordingInstaller { return ikev1.NewRecordingInstaller() }
