// Command init is Palisade's PID 1. See firmware/boot for the steps.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/palisade/palisade/firmware/initd"
)

func main() {
	if err := initd.Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout); err != nil {
		// PID 1 must not exit: initd.Run only returns on a failure to even
		// start, and then the console says why before the box halts.
		fmt.Fprintln(os.Stdout, "palisade init:", err)
		select {}
	}
}
