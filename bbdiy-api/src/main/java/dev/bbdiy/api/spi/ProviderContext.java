package dev.bbdiy.api.spi;

import dev.bbdiy.api.BitbucketInstance;
import java.nio.file.Path;

/** What a provider is created with: its settings, the instance it serves and where it may keep files. */
public interface ProviderContext {
  /** Returns the provider's settings, already validated against {@link Provider#settings()}. */
  Settings settings();

  /** Returns the instance being backed up or restored. */
  BitbucketInstance instance();

  /**
   * Returns the working directory of this instance (Atlassian's {@code BITBUCKET_BACKUP_ROOT}): the root of the
   * {@linkplain dev.bbdiy.api.BackupLayout backup layout} file-based providers write. It exists before {@code
   * preflight} of a backup is called. Keep files of your own in {@link #stateDirectory()}, not here.
   */
  Path workDir();

  /**
   * Returns this provider's private directory (0700), which survives between runs: indexes, passfiles, the last
   * full backup a differential needs, anything the provider keeps for itself. It is created when first asked
   * for, below the working directory ({@code <workDir>/.bbdiy/providers/<name>}); no other provider uses it.
   */
  Path stateDirectory();

  /** Returns the bbdiy version, for tags and manifests. */
  String toolVersion();
}
