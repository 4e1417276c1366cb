/**
 * The {@code restic} archiver: each backup one restic snapshot of the backup layout and its manifest, in any
 * repository restic reaches (local, SFTP, S3, REST server...), deduplicated and encrypted by restic.
 */
@NullMarked
package dev.bbdiy.restic;

import org.jspecify.annotations.NullMarked;
