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
 * @param fromLocalSnapshot whether the home is restored from the snapshot its provider kept on this machine
 *     (btrfs, ZFS with {@code keep-local}) instead of from the archive; the targets must be empty all the same
 */
public record RestoreRequest(
    BackupId id,
    @Nullable Path targetHome,
    Map<Path, Path> dataStoreTargets,
    @Nullable String targetDatabase,
    boolean home,
    boolean database,
    boolean allowUnverified,
    boolean fromLocalSnapshot) {

  public RestoreRequest {
    Objects.requireNonNull(id, "id");
    dataStoreTargets = Map.copyOf(dataStoreTargets);
    if (!home && !database) {
      throw new IllegalArgumentException("Restore at least the home or the database");
    }
  }

  /** A request that restores from the archive. */
  public RestoreRequest(BackupId id, @Nullable Path targetHome, Map<Path, Path> dataStoreTargets,
      @Nullable String targetDatabase, boolean home, boolean database, boolean allowUnverified) {
    this(id, targetHome, dataStoreTargets, targetDatabase, home, database, allowUnverified, false);
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
    private boolean fromLocalSnapshot;

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

    /**
     * Restores the home from the snapshot its provider kept on this machine instead of from the archive: much
     * faster, into the same empty targets. Only providers that keep local snapshots can (btrfs, ZFS).
     */
    public Builder fromLocalSnapshot(boolean fromSnapshot) {
      this.fromLocalSnapshot = fromSnapshot;
      return this;
    }

    public RestoreRequest build() {
      return new RestoreRequest(id, targetHome, dataStoreTargets, targetDatabase, home, database, allowUnverified,
          fromLocalSnapshot);
    }
  }
}
