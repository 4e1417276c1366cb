package dev.bbdiy.testkit;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.RestoreContext;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The restore context {@link DatabaseDumperContract} hands a dumper: {@code verified} runs as {@link
 * RestoreContext#awaitSourceVerified()}, so a test decides whether the archive behind the restore verified.
 */
final class DumperRestoreContext implements RestoreContext {
  private final BackupId id;
  private final Artifact artifact;
  private final @Nullable Path source;
  private final @Nullable String target;
  private final CancellationSignal cancellation;
  private final Runnable verified;
  private final TestContexts.RecordingProgress progress = new TestContexts.RecordingProgress();

  DumperRestoreContext(Artifact artifact, @Nullable Path source, @Nullable String target,
      CancellationSignal cancellation, Runnable verified) {
    this.id = BackupId.of("bitbucket", Instant.now());
    this.artifact = artifact;
    this.source = source;
    this.target = target;
    this.cancellation = cancellation;
    this.verified = verified;
  }

  @Override
  public BackupId backupId() {
    return id;
  }

  @Override
  public Artifact artifact() {
    return artifact;
  }

  @Override
  public @Nullable Path source() {
    return source;
  }

  @Override
  public @Nullable Path targetHome() {
    return null;
  }

  @Override
  public Map<Path, Path> targetDataStores() {
    return Map.of();
  }

  @Override
  public @Nullable String targetDatabase() {
    return target;
  }

  @Override
  public ProgressReporter progress() {
    return progress;
  }

  @Override
  public CancellationSignal cancellation() {
    return cancellation;
  }

  @Override
  public void awaitSourceVerified() {
    verified.run();
  }
}
