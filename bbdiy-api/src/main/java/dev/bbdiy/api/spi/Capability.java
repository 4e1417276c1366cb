package dev.bbdiy.api.spi;

/** What a provider can do, declared so the engine can refuse combinations that would not be safe. */
public enum Capability {
  /**
   * {@code capture} takes an atomic, point-in-time image of everything the provider backs up (EBS, RDS, ZFS,
   * LVM snapshots). Only providers with this capability may run in zero-downtime mode.
   */
  ATOMIC_CAPTURE,
  /**
   * {@code complete} leaves files in the working directory, in the backup layout, that the archiver stores
   * (rsync, pg_dump), and lists them in its artifact; restore finds them extracted. The engine checks the
   * artifact of a provider with this capability lists paths that exist, and that of one without lists none.
   */
  FILE_OUTPUT,
  /** The provider's artifacts live outside the archive (cloud snapshots) and are deleted by the provider. */
  EXTERNAL_ARTIFACTS,
  /**
   * A database provider whose {@code restore} may start as soon as its files are extracted, while the rest of the
   * archive (the home) is still being extracted and before anything is verified against the manifest. Such a
   * restore must call {@link RestoreContext#awaitSourceVerified()} before it reports success, and undo what it
   * created (drop the database) when that throws, as on any failure. The engine then overlaps the load with the
   * home's extraction.
   */
  RESTORES_WHILE_EXTRACTING,
  /** An archiver that writes to a remote store without a local archive file. */
  REMOTE,
  /**
   * An archiver that stores a part of the layout from the directory a {@link ContentSource} names (a snapshot read
   * in place, minus its excludes) instead of the empty placeholder in the working directory. The engine refuses to
   * hand content sources to an archiver without it: it would store the placeholder, an empty home.
   */
  READS_CONTENT_SOURCES,
  /**
   * A home provider that can restore a backup from a snapshot it kept on the machine (btrfs, ZFS) instead of from
   * the archive, when the restore asks for it ({@link RestoreContext#fromLocalSnapshot()}): it copies the
   * snapshot's content, minus the backup's excludes, into the same empty targets an extraction would fill. The
   * engine refuses such a restore with any other provider.
   */
  RESTORES_FROM_LOCAL_SNAPSHOT
}
