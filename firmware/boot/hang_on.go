//go:build palisade_hangtrial

package boot

// hangBeforeConfirm makes a trial boot never confirm (tests of the A/B fallback).
const hangBeforeConfirm = true
