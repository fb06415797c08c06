package auth

import (
	"bytes"
	"strings"
	"testing"

	"github.com/palisade/palisade/firmware/config"
)

func TestPlainTextPasswordIsHashedAtCommit(t *testing.T) {
	c, _, err := config.Parse("t", "set system root-authentication plain-text-password \"s3cret pass\"\n")
	if err != nil {
		t.Fatal(err)
	}
	h, err := HashPlainText(c, bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	ra := h.System.RootAuthentication
	if ra.PlainTextPassword != "" || !strings.HasPrefix(ra.EncryptedPassword, "$6$") {
		t.Fatalf("got %+v", ra)
	}
	if c.System.RootAuthentication.PlainTextPassword == "" {
		t.Error("the candidate itself was changed")
	}
	if !Verify(ra.EncryptedPassword, "s3cret pass") || Verify(ra.EncryptedPassword, "wrong") {
		t.Error("the hash does not verify the password")
	}
	if strings.Contains(h.SetText(config.RenderOptions{}), "$6$") {
		t.Error("the hash shows in a display")
	}
}
