package vmtest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/swtest"
)

var childEstablishedRE = regexp.MustCompile(`CHILD_SA net\{(\d+)\} established`)

// childrenEstablished returns the unique IDs of the Child SAs charon's log
// says were established (IKEv2 logs inbound and outbound halves apart).
func childrenEstablished(log string) map[string]bool {
	ids := map[string]bool{}
	for _, m := range childEstablishedRE.FindAllStringSubmatch(log, -1) {
		ids[m[1]] = true
	}
	return ids
}

// TestVMDataPath: IKEv1 main mode and IKEv2, each with us and with charon
// as initiator; pings cross the tunnel, the console lists the SA pair on
// port 4500 (kernel-libipsec forces NAT-T) and the ESP counters move by
// at least the pings.
func TestVMDataPath(t *testing.T) {
	roles := []struct {
		name       string
		weInitiate bool
	}{
		{"we initiate", true},
		{"strongSwan initiates", false},
	}
	for _, version := range []int{1, 2} {
		for _, role := range roles {
			t.Run(fmt.Sprintf("IKEv%d/%s", version, role.name), func(t *testing.T) {
				l := startLab(t, setup{version: version, weInitiate: role.weInitiate})
				sas := l.ipsecSAs()
				if len(sas) != 2 || sas[0].dir != "<" || sas[1].dir != ">" {
					t.Fatalf("show security ipsec security-associations: got %v, want one pair", sas)
				}
				for _, sa := range sas {
					if sa.port != "4500" || sa.gateway != peerAddr || sa.alg != "ESP:aes-cbc-256/sha256" {
						t.Errorf("IPsec SA %+v: want ESP:aes-cbc-256/sha256 on port 4500 to %s", sa, peerAddr)
					}
				}
				children, list := l.swChildren()
				if len(children) != 1 || children[0].In != sas[1].spi || children[0].Out != sas[0].spi {
					t.Errorf("charon's Child SA %v does not mirror ours (in %s, out %s):\n%s", children, sas[0].spi, sas[1].spi, list)
				}
				mode := "Main"
				if version == 2 {
					mode = "IKEv2"
				}
				ikes := l.ikeSAs()
				if len(ikes) != 1 || ikes[0].state != "UP" || ikes[0].mode != mode || ikes[0].remote != peerAddr {
					t.Errorf("show security ike security-associations: got %+v, want one UP %s SA with %s", ikes, mode, peerAddr)
				}

				before := l.stats()
				start := time.Now()
				const n = 20
				r := l.pingOK(n)
				t.Logf("ping host1 -> host2: %v in %.1f s", r, time.Since(start).Seconds())
				after := l.stats()
				if d := after.encPkts - before.encPkts; d < n {
					t.Errorf("encrypted packets moved by %d, want at least %d (before %+v, after %+v)", d, n, before, after)
				}
				if d := after.decPkts - before.decPkts; d < n {
					t.Errorf("decrypted packets moved by %d, want at least %d (before %+v, after %+v)", d, n, before, after)
				}
				if after.encBytes <= before.encBytes || after.decBytes <= before.decBytes {
					t.Errorf("ESP byte counters did not move: before %+v, after %+v", before, after)
				}
				if after.authFail+after.replay+after.decFail+after.badHdr+after.badTrl != 0 {
					t.Errorf("ESP errors: %+v", after)
				}
			})
		}
	}
}

// TestVMRekey: a continuous ping (5 per second) across Child SA and IKE SA
// rekeys loses nothing, and the SPIs change. "strongSwan rekeys" has charon
// rekey the Child SA every 40 s and the IKE SA at 70 s; "we rekey" lets
// our own timers run out (lifetime-seconds 180, the least the
// configuration allows; the initiator rekeys at 90%), with charon's rekeys
// off.
func TestVMRekey(t *testing.T) {
	cases := []struct {
		name                    string
		charonExtra, childExtra string
		pingFor                 time.Duration
		wantChild               int // Child SAs charon establishes during the ping, at least
	}{
		{"strongSwan rekeys", "rekey_time = 70s\n    over_time = 60s\n    rand_time = 0", "rekey_time = 40s\n        life_time = 100s\n        rand_time = 0", 95 * time.Second, 2},
		{"we rekey", "rekey_time = 0\n    reauth_time = 0", "rekey_time = 0\n        life_time = 3600s", 180 * time.Second, 1},
	}
	for _, version := range []int{1, 2} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("IKEv%d/%s", version, tc.name), func(t *testing.T) {
				l := startLab(t, setup{version: version, weInitiate: true, timeout: 8 * time.Minute,
					set: []string{
						"security ike proposal standard lifetime-seconds 180",
						"security ipsec proposal standard lifetime-seconds 180",
					},
					charonExtra: tc.charonExtra, childExtra: tc.childExtra})
				ikes0, sas0 := l.ikeSAs(), l.ipsecSAs()
				l.pingOK(5)
				swMark := len(l.sw.Log())
				list0, _ := l.sw.Swanctl("--list-sas")

				start := time.Now()
				n := int(tc.pingFor / (200 * time.Millisecond))
				r := l.ping(context.Background(), n, 200*time.Millisecond)
				t.Logf("continuous ping over %.0f s: %v", time.Since(start).Seconds(), r)

				ikes1, sas1 := l.ikeSAs(), l.ipsecSAs()
				list1, _ := l.sw.Swanctl("--list-sas")
				ours := grepLines(l.cli("show log messages | no-more"), "rekey", "established", "deleted", "collision")
				swLog := l.sw.Log()[swMark:]
				childRekeys := len(childrenEstablished(swLog))
				t.Logf("IKE SAs before %v after %v; IPsec SAs before %v after %v", ikes0, ikes1, sas0, sas1)
				t.Logf("our log:\n%s", ours)
				t.Logf("charon during the ping:\n%s", grepLines(swLog, "rekey", "established", "deleting", "closing"))

				if r.sent != n || r.lost() != 0 {
					t.Errorf("continuous ping across the rekeys: %v, want 0 lost of %d:\n%s", r, n, r.out)
				}
				if len(sas0) != 2 || len(sas1) != 2 {
					t.Fatalf("IPsec SAs before %v, after %v: want one pair each time", sas0, sas1)
				}
				if c := swtest.InstalledChildren(list1); len(c) != 1 || c[0].In != sas1[1].spi {
					t.Errorf("charon's Child SAs after the rekeys: %v, want only the pair we list (%v):\n%s", c, sas1, list1)
				}
				if sas0[0].spi == sas1[0].spi || sas0[1].spi == sas1[1].spi {
					t.Errorf("the IPsec SPIs did not change: before %v, after %v", sas0, sas1)
				}
				if len(ikes0) != 1 || len(ikes1) != 1 || ikes1[0].state != "UP" {
					t.Fatalf("IKE SAs before %v, after %v: want one UP each time", ikes0, ikes1)
				}
				if ikes0[0].icookie == ikes1[0].icookie && ikes0[0].rcookie == ikes1[0].rcookie {
					t.Errorf("the IKE SA was not rekeyed: %v before and after", ikes1)
				}
				if childRekeys < tc.wantChild {
					t.Errorf("charon established %d Child SAs during the ping, want at least %d", childRekeys, tc.wantChild)
				}
				sw0, sw1 := strings.Join(swtest.EstablishedIKE(list0), ","), strings.Join(swtest.EstablishedIKE(list1), ",")
				if sw0 == sw1 {
					t.Errorf("charon's IKE SA did not change: %s", sw1)
				}
			})
		}
	}
}
