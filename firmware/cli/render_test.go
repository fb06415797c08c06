package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/palisade/palisade/firmware/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got\n%s\nwant\n%s", name, got, want)
	}
}

func srx1(t testing.TB) *config.Config {
	t.Helper()
	text, err := os.ReadFile("testdata/srx1.set")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := config.Parse("srx1.set", string(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRenderGolden(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	c := srx1(t)
	tests := []struct {
		name   string
		render func(b *bytes.Buffer) error
	}{
		{"ike-sa", func(b *bytes.Buffer) error { sas, err := f.IKESAs(ctx); renderIKESAs(b, sas); return err }},
		{"ike-sa-detail", func(b *bytes.Buffer) error { sas, err := f.IKESAs(ctx); renderIKESADetail(b, sas); return err }},
		{"ipsec-sa", func(b *bytes.Buffer) error { sas, err := f.IPsecSAs(ctx); renderIPsecSAs(b, sas); return err }},
		{"ipsec-sa-detail", func(b *bytes.Buffer) error {
			sas, err := f.IPsecSAs(ctx)
			renderIPsecSADetail(b, sas)
			return err
		}},
		{"ipsec-stats", func(b *bytes.Buffer) error { st, err := f.IPsecStats(ctx, 0); renderIPsecStats(b, st); return err }},
		{"flow-session", func(b *bytes.Buffer) error { ss, err := f.FlowSessions(ctx); renderFlowSessions(b, ss); return err }},
		{"flow-summary", func(b *bytes.Buffer) error { ss, err := f.FlowSessions(ctx); renderFlowSummary(b, ss); return err }},
		{"policies", func(b *bytes.Buffer) error { renderPolicies(b, c); return nil }},
		{"policies-hit-count", func(b *bytes.Buffer) error {
			hits, err := f.PolicyHits(ctx)
			renderPolicyHits(b, c, hits)
			return err
		}},
		{"zones", func(b *bytes.Buffer) error { renderZones(b, c); return nil }},
		{"interfaces-terse", func(b *bytes.Buffer) error { rs, err := f.Interfaces(ctx); renderInterfacesTerse(b, rs); return err }},
		{"route", func(b *bytes.Buffer) error { rs, err := f.Routes(ctx); renderRoutes(b, rs); return err }},
		{"ike-waiting", func(b *bytes.Buffer) error { w, err := f.IKEWaiting(ctx); renderIKEWaiting(b, w); return err }},
		{"memory", func(b *bytes.Buffer) error { m, err := f.Memory(ctx); renderMemory(b, m); return err }},
		{"storage", func(b *bytes.Buffer) error { fs, err := f.Storage(ctx); renderStorage(b, fs); return err }},
		{"uptime", func(b *bytes.Buffer) error { u, err := f.Uptime(ctx); renderUptime(b, u); return err }},
		{"version", func(b *bytes.Buffer) error { v, err := f.Version(ctx); renderVersion(b, "SRX1", v); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.render(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, b.Bytes())
		})
	}
}

func TestFormatAge(t *testing.T) {
	for _, tt := range []struct {
		secs int64
		want string
	}{
		{0, "00:00:00"},
		{12*60 + 1, "00:12:01"},
		{3600, "01:00:00"},
		{86399, "23:59:59"},
		{86400 + 3661, "1d 01:01:01"},
		{9*86400 + 5, "1w2d 00:00:05"},
	} {
		if got := formatAge(secondsDur(tt.secs)); got != tt.want {
			t.Errorf("formatAge(%ds) = %q, want %q", tt.secs, got, tt.want)
		}
	}
}
