package xfrm

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/vishvananda/netlink"
)

var seedPolicy = Policy{
	Selector: Selector{
		Local:  netip.MustParsePrefix("10.100.11.0/24"),
		Remote: netip.MustParsePrefix("10.100.22.0/24"),
	},
	LocalGateway:  netip.MustParseAddr("172.16.13.1"),
	RemoteGateway: netip.MustParseAddr("172.16.23.1"),
	Reqid:         7,
}

func TestCompilePolicies(t *testing.T) {
	ps, err := CompilePolicies(seedPolicy)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		dir              netlink.Dir
		src, dst         string
		tmplSrc, tmplDst string
	}{
		{netlink.XFRM_DIR_OUT, "10.100.11.0/24", "10.100.22.0/24", "172.16.13.1", "172.16.23.1"},
		{netlink.XFRM_DIR_IN, "10.100.22.0/24", "10.100.11.0/24", "172.16.23.1", "172.16.13.1"},
		{netlink.XFRM_DIR_FWD, "10.100.22.0/24", "10.100.11.0/24", "172.16.23.1", "172.16.13.1"},
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d policies, want %d", len(ps), len(want))
	}
	for i, w := range want {
		p := ps[i]
		if p.Dir != w.dir || p.Src.String() != w.src || p.Dst.String() != w.dst || p.Priority != 2000-48 {
			t.Errorf("policy %d = %v, want dir %v %s->%s priority 1952", i, p, w.dir, w.src, w.dst)
		}
		if len(p.Tmpls) != 1 || p.Tmpls[0].Src.String() != w.tmplSrc || p.Tmpls[0].Dst.String() != w.tmplDst ||
			p.Tmpls[0].Reqid != 7 || p.Tmpls[0].Mode != netlink.XFRM_MODE_TUNNEL || p.Tmpls[0].Proto != netlink.XFRM_PROTO_ESP {
			t.Errorf("policy %d template = %v", i, p.Tmpls)
		}
	}
	bad := seedPolicy
	bad.Reqid = 0
	if _, err := CompilePolicies(bad); err == nil {
		t.Error("reqid 0 accepted")
	}
}

func TestCompileState(t *testing.T) {
	sa := SA{
		Src: netip.MustParseAddr("172.16.13.1"), Dst: netip.MustParseAddr("172.16.23.1"), SPI: 0xb941875f, Reqid: 7,
		Suite:  ikecrypto.ESPSuite{Cipher: ikecrypto.ESPAESCBC, KeyBits: 128, Auth: ikecrypto.AuthHMACSHA256},
		EncKey: bytes.Repeat([]byte{1}, 16), AuthKey: bytes.Repeat([]byte{2}, 32),
		Encap: &Encap{SrcPort: 4500, DstPort: 4500}, HardSeconds: 3600, SoftSeconds: 3240,
	}
	st, err := CompileState(sa)
	if err != nil {
		t.Fatal(err)
	}
	if st.Crypt.Name != "cbc(aes)" || st.Auth.Name != "hmac(sha256)" || st.Auth.TruncateLen != 128 || st.Aead != nil {
		t.Errorf("algorithms: crypt %v auth %v", st.Crypt, st.Auth)
	}
	if st.Mode != netlink.XFRM_MODE_TUNNEL || st.ReplayWindow != 64 || st.Spi != 0xb941875f || st.Reqid != 7 {
		t.Errorf("state = %v", st)
	}
	if st.Encap == nil || st.Encap.Type != netlink.XFRM_ENCAP_ESPINUDP || st.Encap.SrcPort != 4500 {
		t.Errorf("encap = %v", st.Encap)
	}
	if st.Limits.TimeHard != 3600 || st.Limits.TimeSoft != 3240 {
		t.Errorf("limits = %+v", st.Limits)
	}

	for _, tc := range []struct {
		auth  ikecrypto.ESPAuth
		name  string
		trunc int
	}{
		{ikecrypto.AuthHMACSHA1, "hmac(sha1)", 96},
		{ikecrypto.AuthHMACSHA384, "hmac(sha384)", 192},
		{ikecrypto.AuthHMACSHA512, "hmac(sha512)", 256},
	} {
		s := sa
		s.Suite.Auth = tc.auth
		s.AuthKey = make([]byte, tc.auth.KeyLen())
		st, err := CompileState(s)
		if err != nil || st.Auth.Name != tc.name || st.Auth.TruncateLen != tc.trunc {
			t.Errorf("%v: %v %v", tc.auth, st.Auth, err)
		}
	}

	gcm := sa
	gcm.Suite = ikecrypto.ESPSuite{Cipher: ikecrypto.ESPAESGCM16, KeyBits: 256}
	gcm.EncKey, gcm.AuthKey = make([]byte, 36), nil
	st, err = CompileState(gcm)
	if err != nil {
		t.Fatal(err)
	}
	if st.Aead == nil || st.Aead.Name != "rfc4106(gcm(aes))" || st.Aead.ICVLen != 128 || len(st.Aead.Key) != 36 || st.Crypt != nil {
		t.Errorf("GCM state: %v", st.Aead)
	}

	short := sa
	short.AuthKey = short.AuthKey[:20]
	if _, err := CompileState(short); err == nil {
		t.Error("short auth key accepted")
	}
}
