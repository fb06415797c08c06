// Package software keeps the two firmware slots of a Palisade disk, A and B, and moves between them:
// install an upgrade bundle into the slot that is not running, boot it once on trial, and keep it only if
// it confirms itself.
//
// The slots live on the EFI system partition and systemd-boot chooses between them. Each slot is a
// directory palisade/a or palisade/b (kernel, initrd, manifest) and a Boot Loader Specification entry
// loader/entries/palisade-a.conf. The state is nothing but those files, so it survives any power cut that
// FAT's own renames survive, and systemd-boot and this package read the same truth:
//
//   - A confirmed entry has no boot counter in its name; its sort key says whether it is the default.
//   - A trial entry is named palisade-b+1.conf (DefaultTries boots left) and sorts before the default.
//     systemd-boot renames it to palisade-b+0-1.conf as it boots it. If the new firmware confirms, the
//     entry loses its counter and becomes the default; if not, the next boot finds no tries left, sorts
//     the entry last and boots the old default: the fallback needs no code on the failed firmware.
//   - A trial that hangs instead of rebooting is rebooted by the watchdog StartBoot arms (Deadline).
//
// The slot states and their moves:
//
//	empty --Add--> trial --boot, Confirm--> default (the other slot: other)
//	                 |
//	                 +--boot, no Confirm, reboot--> failed (sorted last; the old default boots)
//	default/other --Rollback--> other/default
//	failed/other --Add--> trial
//
// The pure part (entries, state, manifests, the choice systemd-boot makes) has no I/O; Read, Add, Confirm
// and Rollback act on an FS, which is the mounted ESP on the box (DirFS) and a FAT filesystem inside an
// image file on the host. StartBoot and Boot are what the init calls.
package software
