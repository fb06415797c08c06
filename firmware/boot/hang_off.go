//go:build !palisade_hangtrial

package boot

const hangBeforeConfirm = false
