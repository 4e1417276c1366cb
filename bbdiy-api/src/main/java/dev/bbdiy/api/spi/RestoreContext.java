package dev.bbdiy.api.spi;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import java.nio.file.Path;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** What a provider restores from and into. */
public interface RestoreContext {
  /** Returns the backup being restored. */
  BackupId backupId();

  /** Returns the artifact this provider made at backup time, as the manifest recorded it. */
  Artifact artifact();

  /**
   * Returns where the engine extracted this artifact's files (for a database dump, a temporary directory), or
   * {@code null} before extraction ({@link BackupSource#preflightRestore}) and for artifacts without files.
   */
  @Nullable Path source();

  /** Returns the home directory to restore into, or {@code null} if the home is not restored. */
  @Nullable Path targetHome();

  /** Returns where each data store (by its original path) is restored. */
  Map<Path, Path> targetDataStores();

  /**
   * Returns the name of the database to restore into as the user gave it ({@code --target-database}), or {@code
   * null} to restore into the database this provider is configured for (its own setting). Either way the database
   * must not exist. A database provider is asked to restore only when the database is restored; it reports the
   * name it used in its {@link RestoreOutcome}.
   */
  @Nullable String targetDatabase();

  /**
   * Returns whether the home is restored from a snapshot the provider kept on this machine instead of from the
   * archive ({@link Capability#RESTORES_FROM_LOCAL_SNAPSHOT}): nothing was extracted, {@link #source()} is {@code
   * null}, and the provider fills {@link #targetHome()} and {@link #targetDataStores()}, which the engine checked
   * are empty or absent. The default is {@code false}.
   */
  default boolean fromLocalSnapshot() {
    return false;
  }

  /**
   * Returns where the engine extracted the parts of this home artifact that belong to no local target, by their
   * layout path: each Mesh node's {@code mesh/<node>} of a {@code mesh} backup, in a private temporary directory
   * the engine removes after the restore. Empty for every other artifact (the default).
   */
  default Map<String, Path> parts() {
    return Map.of();
  }

  /** Returns where to report progress. */
  ProgressReporter progress();

  /** Returns the run's cancellation signal. */
  CancellationSignal cancellation();

  /**
   * Waits until the engine has verified {@link #source()} against the manifest. Returns at once unless this
   * provider declared {@link Capability#RESTORES_WHILE_EXTRACTING}, whose restore may start before: it calls this
   * before it reports success.
   *
   * @throws dev.bbdiy.api.BbdiyException {@link dev.bbdiy.api.ErrorCode#VERIFICATION_FAILED} if the archive did
   *     not match its manifest or could not be read to its end, {@link dev.bbdiy.api.ErrorCode#INTERRUPTED} if
   *     the run was cancelled: the restore then undoes what it created
   */
  default void awaitSourceVerified() {}
}
