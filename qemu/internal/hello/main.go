// Command hello is a stand-in init for boot tests and the bare-boot benchmark: it prints one line naming
// the board from /etc/palisade/board and powers the machine off.
package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

func main() {
	name, err := os.ReadFile("/etc/palisade/board")
	if err != nil {
		fmt.Printf("palisade-hello: reading board: %v\n", err)
	}
	fmt.Printf("palisade-hello: init running on %s\n", strings.TrimSpace(string(name)))
	time.Sleep(100 * time.Millisecond) // let the UART drain
	syscall.Sync()
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Printf("palisade-hello: power off: %v\n", err)
	}
	select {} // PID 1 must not exit
}
