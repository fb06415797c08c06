package boot

import (
	"time"

	"github.com/palisade/palisade/firmware/software"
)

// confirmTrial makes the slot of a trial boot the default, now that it has
// come up and applied the configuration. An image built with the
// palisade_hangtrial tag never does, so that tests see the deadline bring
// the old slot back.
func confirmTrial(sw *software.Boot, say Say) {
	if hangBeforeConfirm {
		say("built with palisade_hangtrial: not confirming slot %s", sw.Running)
		// Not select{}: with every goroutine blocked Go would call it a
		// deadlock and PID 1 would die; the watchdog must be what reboots.
		for {
			time.Sleep(time.Hour)
		}
	}
	if err := sw.Confirm(); err != nil {
		say("confirming firmware slot %s: %v", sw.Running, err)
		return
	}
	say("firmware slot %s confirmed", sw.Running)
}
