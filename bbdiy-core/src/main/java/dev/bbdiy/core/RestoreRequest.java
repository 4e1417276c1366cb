package dev.bbdiy.core;

import dev.bbdiy.api.BackupId;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What to restore and where. By default everything the backup holds is restored into the configured home, data
 * stores and database, each of which must be empty or absent.
 *
 * @param id the backup to restore
 * @param targetHome where to restore the home, or {@code null} for the configured one
 * @param dataStoreTargets where to restore data stores, by original path; unmapped stores go to their original path
 * @param targetDatabase the database to restore into, or {@code null} for the configured one
 * @param home whether to restore the home and data stores
 * @param database whether to restore the database
 * @param allowUnverified whether a backup without a manifest (made by Atlassian's scripts) may be restored
 */
public record RestoreRequest(
    BackupId id,
    @Nullable Path targetHome,
    Map<Path, Path> dataStoreTargets,
    @Nullable String targetDatabase,
    boolean home,
    boolean database,
    boolean allowUnverified) {

  public RestoreRequest {
    Objects.requireNonNull(id, "id");
    dataStoreTargets = Map.copyOf(dataStoreTargets);
    if (!home && !database) {
      throw new IllegalArgumentException("Restore at least the home or the database");
    }
  }

  /** Returns a builder restoring everything of {@code id} into the configured places. */
  public static Builder builder(BackupId id) {
    return new Builder(id);
  }

  /** Builds a {@link RestoreRequest}. */
  public static final class Builder {
    private final BackupId id;
    private @Nullable Path targetHome;
    private final Map<Path, Path> dataStoreTargets = new LinkedHashMap<>();
    private @Nullable String targetDatabase;
    private boolean home = true;
    private boolean database = true;
    private boolean allowUnverified;

    private Builder(BackupId id) {
      this.id = Objects.requireNonNull(id, "id");
    }

    /** Restores the home into {@code dir} instead of the configured home. */
    public Builder targetHome(Path dir) {
      this.targetHome = dir;
      return this;
    }

    /** Restores the data store backed up from {@code original} into {@code target}. */
    public Builder dataStore(Path original, Path target) {
      this.dataStoreTargets.put(original, target);
      return this;
    }

    /** Restores the database as {@code name} (it must not exist). */
    public Builder targetDatabase(String name) {
      this.targetDatabase = name;
      return this;
    }

    /** Restores only the home and data stores. */
    public Builder homeOnly() {
      this.home = true;
      this.database = false;
      return this;
    }

    /** Restores only the database. */
    public Builder databaseOnly() {
      this.home = false;
      this.database = true;
      return this;
    }

    /** Allows restoring a backup that has no manifest and so cannot be verified. */
    public Builder allowUnverified(boolean allow) {
      this.allowUnverified = allow;
      return this;
    }

    public RestoreRequest build() {
      return new RestoreRequest(id, targetHome, dataStoreTargets, targetDatabase, home, database, allowUnverified);
    }
  }
}
