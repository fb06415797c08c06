package vpn

import (
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/ikev1"
	"github.com/palisade/palisade/vpn/ike/ikev2"
	"github.com/palisade/palisade/vpn/ike/seam"
)

func TestAlgorithmNames(t *testing.T) {
	got := ikev1.Proposal{Cipher: ikecrypto.Cipher{Alg: ikecrypto.AESCBC, KeyBits: 256}, Hash: ikecrypto.SHA256, Group: ikecrypto.MODP2048, Lifetime: time.Hour}.Names()
	want := seam.Algorithms{Authentication: "hmac-sha256-128", Encryption: "aes256-cbc", PRF: "hmac-sha256", DHGroup: "DH-group-14"}
	if got != want {
		t.Errorf("IKE: got %+v, want %+v", got, want)
	}
	got = ikev2.Proposal{Encr: ikev2.EncrAESGCM16, KeyBits: 256, PRF: ikev2.PRFHMACSHA256, Group: ikecrypto.Curve25519}.Names()
	want = seam.Algorithms{Authentication: "none", Encryption: "aes256-gcm", PRF: "hmac-sha256", DHGroup: ikecrypto.Curve25519.String()}
	if got != want {
		t.Errorf("IKEv2: got %+v, want %+v", got, want)
	}
	for _, tc := range []struct {
		s    ikecrypto.ESPSuite
		want ESPAlgorithms
	}{
		{ikecrypto.ESPSuite{Cipher: ikecrypto.ESPAESCBC, KeyBits: 128, Auth: ikecrypto.AuthHMACSHA1}, ESPAlgorithms{"ESP:aes-cbc-128/sha1", "hmac-sha1-96", "aes-cbc (128 bits)"}},
		{ikecrypto.ESPSuite{Cipher: ikecrypto.ESPAESGCM16, KeyBits: 128}, ESPAlgorithms{"ESP:aes-gcm-128/None", "None", "aes-gcm (128 bits)"}},
	} {
		if got := ESPAlgorithmNames(tc.s); got != tc.want {
			t.Errorf("ESP %v: got %+v, want %+v", tc.s, got, tc.want)
		}
	}
}
