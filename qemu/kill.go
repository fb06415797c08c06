package qemu

// Kill ends the guest's QEMU at once, as pulling the power would: what the
// guest had not written to its disk is lost. It returns once QEMU has exited.
func (g *Guest) Kill() {
	g.kill()
	<-g.exited
}
