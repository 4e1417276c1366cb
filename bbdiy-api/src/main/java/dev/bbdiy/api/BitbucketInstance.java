package dev.bbdiy.api;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import org.jspecify.annotations.Nullable;

/**
 * What is being backed up: the instance's name (used in backup ids), its kind, where its home and data stores
 * are, and which repositories are left out.
 *
 * @param name the instance name, Atlassian's {@code INSTANCE_NAME}; used as the backup id prefix
 * @param type Bitbucket or a Mesh node
 * @param home the home directory, or {@code null} when no home provider reads it (database-only backups)
 * @param dataStores additional data stores (Atlassian's {@code BITBUCKET_DATA_STORES}), absolute paths
 * @param excludedRepositories repository ids left out of the backup ({@code BITBUCKET_BACKUP_EXCLUDE_REPOS})
 * @param ownerUid the uid restored files are given ({@code BITBUCKET_UID}), or -1 to keep the archived one
 * @param ownerGid the gid restored files are given ({@code BITBUCKET_GID}), or -1 to keep the archived one
 */
public record BitbucketInstance(
    String name,
    InstanceType type,
    @Nullable Path home,
    List<Path> dataStores,
    List<String> excludedRepositories,
    int ownerUid,
    int ownerGid) {

  public BitbucketInstance {
    Objects.requireNonNull(name, "name");
    new BackupId(name); // same character rules as the id prefix
    Objects.requireNonNull(type, "type");
    dataStores = List.copyOf(dataStores);
    excludedRepositories = List.copyOf(excludedRepositories);
    for (String id : excludedRepositories) {
      if (!id.matches("\\d+")) {
        throw BbdiyException.configuration(
            "Excluded repository id '" + id + "' is not a number: list repository ids, not names");
      }
    }
    for (Path store : dataStores) {
      if (!store.isAbsolute()) {
        throw BbdiyException.configuration("Data store '" + store + "' must be an absolute path");
      }
    }
  }

  /** Returns an instance named {@code name} with its home at {@code home} and nothing else configured. */
  public static BitbucketInstance of(String name, @Nullable Path home) {
    return new BitbucketInstance(name, InstanceType.BITBUCKET, home, List.of(), List.of(), -1, -1);
  }

  /** Returns the uid restored files get, if one is configured. */
  public OptionalInt uid() {
    return ownerUid < 0 ? OptionalInt.empty() : OptionalInt.of(ownerUid);
  }

  /** Returns the gid restored files get, if one is configured. */
  public OptionalInt gid() {
    return ownerGid < 0 ? OptionalInt.empty() : OptionalInt.of(ownerGid);
  }
}
