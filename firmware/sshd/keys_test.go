package sshd

import (
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Keys as they appear in "system root-authentication ssh-ed25519|ssh-rsa",
// made by ssh-keygen.
const (
	ed25519Line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKQ8XFZGfTlnAo7n9XDJWUOIvGUItqCqqBBaCpqqEDk/ admin@laptop"
	rsaLine     = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCdObt4eFvuXRA+huO1Fr6p/dVTHKoTBewzpCUWgkFVfsF/nYFd5Fv7MD/crjeVmjovpOtWxoW6j+d6Us9tuY5O4JsS3NiOFjUGsjj3Q2093wLQrUYctLwqS0eBEiEylSK+IA89UUkCAOjL2jjreYgykSbUo+HbQp3a0sCXh6Jmvw=="
)

func TestParseAuthorizedKeys(t *testing.T) {
	keys, err := ParseAuthorizedKeys([]string{ed25519Line, "", rsaLine, "  " + ed25519Line + "\n"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.Type()+" "+ssh.FingerprintSHA256(k))
	}
	// Fingerprints from ssh-keygen -l.
	want := []string{
		"ssh-ed25519 SHA256:ComdytJcTr16sMIj+VT6E4pzyzNbsYVEf5JadH5MoJM",
		"ssh-rsa SHA256:loBMfB4zinMsa7kiyZ8zNc6teSOKiMBgJnjsi3xJ1Ik",
		"ssh-ed25519 SHA256:ComdytJcTr16sMIj+VT6E4pzyzNbsYVEf5JadH5MoJM",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("ParseAuthorizedKeys:\n got %q\nwant %q", got, want)
	}
}

func TestParseAuthorizedKeysErrors(t *testing.T) {
	for _, tc := range []struct {
		line, want string
	}{
		{"ssh-ed25519", "SSH public key 2"},
		{"ssh-ed25519 AAAAnotbase64!", "SSH public key 2"},
		{`from="10.0.0.0/8" ` + ed25519Line, "options (from=\"10.0.0.0/8\") are not supported"},
		{ed25519Line + "\n" + rsaLine, "more than one key"},
		// x/crypto checks the name against the data, as OpenSSH does.
		{"ssh-rsa" + strings.TrimPrefix(ed25519Line, "ssh-ed25519"), "SSH public key 2"},
	} {
		keys, err := ParseAuthorizedKeys([]string{rsaLine, tc.line})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseAuthorizedKeys(%q): got error %v, want one containing %q", tc.line, err, tc.want)
		}
		// The good key still logs in.
		if len(keys) != 1 || keys[0].Type() != "ssh-rsa" {
			t.Errorf("ParseAuthorizedKeys(%q): got %d keys, want the RSA key only", tc.line, len(keys))
		}
	}
}

func FuzzParseAuthorizedKeys(f *testing.F) {
	f.Add(ed25519Line)
	f.Add(rsaLine)
	f.Add(`command="ls" ` + ed25519Line)
	f.Fuzz(func(t *testing.T, line string) {
		keys, err := ParseAuthorizedKeys([]string{line})
		if err != nil && len(keys) != 0 {
			t.Fatalf("one string gave both keys and an error %v", err)
		}
		// Round trip: a key that parsed marshals to a line that parses
		// to the same key.
		for _, k := range keys {
			again, err := ParseAuthorizedKeys([]string{string(ssh.MarshalAuthorizedKey(k))})
			if err != nil || len(again) != 1 || string(again[0].Marshal()) != string(k.Marshal()) {
				t.Fatalf("key from %q does not round-trip: %v", line, err)
			}
		}
	})
}
