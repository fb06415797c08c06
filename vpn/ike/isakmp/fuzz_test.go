package isakmp

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the fuzz seed corpus in testdata/fuzz from the byte vectors")

func FuzzDecode(f *testing.F) {
	f.Add(mainMode1)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		if got := m.Encode(); !bytes.Equal(got, b) {
			t.Fatalf("round trip:\n got % x\nwant % x", got, b)
		}
	})
}

func FuzzDecodePayloads(f *testing.F) {
	for _, v := range payloadVectors {
		f.Add(uint8(v.p.Type()), v.want)
	}
	f.Fuzz(func(t *testing.T, first uint8, b []byte) {
		ps, _, err := DecodePayloads(PayloadType(first), b, 0, false)
		if err != nil {
			return
		}
		if got := AppendPayloads(nil, ps); !bytes.Equal(got, b) {
			t.Fatalf("round trip:\n got % x\nwant % x", got, b)
		}
	})
}

// TestWriteSeeds writes the byte vectors as seed files when run with
// -update-seeds, so that the corpus in testdata/fuzz follows the vectors.
func TestWriteSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite testdata/fuzz")
	}
	write := func(target, content string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%x", sha256.Sum256([]byte(content)))[:16]
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	msgs := [][]byte{mainMode1}
	for _, v := range payloadVectors {
		write("FuzzDecodePayloads", fmt.Sprintf("go test fuzz v1\nbyte(%q)\n[]byte(%q)\n", byte(v.p.Type()), v.want))
		h := Header{NextPayload: v.p.Type(), Version: Version, Exchange: ExchangeQuick, MessageID: 7, Length: uint32(HeaderLen + len(v.want))}
		msgs = append(msgs, append(h.AppendTo(nil), v.want...))
	}
	for _, m := range msgs {
		write("FuzzDecode", fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", m))
	}
}
