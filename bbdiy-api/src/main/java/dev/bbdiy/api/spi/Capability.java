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
  /** An archiver that writes to a remote store without a local archive file. */
  REMOTE
}
