package dev.bbdiy.api.spi;

import dev.bbdiy.api.Artifact;
import org.jspecify.annotations.Nullable;

/**
 * The lifecycle shared by {@link HomeSnapshotter} and {@link DatabaseDumper}. See the {@linkplain
 * dev.bbdiy.api.spi package documentation} for the order of the phases and which one runs while Bitbucket is
 * locked.
 *
 * <p>An instance serves one run. Failures are reported by throwing {@link dev.bbdiy.api.BbdiyException}
 * (usually {@link dev.bbdiy.api.ErrorCode#PROVIDER_FAILED}) with a message that says what to do.
 */
public interface BackupSource {
  /**
   * Checks configuration, tools and their versions, permissions and free space, without side effects. Runs
   * before anything else, while Bitbucket is live.
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
   * RunContext#workDir()} in the {@linkplain dev.bbdiy.api.BackupLayout backup layout}.
   *
   * @return what was produced, recorded in the manifest
   */
  Artifact complete(RunContext context, CaptureHandle capture);

  /**
   * Undoes what this run created after a failure in any later phase: snapshots, partial files. Never touches
   * what earlier backups own. Called at most once, even if {@code prepare} or {@code capture} failed; must not
   * throw for things that were never created.
   *
   * @param capture the handle if {@code capture} returned one
   */
  default void abort(RunContext context, @Nullable CaptureHandle capture) {}

  /**
   * Checks, without side effects, that a restore of {@code context.artifact()} can proceed: tools present,
   * targets empty or absent, a database of the target name not existing.
   */
  default void preflightRestore(RestoreContext context) {}

  /**
   * Restores an artifact this provider made. For {@link Capability#FILE_OUTPUT} providers the engine has
   * already extracted the files ({@link RestoreContext#source()}); the provider loads or places them.
   */
  void restore(RestoreContext context);

  /**
   * Deletes what an artifact references outside the archive (snapshots), when retention drops its backup.
   * The default does nothing, which is right for providers whose artifacts are files in the archive.
   */
  default void deleteArtifact(Artifact artifact, RunContext context) {}
}
