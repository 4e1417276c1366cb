package dev.bbdiy.api.spi;

import java.util.List;
import java.util.Map;
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

  /**
   * Returns the values of a strategy variable of Atlassian's vars file ({@code BACKUP_DISK_TYPE}, {@code
   * BACKUP_ARCHIVE_TYPE}) other than {@link #name()} that select this provider when no provider has that name,
   * each with the settings it implies: keys below the provider's prefix, and values that are either literal or
   * exactly {@code ${VARIABLE}}, the value of another variable of the file (an implied setting whose variable is
   * unset or empty is left out). Example: {@code tar} answers to {@code gpg-zip} with {@code
   * require-encryption=true} and {@code gpg-recipient=${BITBUCKET_BACKUP_GPG_RECIPIENT}}. Default: none.
   */
  default Map<String, Map<String, String>> varsFileStrategies() {
    return Map.of();
  }

  /** Returns what the provider can do. */
  default Set<Capability> capabilities() {
    return Set.of();
  }
}
