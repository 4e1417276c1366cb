package dev.bbdiy.api;

/**
 * The phases of a bbdiy operation, in the order a backup runs them. Only {@link #LOCK}, {@link #CAPTURE} and
 * {@link #UNLOCK} run while Bitbucket is locked; everything else runs while it serves users.
 */
public enum Phase {
  /** Validate configuration, tools, permissions and free space; no side effects. Bitbucket is live. */
  PREFLIGHT(false),
  /** Heavy incremental work before the lock (the first rsync pass). Bitbucket is live. */
  PREPARE(false),
  /** Lock, start the external backup, wait until database and git operations are drained. */
  LOCK(true),
  /** Take the consistent point (delta copy, snapshot, exported database snapshot). Bitbucket is locked. */
  CAPTURE(true),
  /** Report 100% and unlock. */
  UNLOCK(true),
  /** Slow work the capture made consistent (pg_dump of the exported snapshot, waiting for snapshots). */
  COMPLETE(false),
  /** Write the manifest and store the backup with the archiver. */
  ARCHIVE(false),
  /** Read the stored backup back and check it against its manifest. */
  VERIFY(false),
  /** Delete backups the retention rules no longer keep. */
  RETENTION(false),
  /** Restore: extract files to their targets. */
  EXTRACT(false),
  /**
   * Restore: load the database. A provider with {@link dev.bbdiy.api.spi.Capability#RESTORES_WHILE_EXTRACTING}
   * starts loading during {@link #EXTRACT}, once the dump is extracted; this phase is then the rest of the load.
   */
  RESTORE_DATABASE(false),
  /** Restore: restore the home (snapshot providers), fix ownership and remove stale git lock files. */
  RESTORE_HOME(false);

  private final boolean locked;

  Phase(boolean locked) {
    this.locked = locked;
  }

  /** Returns whether Bitbucket is locked for maintenance during this phase of a locking backup. */
  public boolean locked() {
    return locked;
  }
}
