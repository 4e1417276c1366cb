package dev.bbdiy.api.spi;

import dev.bbdiy.api.BitbucketInstance;
import java.nio.file.Path;

/** What a provider is created with: its settings and the instance it serves. */
public interface ProviderContext {
  /** Returns the provider's settings, already validated against {@link Provider#settings()}. */
  Settings settings();

  /** Returns the instance being backed up or restored. */
  BitbucketInstance instance();

  /**
   * Returns the working directory of this instance (Atlassian's {@code BITBUCKET_BACKUP_ROOT}): where
   * file-based providers keep their working copy between runs and where run state lives.
   */
  Path workDir();

  /** Returns the bbdiy version, for tags and manifests. */
  String toolVersion();
}
