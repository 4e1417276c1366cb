package dev.bbdiy.core.internal;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.kit.Cancellations;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/** One running operation: its backup id, its events and its cancellation, and the contexts providers get. */
public final class Operation {
  private final BackupId id;
  private final EventSink events;
  private final Cancellation cancellation;
  private final Path workDir;
  private volatile boolean compresses = true;
  private volatile @Nullable String bitbucketVersion;
  private final EngineContexts.ContentSources sources = new EngineContexts.ContentSources();

  public Operation(BackupId id, EventSink events, Cancellation cancellation, Path workDir) {
    this.id = id;
    this.events = events;
    this.cancellation = cancellation;
    this.workDir = workDir;
  }

  public BackupId id() {
    return id;
  }

  public EventSink events() {
    return events;
  }

  public Cancellation cancellation() {
    return cancellation;
  }

  /** Tells providers whether the archiver compresses (so pg_dump need not). */
  public void archiveCompresses(boolean compresses) {
    this.compresses = compresses;
  }

  public @Nullable String bitbucketVersion() {
    return bitbucketVersion;
  }

  public void bitbucketVersion(@Nullable String version) {
    this.bitbucketVersion = version;
  }

  /** Returns the context of a provider call in {@code phase}, reporting as {@code source}. */
  public RunContext context(Phase phase, String source) {
    return new EngineContexts.Run(id, phase, workDir, events.reporter(source), cancellation, compresses, source,
        phase == Phase.COMPLETE ? sources : null);
  }

  /** Returns the content sources providers declared from complete. */
  public EngineContexts.ContentSources sources() {
    return sources;
  }

  /** Returns the context of cleanup that must run to its end even while the operation is cancelled. */
  public RunContext cleanupContext(Phase phase, String source) {
    return new EngineContexts.Run(id, phase, workDir, events.reporter(source), Cancellations.none(), false, source,
        null);
  }
}
