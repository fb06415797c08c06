package qemu

import (
	"context"
	"fmt"
	"regexp"
	"time"
)

// BootTime boots box alone, waits for re on its console, and returns the time from starting QEMU to the
// match. The guest is killed afterwards. Compare a bare u-root boot (an init that prints a line) with a
// Palisade boot of the same kernel in the same run to see what Palisade adds.
func BootTime(ctx context.Context, box Box, re *regexp.Regexp) (time.Duration, error) {
	lab, g, err := Boot(ctx, box)
	if err != nil {
		return 0, err
	}
	defer lab.Close()
	if _, err := g.Expect(ctx, re); err != nil {
		return 0, fmt.Errorf("measuring boot of %s: %w", box.Name, err)
	}
	return time.Since(g.Started()), nil
}
