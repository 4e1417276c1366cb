package dev.bbdiy.api.spi;

import java.util.List;
import java.util.Set;

/**
 * A provider factory: stateless, found through {@link java.util.ServiceLoader}, identified by a stable name.
 * Implementations must have a public no-argument constructor and be safe to call from any thread.
 */
public interface Provider {
  /**
   * Returns the name users write in their configuration: lower case, stable across versions, reusing the
   * vocabulary of Atlassian's scripts where one exists ({@code rsync}, {@code postgresql}, {@code amazon-ebs}).
   */
  String name();

  /** Returns one line describing what the provider does, for {@code bbdiy providers}. */
  String description();

  /** Returns the settings the provider accepts, under the configuration prefix {@code <name>.}. */
  List<Setting> settings();

  /** Returns what the provider can do. */
  default Set<Capability> capabilities() {
    return Set.of();
  }
}
