package image

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/board"
)

// TestFetchKernelFallback pins a version Debian does not serve and checks that the build goes on with what
// the meta package resolves to, loudly. It downloads a kernel package (60 MB): run with PALISADE_NET=1.
func TestFetchKernelFallback(t *testing.T) {
	if os.Getenv("PALISADE_NET") != "1" {
		t.Skip("network test: set PALISADE_NET=1 to download a kernel package")
	}
	b, err := board.Lookup("qemu-arm64") // a private apt state: the host's lists stay untouched
	if err != nil {
		t.Fatal(err)
	}
	b.Kernel.Version = "6.1.0-0-not-served"
	var log strings.Builder
	logf := func(format string, args ...any) { fmt.Fprintf(&log, format+"\n", args...) }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	k, err := FetchKernel(ctx, t.TempDir(), b, logf)
	if err != nil {
		t.Fatalf("FetchKernel: %v\nlog:\n%s", err, log.String())
	}
	if !k.Fallback || k.Version == b.Kernel.Version || !strings.HasPrefix(k.Package, "linux-image-") {
		t.Errorf("kernel %+v: want a fallback to what %s resolves to", k, b.Kernel.Meta)
	}
	if !strings.Contains(log.String(), "WARNING: USING "+k.Package+" "+k.Version) {
		t.Errorf("no loud warning naming the version used:\n%s", log.String())
	}
	if _, err := os.Stat(k.ModuleDir() + "/modules.dep"); err != nil {
		t.Errorf("fallback kernel has no modules.dep: %v", err)
	}
	t.Logf("fell back to %s %s", k.Package, k.Version)
}
