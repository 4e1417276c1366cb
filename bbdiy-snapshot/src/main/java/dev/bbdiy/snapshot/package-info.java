/**
 * On-premises snapshot providers: {@code btrfs}, {@code lvm} and {@code zfs} home snapshotters that take only a
 * snapshot while Bitbucket is locked and hand it read-only to the archiver (no staging copy), and the {@code
 * command} home and {@code command-database} providers that run the administrator's commands for each phase.
 */
@NullMarked
package dev.bbdiy.snapshot;

import org.jspecify.annotations.NullMarked;
