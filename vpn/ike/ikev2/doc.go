// Package ikev2 runs IKEv2 (RFC 7296) for policy-based and site-to-site
// VPNs: IKE_SA_INIT and IKE_AUTH with pre-shared keys, CREATE_CHILD_SA for
// new Child SAs and for rekeying Child and IKE SAs (simultaneous rekeys
// resolved by the nonce rule of 2.8.1, crossing deletes and rekeys by
// 2.25), INFORMATIONAL for deletes and liveness checks, cookies (2.6) once
// half-open SAs pass a threshold, NAT traversal (2.23) with the float to
// UDP 4500, IKE fragmentation (RFC 7383), INITIAL_CONTACT, and traffic
// selectors from the tunnel's proxy-id, narrowed as responder (2.9).
//
// Nothing unauthenticated moves state that matters: an IKE_SA_INIT (which
// anyone can spoof from the peer's address) never ends, replaces or holds
// back another exchange; when both ends really initiate at once both IKE
// SAs authenticate and each end deletes the same one (resolveTwins). Errors
// in IKE_SA_INIT responses end our exchange only at its timeout. Addresses,
// liveness and counters change only on messages that pass the integrity
// check, and every log line such datagrams can cause is rate-limited
// (package ratelog). Dynamic gateways are chosen by the identity in
// IKE_AUTH.
// Ciphers: AES-CBC with HMAC-SHA2, AES-GCM (RFC 5282) and
// ChaCha20-Poly1305 (RFC 7634), for IKE and ESP; DH groups 14-16, 19-21
// and 31 (curve25519, RFC 8031).
//
// The codec has one file per payload (sa.go, ke.go, ... sk.go for SK and
// SKF); protect.go encrypts and authenticates; keys.go has prf+, the key
// schedule and the PSK AUTH.
//
// An Engine owns the IKE SAs of one local address and runs on a single
// goroutine: datagrams, timer ticks and commands are its only inputs; the
// clock, the randomness (SPIs, nonces, IVs, DH keys, cookie secrets), the
// transport and the SA installer are injected (the seams of package ikev1,
// shared), so two engines negotiate deterministically in tests. Each IKE SA
// has a window of one request each way (its request queue, engine.go).
//
// IKE SA states (ikeState):
//
//	initiator: IKE_SA_INIT_SENT -> IKE_AUTH_SENT -> ESTABLISHED
//	responder: HALF_OPEN -> ESTABLISHED
//	ESTABLISHED -> REKEYED (the peer made a successor; it deletes this one)
//	ESTABLISHED -> DELETING (our Delete is out) -> CLOSED
//	any failure, timeout, or the peer's Delete -> CLOSED
//
// Child SA pair states (childState): INSTALLED -> REKEYING (ours out) ->
// DELETING once the successor is up; REKEYED when the peer replaced it (it
// deletes it, or we do after a minute).
package ikev2
