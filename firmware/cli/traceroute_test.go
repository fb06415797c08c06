package cli

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTracerouteRequests(t *testing.T) {
	for _, tt := range []struct {
		line string
		want TracerouteRequest
	}{
		{"traceroute 10.100.22.10", TracerouteRequest{Host: "10.100.22.10"}},
		{"traceroute 10.100.22.10 no-resolve", TracerouteRequest{Host: "10.100.22.10"}},
		{"traceroute host2 source 10.100.11.1 ttl 5 wait 2", TracerouteRequest{Host: "host2",
			Source: netip.MustParseAddr("10.100.11.1"), MaxTTL: 5, Wait: 2 * time.Second}},
		{"tracer w 1 t 64 n 10.100.22.10", TracerouteRequest{Host: "10.100.22.10", MaxTTL: 64, Wait: time.Second}},
	} {
		f := newFake()
		got := runScript(t, f, nil, tt.line+"\nexit\n")
		if strings.Contains(got, "error") {
			t.Errorf("%q: unexpected error:\n%s", tt.line, got)
		}
		if len(f.traces) != 1 || !reflect.DeepEqual(f.traces[0], tt.want) {
			t.Errorf("%q: requests %+v, want [%+v]", tt.line, f.traces, tt.want)
		}
	}
}

func TestTracerouteRefusesBadArguments(t *testing.T) {
	for _, tt := range []struct{ line, want string }{
		{"traceroute", "error: missing mandatory argument: host\n"},
		{"traceroute ttl 3", "error: missing mandatory argument: host\n"},
		{"traceroute 10.100.22.10 ttl 0", "error: invalid value 0 for ttl: expected 1..64\n"},
		{"traceroute 10.100.22.10 ttl 65", "error: invalid value 65 for ttl: expected 1..64\n"},
		{"traceroute 10.100.22.10 ttl x", `invalid value "x" for ttl: expected <ttl>.`},
		{"traceroute 10.100.22.10 wait 0", "error: invalid value 0 for wait: expected 1..86400 seconds\n"},
		{"traceroute 10.100.22.10 source 10.100.11", `error: invalid source address "10.100.11": `},
	} {
		f := newFake()
		got := runScript(t, f, nil, tt.line+"\nexit\n")
		if !strings.Contains(got, tt.want) {
			t.Errorf("%q: output lacks %q:\n%s", tt.line, tt.want, got)
		}
		if len(f.traces) != 0 {
			t.Errorf("%q: traced %+v", tt.line, f.traces)
		}
	}
}

func TestTracerouteCompletions(t *testing.T) {
	for _, tt := range []struct {
		line string
		want []string
	}{
		{"tr", []string{"traceroute"}},
		{"traceroute ", []string{"<host>", "no-resolve", "source", "ttl", "wait"}},
		{"traceroute 10.100.22.10 ", []string{"<[Enter]>", "no-resolve", "source", "ttl", "wait"}},
		{"traceroute 10.100.22.10 ttl 3 ", []string{"<[Enter]>", "no-resolve", "source", "wait"}},
		{"traceroute 10.100.22.10 ttl ", []string{"<ttl>"}},
	} {
		s := newTestSession(false)
		cs, _ := s.complete(tt.line)
		if got := names(cs); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("complete(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

// The trace streams through the pipes like any command's output.
func TestTracerouteOutputThroughPipes(t *testing.T) {
	got := runScript(t, newFake(), nil, "traceroute 10.100.22.10 | match ms\nexit\n")
	want := " 1  172.16.13.2  1.234 ms  0.876 ms  0.812 ms\n" +
		" 2  10.100.22.10  2.345 ms  2.101 ms *\n"
	if !strings.Contains(got, want) || strings.Contains(got, "traceroute to") {
		t.Errorf("output lacks %q or has the header:\n%s", want, got)
	}
}

func TestTracerouteCtrlC(t *testing.T) {
	// Stopped at hop 3, long before the 30 hops it would otherwise print.
	if got := interrupt(t, "traceroute 10.9.9.9", " 3  * * *\n"); strings.Contains(got, "30  * * *") || strings.Contains(got, "error") {
		t.Errorf("Ctrl-C did not stop traceroute quietly:\n%s", got)
	}
}
