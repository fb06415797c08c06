package backend

import (
	"net/netip"
	"testing"

	"github.com/palisade/palisade/firmware/cli"
)

// TestActiveRoutes: one active route per destination, the usable one of
// best preference, listed first; a route over a port without carrier is
// never active, even when its preference is best.
func TestActiveRoutes(t *testing.T) {
	def := netip.MustParsePrefix("0.0.0.0/0")
	lan := netip.MustParsePrefix("10.0.2.0/24")
	rs := activeRoutes([]cli.Route{
		{Destination: def, Protocol: "Static", Preference: 10, Active: true, Interface: "ge-0/0/2.0"},
		{Destination: lan, Protocol: "Direct", Active: true, Interface: "ge-0/0/2.0"},
		{Destination: def, Protocol: "Static", Preference: 5, Active: false, Interface: "ge-0/0/1.0"}, // carrier lost
		{Destination: def, Protocol: "Static", Preference: 20, Active: true, Interface: "ge-0/0/3.0"},
	})
	type row struct {
		dst    netip.Prefix
		pref   int
		active bool
	}
	// Usable routes first (the active one, then the backups by preference), then the unusable one.
	want := []row{{def, 10, true}, {def, 20, false}, {def, 5, false}, {lan, 0, true}}
	if len(rs) != len(want) {
		t.Fatalf("got %d routes, want %d: %+v", len(rs), len(want), rs)
	}
	for i, w := range want {
		if got := (row{rs[i].Destination, rs[i].Preference, rs[i].Active}); got != w {
			t.Errorf("route %d: got %+v, want %+v", i, got, w)
		}
	}
}

// TestMemoryReadsProc: the figures come from this process's /proc, which
// Linux always has; the peak is never below the current size.
func TestMemoryReadsProc(t *testing.T) {
	m, err := (&System{}).Memory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if m.TotalKB <= 0 || m.AvailableKB <= 0 || m.AvailableKB > m.TotalKB || m.RSSKB <= 0 || m.PeakRSSKB < m.RSSKB || m.GoHeapKB <= 0 {
		t.Errorf("implausible figures %+v", m)
	}
}
