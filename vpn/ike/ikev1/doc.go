// Package ikev1 runs IKEv1 (RFC 2409) for policy-based VPNs: Main Mode with
// pre-shared keys, Quick Mode with optional PFS, informational exchanges
// (delete, INITIAL-CONTACT, error notifies, RFC 3706 dead peer detection) and
// NAT traversal (RFC 3947: NAT-D, the float to UDP 4500, the non-ESP marker).
//
// An Engine owns every IKE SA of one local address and runs on a single
// goroutine: datagrams, timer ticks and commands are its only inputs, and the
// clock, the randomness (cookies, nonces, SPIs, message IDs, DH keys), the
// transport and the SA installer are injected, so two engines negotiate
// deterministically in tests.
//
// Phase 1 (IKESA.state), as initiator and responder:
//
//	initiator: mmInit -> mmSentSA -> mmSentKE -> mmSentID -> established
//	responder: mmInit -> mmSentSA  -> mmSentKE -> established
//	any error or timeout -> failed; delete or DPD death -> deleted
//	responder, not yet established: half-open, bounded by Config.MaxHalfOpen
//	and MaxHalfOpenPerSource, ended quietly after HalfOpenTimeout
//
// Until a message decrypts and its HASH verifies, it is anyone's: it may
// advance its own exchange (main mode messages 1 to 4 are unauthenticated
// by design) but never end, replace or block another one, move the peer's
// address or port, or count as a sign of life for DPD. Its log lines go
// through a rate limiter (one a second per cause). Both sides initiating
// at once is settled once both exchanges authenticate (see establish).
//
// Phase 2 (childNego.state): qmSent1 -> installed (initiator, after sending
// HASH(3)); qmSent2 -> installed (responder, after receiving HASH(3)).
package ikev1
