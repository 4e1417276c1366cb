package dev.bbdiy.api.spi;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.Phase;
import java.nio.file.Path;

/** What a provider method is called with during a run. */
public interface RunContext {
  /** Returns the id of the backup being made (or verified, or pruned). */
  BackupId backupId();

  /** Returns the phase this call belongs to. */
  Phase phase();

  /**
   * Returns the root of the working copy: file-based providers write their part of the {@linkplain BackupLayout
   * backup layout} below it.
   */
  Path workDir();

  /** Returns where to report progress. */
  ProgressReporter progress();

  /** Returns the run's cancellation signal. */
  CancellationSignal cancellation();

  /**
   * Returns whether the archiver compresses what it stores, so that a provider can skip its own slower
   * compression (pg_dump {@code -Z 0}).
   */
  boolean archiveCompresses();

  /** Returns {@code <workDir>/bitbucket-home}. */
  default Path homeCopy() {
    return workDir().resolve(BackupLayout.HOME);
  }

  /** Returns where the copy of {@code store} goes: {@code <workDir>/bitbucket-data-stores/<store>}. */
  default Path dataStoreCopy(Path store) {
    return workDir().resolve(BackupLayout.dataStore(store));
  }

  /** Returns {@code <workDir>/bitbucket-db}. */
  default Path databaseCopy() {
    return workDir().resolve(BackupLayout.DATABASE);
  }

  /**
   * Declares, from {@link BackupSource#complete}, that the archiver reads the part {@code source.path()} of this
   * provider's artifact from {@code source.directory()} instead of from the working directory: how a snapshot
   * provider hands a read-only snapshot to the archiver without a staging copy. The artifact lists the path as
   * usual (the provider declares {@link Capability#FILE_OUTPUT}), and {@code <workDir>/<path>} must exist as a
   * directory, which the provider leaves empty. The directory must stay readable and unchanged until the backup
   * is verified or aborted; {@link BackupSource#close()} comes after both.
   *
   * @throws UnsupportedOperationException if this context cannot carry content sources (it is not a backup's
   *     {@code complete}); the default
   * @throws IllegalArgumentException if another source was already declared for the same path
   */
  default void readFrom(ContentSource source) {
    throw new UnsupportedOperationException("This run cannot read " + source.path() + " from " + source.directory()
        + ": content sources are declared from a backup's complete");
  }
}
