package dev.bbdiy.api.spi;

import dev.bbdiy.api.Artifact;
import org.jspecify.annotations.Nullable;

/**
 * The lifecycle shared by {@link HomeSnapshotter} and {@link DatabaseDumper}. See the {@linkplain
 * dev.bbdiy.api.spi package documentation} for the order of the phases and which one runs while Bitbucket is
 * locked.
 *
 * <p>An instance serves one operation (a backup, a restore, a prune) and is then {@linkplain #close() closed}.
 * Its methods are called one at a time, but not always on the same thread: {@code capture} and {@code complete}
 * in particular run on different threads, so keep what capture holds (an open transaction) in the {@link
 * CaptureHandle} or in fields, never in a {@code ThreadLocal}.
 *
 * <p>Failures are reported by throwing {@link dev.bbdiy.api.BbdiyException}: {@link
 * dev.bbdiy.api.ErrorCode#CONFIGURATION} from {@code preflight} for anything the administrator must fix before
 * a backup can run (a missing tool, a wrong path, a missing permission: exit code 2, nothing was done), {@link
 * dev.bbdiy.api.ErrorCode#PROVIDER_FAILED} for a failure while working (exit code 5). Messages say what to do.
 */
public interface BackupSource extends AutoCloseable {
  /**
   * Checks configuration, tools and their versions, permissions and free space, without side effects. Runs
   * before anything else, while Bitbucket is live; the working directory and the {@linkplain
   * ProviderContext#stateDirectory() state directory} exist.
   */
  void preflight(RunContext context);

  /** Does heavy incremental work while Bitbucket is live. The default does nothing. */
  default void prepare(RunContext context) {}

  /**
   * Takes the consistent point. Runs <b>while Bitbucket is locked and drained</b>: do only what needs the lock
   * and return as soon as the point is taken.
   */
  CaptureHandle capture(RunContext context);

  /**
   * Finishes the backup after Bitbucket is unlocked, from the point {@code capture} took. Files go under {@link
   * RunContext#workDir()} in the {@linkplain dev.bbdiy.api.BackupLayout backup layout}, and the provider owns its
   * part of it: afterwards it holds exactly this run's files, nothing of an earlier run. A dumper that writes a
   * whole new dump each time writes it into a new directory and swaps it in (the kit's {@code
   * PrivateFiles.replaceDirectory}), so that a failed run leaves the previous dump as it was; what must survive
   * between runs (an index, the last full backup a differential needs) belongs in the state directory.
   *
   * @return what was produced, recorded in the manifest: with paths exactly when the provider declares {@link
   *     Capability#FILE_OUTPUT}
   */
  Artifact complete(RunContext context, CaptureHandle capture);

  /**
   * Undoes what this run created after a failure in any later phase: snapshots, partial files. Never touches
   * what earlier backups own. Called at most once, even if {@code prepare} or {@code capture} failed; must not
   * throw for things that were never created. It runs while the run is being cancelled, with a signal that is
   * not: bound waits by a timeout of your own.
   *
   * @param capture the handle if {@code capture} returned one
   */
  default void abort(RunContext context, @Nullable CaptureHandle capture) {}

  /**
   * Checks, without side effects, that a restore of {@code context.artifact()} can proceed: tools present,
   * targets empty or absent, a database of the target name not existing, the rights to create it.
   */
  default void preflightRestore(RestoreContext context) {}

  /**
   * Restores an artifact this provider made. When the artifact has files ({@link Capability#FILE_OUTPUT}), the
   * engine has already extracted and verified them ({@link RestoreContext#source()}); the provider loads or places
   * them. A failed restore removes what it created (a half-loaded database).
   *
   * @return where it restored to and what it checked, reported as such
   */
  RestoreOutcome restore(RestoreContext context);

  /**
   * Deletes what an artifact references outside the archive (snapshots), when retention drops its backup.
   * The default does nothing, which is right for providers whose artifacts are files in the archive.
   */
  default void deleteArtifact(Artifact artifact, RunContext context) {}

  /**
   * Releases what interrupted runs of this provider left behind (snapshots, mounts) as recorded in its {@linkplain
   * ProviderContext#stateDirectory() state directory}, and returns how many things it released; a record of a
   * process still running is left alone. Called by {@code bbdiy unlock --recover} after the lock is released (a
   * provider may also do it itself before its next backup). The default releases nothing.
   */
  default int releaseLeftovers(RunContext context) {
    return 0;
  }

  /**
   * Releases what this instance holds (clients, connection pools, threads) once its operation is over, on every
   * path, after {@code abort}. The default does nothing. Must not throw.
   */
  @Override
  default void close() {}
}
