package auth

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// drepper holds the test vectors published with the specification
// (https://www.akkadia.org/drepper/SHA-crypt.txt). setting is the input to
// crypt(); want is its output, with the salt cut at 16 characters and
// rounds clamped to 1000, which Verify must accept as a stored hash.
var drepper = []struct {
	setting, password, want string
}{
	// SHA-512
	{"$6$saltstring", "Hello world!",
		"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
	{"$6$rounds=10000$saltstringsaltstring", "Hello world!",
		"$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
	{"$6$rounds=5000$toolongsaltstring", "This is just a test",
		"$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
	{"$6$rounds=1400$anotherlongsaltstring", "a very much longer text to encrypt.  This one even stretches over morethan one line.",
		"$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1"},
	{"$6$rounds=77777$short", "we have a short salt string but not a short password",
		"$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0"},
	{"$6$rounds=123456$asaltof16chars..", "a short string",
		"$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1"},
	{"$6$rounds=10$roundstoolow", "the minimum number is still observed",
		"$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
	// SHA-256
	{"$5$saltstring", "Hello world!",
		"$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
	{"$5$rounds=10000$saltstringsaltstring", "Hello world!",
		"$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"},
	{"$5$rounds=5000$toolongsaltstring", "This is just a test",
		"$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"},
	{"$5$rounds=1400$anotherlongsaltstring", "a very much longer text to encrypt.  This one even stretches over morethan one line.",
		"$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1"},
	{"$5$rounds=77777$short", "we have a short salt string but not a short password",
		"$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/"},
	{"$5$rounds=123456$asaltof16chars..", "a short string",
		"$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD"},
	{"$5$rounds=10$roundstoolow", "the minimum number is still observed",
		"$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC"},
}

// local holds hashes made on Debian 12 with python3's crypt module
// (libxcrypt) and, for the $6$ ones, checked with `openssl passwd -6`. They
// cover key lengths around the digest size and an empty salt and password.
var local = []struct{ hash, password string }{
	{"$6$./0123456789ABCD$ht/PnQOE22MrWjHLY7mbAi0ODrdwxMMIUVYcIh.NF2wfJq/dtkpMrAzlaHnh9VzSLHBOgSR9LTkGemJSxrmFr0", "juniper123"},
	{"$6$longpw$Twg.5yo9tdE0/GKj1C9dbKPzN/7PpOhfimMWAki/FOXdeFw9B0G9qAY8tiTfvNA1f1ZfL5d8c4Zo.NC9CM2eZ0", strings.Repeat("x", 200)},
	{"$6$emptypw$TWmzQ8/uLn1BFSZ5Lkfum8lAba5vixF9Nl3Aiof.Praatq9nh0kkPuTdoVrIL6du0L6LAoadbPq.q.D7keveg/", ""},
	{"$6$utf8$uu2YnXnAiVdn/ne1GE6X0aUI3relJtlIZoETUfNIvcX6QZrF3mXFZAE/VC.yxSd63PsZD8hYtRS4ODAnhpU4V/", "päss"},
	{"$6$rounds=1000$b64$hAar0ZXLRKkLrePyfsNtsPOJOxPch9G6T3yupg79y30gT.buuwi5UYhZxgTyipStbw0fQBkOKeCnhWTiuxK1w/", strings.Repeat("y", 64)},
	{"$6$$QMXjqd7rHQZPQ1yHsXkQqC1FBzDiVfTHXL.LaeDAeVV.IzMaV9VU4MQ8kPuZa2SOP1A0RPm772EaFYjpEJtdu.", "foo"},
	{"$5$rounds=5000$abc$guQb572fX9QiKuUxVpEvQyf/8kU9cvFTNSFnn/bAKr3", "juniper123"},
	{"$5$rounds=1000$b32$x9c21vCw7AUATXS2DcesFbiXguAqBvPsQ9pOY2a.kl4", strings.Repeat("z", 32)},
	{"$5$rounds=1000$b33$vAkqUmTX9HWcoh8FxjupqrPRdyWXLulDhuPcEfyfBo/", strings.Repeat("z", 33)},
	// bcrypt: the Openwall "U*U" vector under each prefix, and one of
	// cost 4 made by libxcrypt.
	{"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
	{"$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
	{"$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
	{"$2b$04$abcdefghijklmnopqrstuuhL5gLdC721CqiE.PTwa9rTo65VigrP6", "juniper123"},
}

func TestDrepperVectors(t *testing.T) {
	for _, tc := range drepper {
		v := &sha512Crypt
		if strings.HasPrefix(tc.setting, "$5$") {
			v = &sha256Crypt
		}
		// crypt's input handling (salt cut at 16, rounds clamped)
		// is not in the package, which only makes default settings;
		// apply it here so that each vector is checked whole.
		h, err := v.parse(tc.want)
		if err != nil {
			t.Fatalf("parse(%q): %v", tc.want, err)
		}
		if got := v.crypt([]byte(tc.password), []byte(h.salt), h.rounds, h.explicit); got != tc.want {
			t.Errorf("crypt(%q, %q):\n got %s\nwant %s", tc.password, tc.setting, got, tc.want)
		}
		if !Verify(tc.want, tc.password) {
			t.Errorf("Verify(%q, %q) = false, want true", tc.want, tc.password)
		}
		if Verify(tc.want, tc.password+"x") {
			t.Errorf("Verify(%q, wrong password) = true, want false", tc.want)
		}
	}
}

func TestVerifyLocal(t *testing.T) {
	for _, tc := range local {
		if !Verify(tc.hash, tc.password) {
			t.Errorf("Verify(%q, %q) = false, want true", tc.hash, tc.password)
		}
		if Verify(tc.hash, tc.password+"!") {
			t.Errorf("Verify(%q, wrong password) = true, want false", tc.hash)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	good := "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
	for _, hash := range []string{
		"",
		"Hello world!",                       // plain text is not a hash
		"$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1", // MD5-crypt: not supported
		"saqbbAGSAwrHI",                      // DES
		"$6$",                                // nothing after the id
		"$6$saltstring",                      // a setting, not a hash
		"$6$saltstring$",                     // empty sum
		good[:len(good)-1],                   // sum one short
		good + "x",                           // sum one long
		"$6$saltstringsaltstr$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",         // 17-char salt
		"$6$rounds=10$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.",    // unclamped
		"$6$rounds=01000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.", // leading zero
		"$6$rounds=+1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.",
		"$6$rounds=1000000000$x$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.",
		"$5$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", // $6$ sum under $5$
		"$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",                                         // $2x$: the buggy variant
		"$2$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe", // truncated
	} {
		if Verify(hash, "Hello world!") || Verify(hash, "U*U") || Verify(hash, "the minimum number is still observed") {
			t.Errorf("Verify(%q) = true, want false", hash)
		}
	}
}

func TestVerifyLongPassword(t *testing.T) {
	long := strings.Repeat("a", MaxPasswordLen+1)
	h, err := Hash(long[:MaxPasswordLen], bytes.NewReader(make([]byte, saltLen)))
	if err != nil {
		t.Fatal(err)
	}
	if !Verify(h, long[:MaxPasswordLen]) {
		t.Errorf("Verify of a %d-byte password = false, want true", MaxPasswordLen)
	}
	if Verify(h, long) {
		t.Errorf("Verify of a %d-byte password = true, want false", len(long))
	}
	if _, err := Hash(long, bytes.NewReader(make([]byte, saltLen))); err == nil {
		t.Errorf("Hash of a %d-byte password: no error", len(long))
	}
}

func TestHash(t *testing.T) {
	// Bytes 0..15 select the first 16 characters of the alphabet.
	rnd := bytes.NewReader([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0xff})
	got, err := Hash("juniper123", rnd)
	if err != nil {
		t.Fatal(err)
	}
	const want = "$6$./0123456789ABCD$ht/PnQOE22MrWjHLY7mbAi0ODrdwxMMIUVYcIh.NF2wfJq/dtkpMrAzlaHnh9VzSLHBOgSR9LTkGemJSxrmFr0"
	if got != want {
		t.Errorf("Hash:\n got %s\nwant %s", got, want)
	}
	if rnd.Len() != 1 {
		t.Errorf("Hash read %d random bytes, want %d", 17-rnd.Len(), saltLen)
	}
	// The high bits of each random byte are dropped.
	got2, err := Hash("juniper123", bytes.NewReader([]byte{64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79}))
	if err != nil {
		t.Fatal(err)
	}
	if got2 != want {
		t.Errorf("Hash with high bits set:\n got %s\nwant %s", got2, want)
	}
}

func TestHashRandError(t *testing.T) {
	boom := errors.New("no entropy")
	_, err := Hash("x", iotest.ErrReader(boom))
	if !errors.Is(err, boom) {
		t.Errorf("Hash with a failing reader: got %v, want an error wrapping %v", err, boom)
	}
	_, err = Hash("x", bytes.NewReader(make([]byte, saltLen-1)))
	if err == nil {
		t.Errorf("Hash with %d random bytes: no error", saltLen-1)
	}
}

func FuzzVerify(f *testing.F) {
	for _, tc := range drepper {
		f.Add(tc.want, tc.password)
	}
	for _, tc := range local {
		f.Add(tc.hash, tc.password)
	}
	f.Fuzz(func(t *testing.T, hash, password string) {
		// Bounded work per input: a generated rounds=999999999 or a
		// bcrypt cost of 31 would be valid but take minutes.
		ok := verify(hash, password, 20_000, 6)
		if !ok {
			return
		}
		// Whatever is accepted must be a complete hash in a known
		// format, and stop matching when the password changes.
		if !strings.HasPrefix(hash, "$6$") && !strings.HasPrefix(hash, "$5$") && !strings.HasPrefix(hash, "$2") {
			t.Fatalf("verify accepted %q, which has no known prefix", hash)
		}
		if verify(hash, password+"\x00", 20_000, 6) {
			t.Fatalf("verify(%q) accepts both %q and %q", hash, password, password+"\x00")
		}
	})
}
