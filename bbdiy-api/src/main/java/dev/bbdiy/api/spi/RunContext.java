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
}
