package dev.bbdiy.core.internal;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.ContentSource;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.core.Version;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * One backup, top to bottom: release a lock a killed run left, preflight, prepare while Bitbucket is live, then
 * lock and capture (or capture without a lock in zero-downtime mode), complete after the unlock, store, verify,
 * publish and apply retention. Any failure aborts what this run created and removes its unpublished backup; the
 * lock is released on every path by the {@link LockSession}.
 */
public final class BackupRun {
  /** How long publishing and retention wait for another process that holds the store's lock. */
  public static final Duration STORE_LOCK_WAIT = Duration.ofMinutes(30);

  private final EngineSetup setup;
  private final Operation op;
  private final OperationProviders providers;
  private final EventSink events;
  private final Map<String, CaptureHandle> handles = new LinkedHashMap<>();
  private boolean pending;

  public BackupRun(EngineSetup setup, Operation op, OperationProviders providers) {
    this.setup = setup;
    this.op = op;
    this.providers = providers;
    this.events = op.events();
  }

  /** What the capture measured: the consistent point, and the windows when Bitbucket was locked. */
  private record Captured(Instant consistentAt, @Nullable Duration lockWindow, @Nullable Duration drainedWindow) {}

  /**
   * Makes the backup. Returns only once it is stored, verified and published.
   *
   * @param startedAt when the operation started, the backup's time
   */
  public BackupResult run(Instant startedAt) {
    Recovery.releaseLeftover(setup, op);
    Preflight.run(setup, op, providers);
    Archiver archiver = providers.archiver();
    try {
      events.phase(Phase.PREPARE, () -> providers.parallel(Phase.PREPARE, (s, ctx) -> {
        s.source().prepare(ctx);
        return Boolean.TRUE; // prepare has no result
      }));
      Captured captured = setup.zeroDowntime() ? captureLive() : captureLocked();
      Map<String, Artifact> artifacts = events.phase(Phase.COMPLETE, () -> providers.parallel(Phase.COMPLETE,
          (s, ctx) -> s.source().complete(ctx, handles.getOrDefault(s.name(), CaptureHandle.NONE))));
      closeHandles();
      BackupSummary summary = summary(startedAt, captured, artifacts);

      events.phase(Phase.ARCHIVE, () -> store(archiver, summary));
      pending = true;
      Archiver.Lock storeLock = events.phase(Phase.VERIFY, () -> verifyAndLock(archiver));
      StoredBackup stored;
      List<BackupId> pruned = List.of();
      try (storeLock) {
        // Published only now, verified and under the store's lock: a prune elsewhere never counts it before.
        stored = archiver.commit(op.id());
        pending = false;
        pruned = applyRetention(archiver);
      }
      return new BackupResult(stored.summary() == null ? summary : stored.summary(), stored,
          Objects.requireNonNull(verified),
          events.phases(), captured.lockWindow(), captured.drainedWindow(),
          Duration.between(startedAt, setup.clock().instant()), pruned, events.warnings());
    } catch (RuntimeException | Error e) {
      abort(archiver, e);
      throw e;
    }
  }

  private Captured captureLive() {
    Instant consistentAt = setup.clock().instant();
    events.phase(Phase.CAPTURE, () -> handles.putAll(providers.parallel(Phase.CAPTURE,
        (s, ctx) -> s.source().capture(ctx))));
    return new Captured(consistentAt, null, null);
  }

  private Captured captureLocked() {
    LockSession session = LockSession.open(Objects.requireNonNull(setup.client()), new LockStateFile(setup.stateDir()),
        op.id().value(), op.cancellation(), events, setup.drainTimeout(), setup.maxLockWindow());
    Instant consistentAt;
    try (session) {
      consistentAt = setup.clock().instant();
      int n = providers.sources().size();
      AtomicInteger captured = new AtomicInteger();
      events.phase(Phase.CAPTURE, () -> handles.putAll(providers.parallel(Phase.CAPTURE, (s, ctx) -> {
        CaptureHandle h = s.source().capture(ctx);
        int done = captured.incrementAndGet();
        if (done < n) {
          // The last one reports nothing: 100% follows at once, no round trip needed while locked.
          session.reportProgress(100 * done / (n + 1));
        }
        return h;
      })));
      session.captured();
    } catch (RuntimeException e) {
      throw session.outcome(e);
    }
    return new Captured(consistentAt, session.lockWindow(), session.drainedWindow());
  }

  private BackupSummary summary(Instant startedAt, Captured captured, Map<String, Artifact> artifacts) {
    for (OperationProviders.Source s : providers.sources()) {
      Artifact a = artifacts.get(s.name());
      if (a == null) {
        throw BbdiyException.provider(s.name(), "complete returned no artifact", null);
      }
      checkArtifact(s, a);
    }
    for (EngineContexts.ContentSources.Declared d : op.sources().all()) {
      Artifact a = artifacts.get(d.provider());
      if (a == null || !a.paths().contains(d.source().path())) {
        throw BbdiyException.provider(d.provider(), "it declared where " + d.source().path() + " is read from, but"
            + " its artifact does not list that path", null);
      }
      if (!Files.isDirectory(d.source().directory(), LinkOption.NOFOLLOW_LINKS)) {
        throw BbdiyException.provider(d.provider(), "the directory " + d.source().directory() + " it exposes as "
            + d.source().path() + " is not a directory", null);
      }
    }
    Map<String, String> recorded = new TreeMap<>(setup.recorded());
    setup.settings().values().forEach(st -> recorded.putAll(st.describe()));
    return new BackupSummary(BackupSummary.FORMAT_VERSION, op.id(), Version.current(), setup.instance().name(),
        setup.instance().type(), setup.client() == null ? null : setup.client().baseUrl(), op.bitbucketVersion(),
        startedAt, captured.consistentAt(), setup.zeroDowntime(), List.copyOf(artifacts.values()), recorded,
        events.phases(), captured.lockWindow(), captured.drainedWindow(), 0, 0);
  }

  /** An artifact lists files exactly when its provider declares {@link Capability#FILE_OUTPUT}, and they exist. */
  private void checkArtifact(OperationProviders.Source s, Artifact a) {
    if (!s.has(Capability.FILE_OUTPUT) && !a.paths().isEmpty()) {
      throw BbdiyException.provider(s.name(), "its artifact lists files " + a.paths() + " but the provider does"
          + " not declare FILE_OUTPUT; declare the capability, or keep the artifact outside the archive", null);
    }
    if (s.has(Capability.FILE_OUTPUT) && a.paths().isEmpty()) {
      throw BbdiyException.provider(s.name(), "it declares FILE_OUTPUT but its artifact lists no files", null);
    }
    for (String p : a.paths()) {
      Path file = setup.workDir().resolve(p);
      if (op.sources().get(p).isPresent() && !Files.isDirectory(file, LinkOption.NOFOLLOW_LINKS)) {
        throw BbdiyException.provider(s.name(), p + " is read from " + op.sources().get(p).get().source().directory()
            + " but its placeholder " + file + " is not a directory; create it, empty", null);
      }
      if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
        throw BbdiyException.provider(s.name(), "its artifact lists " + p + " but " + file + " does not exist",
            null);
      }
    }
  }

  private void store(Archiver archiver, BackupSummary summary) {
    List<String> paths = new ArrayList<>();
    List<ContentSource> sources = new ArrayList<>();
    for (Artifact a : summary.artifacts()) {
      paths.addAll(a.paths());
      for (String p : a.paths()) {
        op.sources().get(p).ifPresent(d -> sources.add(d.source()));
      }
    }
    if (!sources.isEmpty() && !setup.archiver().capabilities().contains(Capability.READS_CONTENT_SOURCES)) {
      throw BbdiyException.configuration("The " + providers.archiverName() + " archiver cannot store "
          + sources.get(0).path() + " from the snapshot the home provider exposes (" + sources.get(0).directory()
          + "): it would store the empty placeholder. Use archive.type=tar, directory or s3 with this home provider,"
          + " or a home provider that copies (copy, rsync) with this archiver.");
    }
    op.cancellation().interruptibly(() -> archiver.store(new BackupContent(setup.workDir(), paths, summary, sources),
        op.context(Phase.ARCHIVE, providers.archiverName())));
  }

  private @Nullable VerifyResult verified;

  /** Verifies the stored backup; takes the store's lock to publish it only if it verified. */
  private Archiver.Lock verifyAndLock(Archiver archiver) {
    RunContext ctx = op.context(Phase.VERIFY, providers.archiverName());
    VerifyResult result = op.cancellation().interruptibly(() -> archiver.verify(op.id(), ctx));
    if (!result.ok()) {
      String problems = String.join("; ", result.problems().subList(0, Math.min(5, result.problems().size())));
      throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "Backup " + op.id() + " was stored but failed"
          + " verification (" + problems + "), so it was removed; it was never listed, and earlier backups are"
          + " untouched. Check the storage and retry.");
    }
    verified = result;
    return archiver.lock(STORE_LOCK_WAIT, ctx);
  }

  private List<BackupId> applyRetention(Archiver archiver) {
    if (!setup.retention().deletesAnything()) {
      return List.of();
    }
    try {
      return events.phase(Phase.RETENTION, () -> new Retention(setup, op, providers).apply(archiver, op.id()));
    } catch (BbdiyException e) {
      if (e.code() == ErrorCode.INTERRUPTED) {
        throw e;
      }
      events.warning("bbdiy", "retention failed, the backup itself is good: " + e.getMessage());
      return List.of();
    }
  }

  /** Removes the unpublished backup, aborts every source and releases the capture handles. */
  private void abort(Archiver archiver, Throwable cause) {
    if (pending) {
      try {
        archiver.delete(op.id()); // never listed; removed so that nothing half-done remains
      } catch (RuntimeException e) {
        events.warning("bbdiy", "could not remove the unpublished backup " + op.id() + " (" + e.getMessage()
            + "); it is not listed, and the next backup removes it");
        cause.addSuppressed(e);
      }
    }
    for (OperationProviders.Source s : providers.sources()) {
      try {
        s.source().abort(op.cleanupContext(Phase.COMPLETE, s.name()), handles.get(s.name()));
      } catch (RuntimeException e) {
        events.warning(s.name(), "cleanup after the failure failed: " + e.getMessage());
        cause.addSuppressed(e);
      }
    }
    closeHandles();
  }

  private void closeHandles() {
    for (Map.Entry<String, CaptureHandle> e : handles.entrySet()) {
      try {
        e.getValue().close();
      } catch (Exception ex) {
        events.warning(e.getKey(), "could not release its capture: " + ex.getMessage());
      }
    }
    handles.clear();
  }
}
