// Package seam is where the IKE engines (ikev1, ikev2) meet the rest of
// the box, and what they share: datagrams and their transports (UDP
// sockets on 500 and 4500, in-memory pipes for tests, and the demux that
// lets both versions share one socket pair), the environment an engine
// takes (clock, randomness, log, installer), the tunnel and Child SA types
// both versions negotiate and install, and the version-neutral status the
// show commands list. Neither engine imports the other; both import this.
package seam
