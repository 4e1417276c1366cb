package dev.bbdiy.core;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupListener;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.RestoreResult;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.ArchiverProvider;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.BackupSource;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.ExtractResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.Provider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.core.internal.Cancellation;
import dev.bbdiy.core.internal.EngineContexts;
import dev.bbdiy.core.internal.EventSink;
import dev.bbdiy.kit.GitLockFiles;
import dev.bbdiy.core.internal.LockSession;
import dev.bbdiy.core.internal.LockStateFile;
import dev.bbdiy.kit.Ownership;
import dev.bbdiy.core.internal.Parallel;
import dev.bbdiy.kit.LockFile;
import dev.bbdiy.kit.PrivateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Drives providers through a backup with the shortest lock window, and restores, verifies, lists and prunes
 * backups.
 *
 * <h2>A backup</h2>
 *
 * <ol>
 *   <li>{@link Phase#PREFLIGHT}: an authenticated call to Bitbucket and every provider's checks, before any work.
 *   <li>{@link Phase#PREPARE}: the providers' heavy work, in parallel, while Bitbucket serves users.
 *   <li>{@link Phase#LOCK}, {@link Phase#CAPTURE}, {@link Phase#UNLOCK}: lock, start the external backup, wait
 *       until drained, capture in parallel, report 100%, unlock. Nothing else happens while locked.
 *   <li>{@link Phase#COMPLETE}: the providers finish from what they captured, in parallel, after the unlock.
 *   <li>{@link Phase#ARCHIVE}, {@link Phase#VERIFY}, {@link Phase#RETENTION}: store with the manifest, read it
 *       all back against the manifest, then apply retention. Only then is the backup reported.
 * </ol>
 *
 * <h2>Never left locked</h2>
 *
 * The lock is released on every path: provider failures, drain timeouts, failed tasks, exceptions, {@link
 * #cancel} (which the command line calls on Ctrl-C and SIGTERM) and the lock watchdog ({@link
 * Builder#maxLockWindow}). On failure or cancellation the engine first stops its own work (child processes
 * included), cancels Bitbucket's task, then unlocks, retrying. The unlock token is kept in a 0600 state file
 * while the lock is held; a later operation that finds it (after a SIGKILL, an OOM kill or a reboot) releases
 * that lock first, and {@link #recover()} does so on demand.
 *
 * <p>One operation runs at a time per working directory (an OS file lock); a second fails with {@link
 * ErrorCode#REFUSED} naming the process holding it. An engine is thread-safe, but runs one operation at a time.
 */
public final class BackupEngine {
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);
  /** How long publishing and retention wait for another process that holds the store's lock. */
  private static final Duration STORE_LOCK_WAIT = Duration.ofMinutes(30);

  private final BitbucketInstance instance;
  private final Path workDir;
  private final Path stateDir;
  private final @Nullable MaintenanceClient client;
  private final @Nullable HomeSnapshotterProvider homeProvider;
  private final @Nullable DatabaseDumperProvider databaseProvider;
  private final ArchiverProvider archiverProvider;
  private final Map<String, Settings> settings;
  private final boolean zeroDowntime;
  private final Duration drainTimeout;
  private final Duration maxLockWindow;
  private final RetentionPolicy retention;
  private final BackupListener listener;
  private final Clock clock;
  private final Map<String, String> engineSettings;
  private final AtomicReference<Cancellation> current = new AtomicReference<>();
  private volatile CountDownLatch idle = new CountDownLatch(0);

  private BackupEngine(Builder b) {
    this.instance = Objects.requireNonNull(b.instance, "instance");
    this.workDir = Objects.requireNonNull(b.workDir, "workDir").toAbsolutePath().normalize();
    this.stateDir = workDir.resolve(".bbdiy");
    this.client = b.client;
    this.homeProvider = b.homeProvider;
    this.databaseProvider = b.databaseProvider;
    this.archiverProvider = Objects.requireNonNull(b.archiverProvider,
        "archiver: every backup is stored by an archiver (e.g. tar)");
    this.zeroDowntime = b.zeroDowntime;
    this.drainTimeout = b.drainTimeout;
    this.maxLockWindow = b.maxLockWindow;
    this.retention = b.retention;
    this.listener = b.listener;
    this.clock = b.clock;
    Map<String, Settings> s = new LinkedHashMap<>();
    for (Provider p : providers()) {
      s.put(p.name(), Settings.of(p.name(), p.settings(), b.configuration));
    }
    this.settings = Map.copyOf(s);
    if (instance.type() == InstanceType.MESH && databaseProvider != null) {
      throw BbdiyException.configuration("A Mesh node has no database of its own: set database.type=none");
    }
    if (homeProvider == null && databaseProvider == null) {
      throw BbdiyException.configuration("Nothing to back up: configure home.type, database.type or both");
    }
    Map<String, String> es = new TreeMap<>();
    es.put("instance.name", instance.name());
    es.put("instance.type", instance.type().name());
    es.put("zero-downtime", Boolean.toString(zeroDowntime));
    es.put("bitbucket.drain-timeout", drainTimeout.toString());
    es.put("bitbucket.max-lock-window", maxLockWindow.toString());
    es.put("home.type", homeProvider == null ? "none" : homeProvider.name());
    es.put("database.type", databaseProvider == null ? "none" : databaseProvider.name());
    es.put("archive.type", archiverProvider.name());
    this.engineSettings = Map.copyOf(es);
  }

  /** Returns a new builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns the instance this engine backs up. */
  public BitbucketInstance instance() {
    return instance;
  }

  /** Returns the working directory. */
  public Path workDir() {
    return workDir;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Operations

  /**
   * Makes a backup. Returns only once the backup is complete, stored and verified.
   *
   * @throws BbdiyException on any failure, after unlocking Bitbucket and aborting what this run created; {@link
   *     ErrorCode#LEFT_LOCKED} if the unlock itself failed, with the command that unlocks
   */
  public BackupResult backup() {
    Instant start = clock.instant();
    BackupId id = BackupId.of(instance.name(), start);
    return operation("backup", id, run -> doBackup(run, start));
  }

  /**
   * Restores a backup. Every target must be empty or absent; the archive is verified against its manifest while
   * it is extracted, and the database is loaded only once that succeeded.
   */
  public RestoreResult restore(RestoreRequest request) {
    return operation("restore", request.id(), run -> doRestore(run, request));
  }

  /** Reads a stored backup back and checks it against its manifest, without restoring anything. */
  public VerifyResult verify(BackupId id) {
    return operation("verify", id, run -> run.events.phase(Phase.VERIFY, () -> {
      Archiver archiver = createArchiver();
      return archiver.verify(id, run.context(Phase.VERIFY, "archive", archiver.compresses()));
    }));
  }

  /** Returns the stored backups, newest first, including those made by other tools. */
  public List<StoredBackup> list() {
    return createArchiver().list();
  }

  /** Applies the retention policy now; returns the deleted backups. */
  public List<BackupId> prune() {
    return operation("prune", null, run -> run.events.phase(Phase.RETENTION, () -> {
      Archiver archiver = createArchiver();
      try (Archiver.Lock storeLock = archiver.lock(STORE_LOCK_WAIT,
          run.context(Phase.RETENTION, archiverProvider.name(), archiver.compresses()))) {
        return doPrune(run, null, archiver);
      }
    }));
  }

  /**
   * Releases a lock an interrupted run left behind, from its state file: cancels its Bitbucket task and unlocks.
   *
   * @throws BbdiyException {@link ErrorCode#LEFT_LOCKED} if it cannot be released, with what to do
   */
  public RecoveryResult recover() {
    return operation("recover", null, this::doRecover);
  }

  /**
   * Checks configuration, credentials and every provider's preflight without locking anything.
   *
   * @return warnings; problems throw
   */
  public List<String> check() {
    return operation("check", null, run -> {
      List<Source> sources = createSources();
      Archiver archiver = createArchiver();
      run.events.phase(Phase.PREFLIGHT, () -> preflight(run, sources, archiver));
      return run.events.warnings();
    });
  }

  /**
   * Cancels the running operation: stops providers and child processes, cancels Bitbucket's task and unlocks.
   * Returns at once; {@link #awaitIdle} waits for the cleanup to end.
   *
   * @return whether an operation was running
   */
  public boolean cancel(String reason) {
    Cancellation c = current.get();
    return c != null && c.cancel(reason);
  }

  /**
   * Registers a JVM shutdown hook (run on Ctrl-C and SIGTERM) that cancels the running operation and waits up to
   * {@code grace} for its cleanup, which unlocks Bitbucket, before the JVM exits. Close the registration to
   * remove the hook. Library users who handle signals themselves call {@link #cancel} instead.
   */
  public AutoCloseable cancelOnShutdown(Duration grace) {
    Thread hook = new Thread(() -> {
      if (cancel("the process received a termination signal (SIGTERM or Ctrl-C)")) {
        try {
          awaitIdle(grace);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }, "bbdiy-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    return () -> {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running or has run
      }
    };
  }

  /** Waits until no operation runs; returns whether that happened within {@code timeout}. */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    return idle.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Run plumbing

  /** The state of one operation. */
  private final class Run {
    final BackupId id;
    final EventSink events;
    final Cancellation cancellation;
    volatile boolean compresses = true;
    volatile @Nullable String bitbucketVersion;

    Run(BackupId id, EventSink events, Cancellation cancellation) {
      this.id = id;
      this.events = events;
      this.cancellation = cancellation;
    }

    RunContext context(Phase phase, String source, boolean compresses) {
      return new EngineContexts.Run(id, phase, workDir, events.reporter(source), cancellation, compresses);
    }

    RunContext cleanupContext(Phase phase, String source) {
      return new EngineContexts.Run(id, phase, workDir, events.reporter(source), Cancellation.never(), false);
    }
  }

  private interface Body<T> {
    T run(Run run);
  }

  private <T> T operation(String name, @Nullable BackupId id, Body<T> body) {
    Cancellation cancellation = new Cancellation();
    if (!current.compareAndSet(null, cancellation)) {
      throw BbdiyException.refused("This engine is already running an operation; run one at a time");
    }
    CountDownLatch done = new CountDownLatch(1);
    idle = done;
    EventSink events = new EventSink(listener, clock);
    Instant start = clock.instant();
    events.emit(new BackupEvent.OperationStarted(start, name, id));
    try (LockFile ignored = LockFile.acquire(stateDir, name)) {
      T result = body.run(new Run(id == null ? BackupId.of(instance.name(), start) : id, events, cancellation));
      events.emit(new BackupEvent.OperationFinished(clock.instant(), name, Duration.between(start,
          clock.instant()), null, null));
      return result;
    } catch (RuntimeException | Error e) {
      BbdiyException failure = classify(e, cancellation, name);
      events.emit(new BackupEvent.OperationFinished(clock.instant(), name, Duration.between(start,
          clock.instant()), failure.getMessage(), failure.code()));
      throw failure;
    } finally {
      current.set(null);
      done.countDown();
    }
  }

  private static BbdiyException classify(Throwable e, Cancellation cancellation, String operation) {
    if (e instanceof BbdiyException) {
      BbdiyException be = (BbdiyException) e;
      if (cancellation.isCancelled() && be.code() != ErrorCode.LEFT_LOCKED && be.code() != ErrorCode.INTERRUPTED
          && !cancellation.cancelledAfterFailure()) {
        BbdiyException interrupted = new BbdiyException(ErrorCode.INTERRUPTED,
            "The " + operation + " was cancelled (" + cancellation.reason() + ") and cleaned up after itself", e);
        return interrupted;
      }
      if (be.code() == ErrorCode.INTERRUPTED && cancellation.reason() != null) {
        return new BbdiyException(ErrorCode.INTERRUPTED, "The " + operation + " was cancelled ("
            + cancellation.reason() + ") and cleaned up after itself", e);
      }
      return be;
    }
    return new BbdiyException(ErrorCode.INTERNAL, "Unexpected failure of the " + operation + ": " + e, e);
  }

  private List<Provider> providers() {
    List<Provider> out = new ArrayList<>();
    if (homeProvider != null) {
      out.add(homeProvider);
    }
    if (databaseProvider != null) {
      out.add(databaseProvider);
    }
    out.add(archiverProvider);
    return out;
  }

  private ProviderContext providerContext(Provider p) {
    return new EngineContexts.Provider(settings.get(p.name()), instance, workDir, Version.current());
  }

  /** A home or database provider of this run. */
  private record Source(String name, Artifact.Kind kind, Provider provider, BackupSource source) {
    boolean has(Capability c) {
      return provider.capabilities().contains(c);
    }
  }

  private List<Source> createSources() {
    List<Source> out = new ArrayList<>();
    if (homeProvider != null) {
      out.add(new Source(homeProvider.name(), Artifact.Kind.HOME, homeProvider,
          homeProvider.create(providerContext(homeProvider))));
    }
    if (databaseProvider != null) {
      out.add(new Source(databaseProvider.name(), Artifact.Kind.DATABASE, databaseProvider,
          databaseProvider.create(providerContext(databaseProvider))));
    }
    return out;
  }

  private Archiver createArchiver() {
    return archiverProvider.create(providerContext(archiverProvider));
  }

  private <T> Map<String, T> parallel(Run run, Phase phase, List<Source> sources, SourceCall<T> call) {
    Map<String, Supplier<T>> tasks = new LinkedHashMap<>();
    for (Source s : sources) {
      tasks.put(s.name(), () -> call.call(s, run.context(phase, s.name(), run.compresses)));
    }
    return Parallel.run(phase.name().toLowerCase(java.util.Locale.ROOT), tasks, run.cancellation, STOP_TIMEOUT);
  }

  private interface SourceCall<T> {
    T call(Source source, RunContext context);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Backup

  private BackupResult doBackup(Run run, Instant startedAt) {
    EventSink events = run.events;
    recoverLeftover(run);
    List<Source> sources = createSources();
    Archiver archiver = createArchiver();
    run.compresses = archiver.compresses();
    events.phase(Phase.PREFLIGHT, () -> preflight(run, sources, archiver));

    Map<String, CaptureHandle> handles = new LinkedHashMap<>();
    LockedCapture locked = null;
    boolean pending = false;
    try {
      try (Cancellation.Section ignored = run.cancellation.interruptible()) {
        events.phase(Phase.PREPARE, () -> parallel(run, Phase.PREPARE, sources, (s, ctx) -> {
          s.source().prepare(ctx);
          return null;
        }));
      }
      Instant consistentAt;
      if (zeroDowntime) {
        consistentAt = clock.instant();
        try (Cancellation.Section ignored = run.cancellation.interruptible()) {
          events.phase(Phase.CAPTURE, () -> handles.putAll(
              parallel(run, Phase.CAPTURE, sources, (s, ctx) -> s.source().capture(ctx))));
        }
      } else {
        locked = lockedCapture(run, sources, handles);
        consistentAt = locked.consistentAt;
      }

      Map<String, Artifact> artifacts;
      try (Cancellation.Section ignored = run.cancellation.interruptible()) {
        artifacts = events.phase(Phase.COMPLETE, () -> parallel(run, Phase.COMPLETE, sources,
            (s, ctx) -> s.source().complete(ctx, handles.getOrDefault(s.name(), CaptureHandle.NONE))));
      }
      closeHandles(run, handles);

      List<String> paths = new ArrayList<>();
      for (Source s : sources) {
        Artifact a = Objects.requireNonNull(artifacts.get(s.name()), s.name() + " returned no artifact");
        for (String p : a.paths()) {
          if (!Files.exists(workDir.resolve(p))) {
            throw BbdiyException.provider(s.name(), "its artifact lists " + p + " but " + workDir.resolve(p)
                + " does not exist", null);
          }
          paths.add(p);
        }
      }
      Map<String, String> recorded = new TreeMap<>(engineSettings);
      settings.values().forEach(st -> recorded.putAll(st.describe()));
      BackupSummary summary = new BackupSummary(BackupSummary.FORMAT_VERSION, run.id, Version.current(),
          instance.name(), instance.type(), client == null ? null : client.baseUrl(), run.bitbucketVersion, startedAt,
          consistentAt, zeroDowntime, List.copyOf(artifacts.values()), recorded, events.phases(),
          locked == null ? null : locked.lockWindow, locked == null ? null : locked.drainedWindow, 0, 0);

      StoredBackup pendingBackup;
      try (Cancellation.Section ignored = run.cancellation.interruptible()) {
        pendingBackup = events.phase(Phase.ARCHIVE, () -> archiver.store(new BackupContent(workDir, paths, summary),
            run.context(Phase.ARCHIVE, archiverProvider.name(), archiver.compresses())));
      }
      pending = true;
      VerifyResult verification;
      Archiver.Lock storeLock;
      try (Cancellation.Section ignored = run.cancellation.interruptible()) {
        Verified v = events.phase(Phase.VERIFY, () -> {
          RunContext ctx = run.context(Phase.VERIFY, archiverProvider.name(), archiver.compresses());
          VerifyResult result = archiver.verify(run.id, ctx);
          if (!result.ok()) {
            return new Verified(result, null);
          }
          return new Verified(result, archiver.lock(STORE_LOCK_WAIT, ctx));
        });
        verification = v.result();
        storeLock = v.lock();
      }
      if (storeLock == null) {
        String problems = String.join("; ", verification.problems().subList(0,
            Math.min(5, verification.problems().size())));
        throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "Backup " + run.id + " was stored but failed"
            + " verification (" + problems + "), so it was removed; it was never listed, and earlier backups are"
            + " untouched. Check the storage of " + pendingBackup.location() + " and retry.");
      }
      StoredBackup stored;
      List<BackupId> pruned = List.of();
      try (storeLock) {
        // Published only now, verified, under the store's lock: a prune elsewhere never counts it before.
        stored = archiver.commit(run.id);
        pending = false;
        if (retention.deletesAnything()) {
          try (Cancellation.Section ignored = run.cancellation.interruptible()) {
            pruned = events.phase(Phase.RETENTION, () -> doPrune(run, run.id, archiver));
          } catch (BbdiyException e) {
            if (e.code() == ErrorCode.INTERRUPTED) {
              throw e;
            }
            events.warning("bbdiy", "retention failed, the backup itself is good: " + e.getMessage());
          }
        }
      }
      Instant end = clock.instant();
      return new BackupResult(stored.summary() == null ? summary : stored.summary(), stored, verification,
          events.phases(), locked == null ? null : locked.lockWindow, locked == null ? null : locked.drainedWindow,
          Duration.between(startedAt, end), pruned, events.warnings());
    } catch (RuntimeException | Error e) {
      if (pending) {
        try {
          archiver.delete(run.id); // pending: never listed, removed so nothing half-done remains
        } catch (RuntimeException ex) {
          events.warning("bbdiy", "could not remove the unpublished backup " + run.id + " (" + ex.getMessage()
              + "); it is not listed, and the next backup removes it");
          e.addSuppressed(ex);
        }
      }
      abort(run, sources, handles, e);
      closeHandles(run, handles);
      throw e;
    }
  }

  /** What the verify phase ends with: the result, and the store's lock when the backup is to be published. */
  private record Verified(VerifyResult result, Archiver.@Nullable Lock lock) {}

  private void abort(Run run, List<Source> sources, Map<String, CaptureHandle> handles, Throwable cause) {
    for (Source s : sources) {
      try {
        s.source().abort(run.cleanupContext(Phase.COMPLETE, s.name()), handles.get(s.name()));
      } catch (RuntimeException e) {
        run.events.warning(s.name(), "cleanup after the failure failed: " + e.getMessage());
        cause.addSuppressed(e);
      }
    }
  }

  private void closeHandles(Run run, Map<String, CaptureHandle> handles) {
    for (Map.Entry<String, CaptureHandle> e : handles.entrySet()) {
      try {
        e.getValue().close();
      } catch (Exception ex) {
        run.events.warning(e.getKey(), "could not release its capture: " + ex.getMessage());
      }
    }
    handles.clear();
  }

  private void preflight(Run run, List<Source> sources, Archiver archiver) {
    if (zeroDowntime) {
      for (Source s : sources) {
        if (!s.has(Capability.ATOMIC_CAPTURE)) {
          throw BbdiyException.configuration("Zero-downtime mode needs atomic point-in-time snapshots, but "
              + s.name() + " copies files while Bitbucket runs, which would give an inconsistent backup. Use"
              + " snapshot providers (amazon-ebs, amazon-rds) or turn zero-downtime mode off.");
        }
      }
      if (client != null) {
        ApplicationProperties props = client.applicationProperties();
        run.bitbucketVersion = props.version();
        if (!props.isAtLeast(4, 8)) {
          throw BbdiyException.configuration("Zero-downtime backups need Bitbucket 4.8 or later; "
              + client.baseUrl() + " runs " + props.version() + ". Turn zero-downtime mode off.");
        }
      } else {
        run.events.warning("bbdiy", "no Bitbucket URL configured: the version needed for zero-downtime mode"
            + " (4.8 or later) was not checked");
      }
    } else {
      if (client == null) {
        throw BbdiyException.configuration("Set bitbucket.url, bitbucket.user and bitbucket.password: a backup"
            + " locks Bitbucket for maintenance (or enable zero-downtime mode with snapshot providers)");
      }
      if ("MAINTENANCE".equals(client.health())) {
        throw new BbdiyException(ErrorCode.BITBUCKET_BUSY, "Bitbucket at " + client.baseUrl() + " is already"
            + " locked for maintenance by someone else. Wait for that maintenance to end; if a killed bbdiy run"
            + " left it, run 'bbdiy unlock --recover' on the machine it ran on.");
      }
      CredentialCheck check = client.checkCredentials();
      try {
        run.bitbucketVersion = client.applicationProperties().version();
      } catch (BbdiyException e) {
        run.events.warning("bitbucket", "could not read Bitbucket's version: " + e.getMessage());
      }
      if (!check.sysAdmin()) {
        run.events.warning("bitbucket", "user '" + check.user() + "' is not listed with SYS_ADMIN"
            + (check.permission() == null ? "" : " (listed: " + check.permission() + ")")
            + "; the lock needs SYS_ADMIN, which may come from a group");
      }
    }
    Map<String, Supplier<Void>> tasks = new LinkedHashMap<>();
    for (Source s : sources) {
      tasks.put(s.name(), () -> {
        s.source().preflight(run.context(Phase.PREFLIGHT, s.name(), archiver.compresses()));
        return null;
      });
    }
    tasks.put(archiverProvider.name(), () -> {
      archiver.preflight(run.context(Phase.PREFLIGHT, archiverProvider.name(), archiver.compresses()));
      return null;
    });
    try (Cancellation.Section ignored = run.cancellation.interruptible()) {
      Parallel.run("preflight", tasks, run.cancellation, STOP_TIMEOUT);
    }
  }

  /** What the locked part of a backup measured. */
  private record LockedCapture(Instant consistentAt, Duration lockWindow, @Nullable Duration drainedWindow) {}

  private LockedCapture lockedCapture(Run run, List<Source> sources, Map<String, CaptureHandle> handles) {
    LockSession session = LockSession.open(Objects.requireNonNull(client), new LockStateFile(stateDir),
        run.id.value(), run.cancellation, run.events, drainTimeout, maxLockWindow);
    Instant consistentAt;
    try (session) {
      consistentAt = clock.instant();
      int n = sources.size();
      AtomicInteger captured = new AtomicInteger();
      run.events.phase(Phase.CAPTURE, () -> handles.putAll(parallel(run, Phase.CAPTURE, sources, (s, ctx) -> {
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
    return new LockedCapture(consistentAt, session.lockWindow(), session.drainedWindow());
  }

  // ---------------------------------------------------------------------------------------------------------
  // Recovery

  private void recoverLeftover(Run run) {
    Optional<LockStateFile.State> state = new LockStateFile(stateDir).read();
    if (state.isEmpty()) {
      return;
    }
    run.events.warning("bbdiy", "an interrupted run (backup " + state.get().backupId() + ", pid "
        + state.get().pid() + " on " + state.get().host() + ") left Bitbucket locked; releasing that lock first");
    RecoveryResult r = doRecover(run);
    run.events.warning("bbdiy", r.message());
  }

  private RecoveryResult doRecover(Run run) {
    LockStateFile file = new LockStateFile(stateDir);
    if (client == null && file.read().isPresent()) {
      throw BbdiyException.configuration("An interrupted run left a lock (state file " + file.path() + "), but no"
          + " Bitbucket is configured to release it: set bitbucket.url and credentials");
    }
    return client == null
        ? new RecoveryResult(false, false, null, "No interrupted run left a lock in " + workDir)
        : recoverState(stateDir, workDir, client);
  }

  /**
   * Releases the lock an interrupted run left in {@code workDir}, without the rest of a configuration: what
   * {@code bbdiy unlock --recover} does in an emergency. Takes the working directory's run lock first.
   */
  public static RecoveryResult recover(Path workDir, MaintenanceClient client) {
    Path dir = workDir.toAbsolutePath().normalize();
    try (LockFile ignored = LockFile.acquire(dir.resolve(".bbdiy"), "recover")) {
      return recoverState(dir.resolve(".bbdiy"), dir, client);
    }
  }

  private static RecoveryResult recoverState(Path stateDir, Path workDir, MaintenanceClient client) {
    LockStateFile file = new LockStateFile(stateDir);
    Optional<LockStateFile.State> found = file.read();
    if (found.isEmpty()) {
      return new RecoveryResult(false, false, null, "No interrupted run left a lock in " + workDir);
    }
    LockStateFile.State s = found.get();
    if (!sameUrl(s.baseUrl(), client.baseUrl())) {
      throw BbdiyException.refused("The lock state in " + file.path() + " is for " + s.baseUrl()
          + ", but this configuration uses " + client.baseUrl() + ". Run with that bitbucket.url, or unlock by"
          + " hand" + (s.unlockToken() == null ? "" : ": " + client.unlockCommand(s.unlockToken()))
          + " and delete the file.");
    }
    if (s.unlockToken() == null) {
      String health = client.health();
      if ("MAINTENANCE".equals(health)) {
        throw new BbdiyException(ErrorCode.LEFT_LOCKED, "A run (backup " + s.backupId() + ", pid " + s.pid()
            + " on " + s.host() + ") was killed while it was locking Bitbucket, and Bitbucket is locked for"
            + " maintenance now, but the unlock token never reached disk. If no one else is doing maintenance,"
            + " restart Bitbucket to release the lock, then delete " + file.path() + ".");
      }
      file.clear();
      return new RecoveryResult(true, false, s.backupId(), "An interrupted run never got the lock ("
          + "Bitbucket reports " + health + "); nothing to release");
    }
    MaintenanceLock lock = client.adopt(s.unlockToken());
    if (s.cancelToken() != null) {
      try {
        client.cancel(new ExternalBackup("unknown", s.cancelToken()));
      } catch (BbdiyException e) {
        // The task may be over already; the unlock below ends it in any case.
      }
    }
    client.unlock(lock);
    file.clear();
    return new RecoveryResult(true, true, s.backupId(), "Released the lock that the interrupted backup "
        + s.backupId() + " (pid " + s.pid() + " on " + s.host() + ") left on " + s.baseUrl());
  }

  private static boolean sameUrl(String a, String b) {
    return a.replaceAll("/+$", "").equalsIgnoreCase(b.replaceAll("/+$", ""));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Retention

  /** Applies retention to the published backups of this instance. The caller holds the store's lock. */
  private List<BackupId> doPrune(Run run, @Nullable BackupId justMade, Archiver archiver) {
    List<Source> sources = createSources();
    List<StoredBackup> ours = new ArrayList<>();
    for (StoredBackup b : archiver.list()) {
      BackupSummary s = b.summary();
      if (s == null || !s.instance().equals(instance.name()) || !b.id().belongsTo(instance.name())) {
        continue;
      }
      if (client != null && s.bitbucketUrl() != null && !sameUrl(s.bitbucketUrl(), client.baseUrl())) {
        continue;
      }
      ours.add(b);
    }
    Set<StoredBackup> keep = retention.kept(ours, clock.instant());
    List<BackupId> deleted = new ArrayList<>();
    for (StoredBackup b : ours) {
      if (keep.contains(b) || b.id().equals(justMade)) {
        continue;
      }
      run.cancellation.throwIfCancelled();
      boolean artifactsGone = true;
      for (Artifact a : Objects.requireNonNull(b.summary()).artifacts()) {
        Optional<Source> owner = sourceFor(sources, a);
        if (owner.isPresent() && owner.get().has(Capability.EXTERNAL_ARTIFACTS)) {
          try {
            owner.get().source().deleteArtifact(a, run.context(Phase.RETENTION, a.provider(), false));
          } catch (BbdiyException e) {
            artifactsGone = false;
            run.events.warning(a.provider(), "could not delete what backup " + b.id() + " holds outside the"
                + " archive (" + e.getMessage() + "); keeping the backup");
          }
        }
      }
      if (artifactsGone) {
        archiver.delete(b.id());
        deleted.add(b.id());
        run.events.progress("bbdiy", "deleted backup " + b.id(), deleted.size(), -1, "backups");
      }
    }
    return deleted;
  }

  /** Returns the configured provider that made {@code a}, if any. */
  private static Optional<Source> sourceFor(List<Source> sources, Artifact a) {
    return sources.stream().filter(s -> s.kind() == a.kind() && s.name().equals(a.provider())).findFirst();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Restore

  private RestoreResult doRestore(Run run, RestoreRequest request) {
    EventSink events = run.events;
    Instant start = clock.instant();
    Archiver archiver = createArchiver();
    StoredBackup stored = archiver.find(request.id()).orElseThrow(() -> new BbdiyException(ErrorCode.NOT_FOUND,
        "No backup " + request.id() + " to restore. Available: " + describe(archiver.list())));
    BackupSummary summary = stored.summary();
    if (summary == null && !request.allowUnverified()) {
      throw BbdiyException.refused("Backup " + request.id() + " has no manifest (it was made by another tool,"
          + " such as Atlassian's scripts), so it cannot be verified before it is restored. Restore it anyway with"
          + " --allow-unverified.");
    }
    if (summary == null) {
      events.warning("bbdiy", "backup " + request.id() + " has no manifest: it is restored without verification");
    }
    List<Artifact> artifacts = summary != null ? summary.artifacts() : foreignArtifacts();
    Artifact homeArtifact = request.home()
        ? artifacts.stream().filter(a -> a.kind() == Artifact.Kind.HOME).findFirst().orElse(null) : null;
    Artifact dbArtifact = request.database()
        ? artifacts.stream().filter(a -> a.kind() == Artifact.Kind.DATABASE).findFirst().orElse(null) : null;
    if (homeArtifact == null && dbArtifact == null) {
      throw BbdiyException.configuration("Backup " + request.id() + " holds nothing of what was asked to restore");
    }

    // Where each part goes, and the safety checks, before anything is written.
    ExtractionPlan.Builder plan = ExtractionPlan.builder();
    List<Path> emptyTargets = new ArrayList<>();
    Path targetHome = null;
    Map<Path, Path> storeTargets = new LinkedHashMap<>();
    List<Source> sources = createSources();
    Source homeSource = null;
    if (homeArtifact != null) {
      if (homeArtifact.paths().isEmpty()) {
        homeSource = matchingSource(sources, homeArtifact);
      } else {
        targetHome = request.targetHome() != null ? request.targetHome() : instance.home();
        if (targetHome == null) {
          throw BbdiyException.configuration("Where should the home be restored? Set instance.home (BITBUCKET_HOME) or"
              + " pass --target-home");
        }
        targetHome = targetHome.toAbsolutePath().normalize();
        plan.map(BackupLayout.HOME, targetHome);
        emptyTargets.add(targetHome);
        for (Path store : dataStoresOf(homeArtifact)) {
          // Where a data store goes comes from the command line or the configuration, never from the archive:
          // the manifest's path is only the name of that part of the backup.
          Path target = request.dataStoreTargets().get(store);
          if (target == null && instance.dataStores().contains(store)) {
            target = store;
          }
          if (target == null) {
            throw BbdiyException.configuration("Backup " + request.id() + " holds the data store " + store
                + ", which this configuration does not list. Say where to restore it with --target-data-store "
                + store + "=<empty directory>, or add it to instance.data-stores (BITBUCKET_DATA_STORES).");
          }
          target = target.toAbsolutePath().normalize();
          storeTargets.put(store, target);
          plan.map(BackupLayout.dataStore(store), target);
          emptyTargets.add(target);
        }
        for (Path asked : request.dataStoreTargets().keySet()) {
          if (!storeTargets.containsKey(asked)) {
            throw BbdiyException.configuration("Backup " + request.id() + " holds no data store " + asked
                + " (it holds " + (storeTargets.isEmpty() ? "none" : storeTargets.keySet()) + "): check"
                + " --target-data-store");
          }
        }
      }
    }
    Source dbSource = null;
    Path dbTemp = null;
    String targetDatabase = request.targetDatabase();
    if (dbArtifact != null) {
      dbSource = matchingSource(sources, dbArtifact);
      if (!dbArtifact.paths().isEmpty()) {
        dbTemp = stateDir.resolve("restore-" + request.id().value()).resolve(BackupLayout.DATABASE);
        plan.map(BackupLayout.DATABASE, dbTemp);
      }
    }
    for (Path target : emptyTargets) {
      try {
        if (!PrivateFiles.isAbsentOrEmpty(target)) {
          throw BbdiyException.refused("Restore target " + target + " is not empty. A restore never overwrites:"
              + " move the old data away, or restore elsewhere (--target-home, --target-data-store).");
        }
      } catch (IOException e) {
        throw BbdiyException.refused("Cannot check restore target " + target + ": " + e.getMessage());
      }
    }
    final Path home = targetHome;
    final Source db = dbSource;
    final Source homeSnap = homeSource;
    final Path dbDir = dbTemp;
    events.phase(Phase.PREFLIGHT, () -> {
      if (db != null) {
        db.source().preflightRestore(restoreContext(run, dbArtifact, null, home, storeTargets, targetDatabase,
            db.name()));
      }
      if (homeSnap != null) {
        homeSnap.source().preflightRestore(restoreContext(run, homeArtifact, null, home, storeTargets,
            targetDatabase, homeSnap.name()));
      }
    });

    ExtractResult extracted = new ExtractResult(0, 0, false);
    dev.bbdiy.api.spi.RestoreOutcome dbOutcome = null;
    boolean needsExtract = home != null || dbDir != null;
    try {
      if (needsExtract) {
        if (dbDir != null) {
          PrivateFiles.deleteTree(dbDir.getParent());
          PrivateFiles.createPrivateDirectories(dbDir.getParent());
        }
        try (Cancellation.Section ignored = run.cancellation.interruptible()) {
          extracted = events.phase(Phase.EXTRACT, () -> archiver.extract(request.id(), plan.build(),
              run.context(Phase.EXTRACT, archiverProvider.name(), false)));
        } catch (RuntimeException e) {
          undoExtraction(run, emptyTargets);
          throw e;
        }
        if (summary != null && !extracted.verified()) {
          undoExtraction(run, emptyTargets);
          throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "Backup " + request.id() + " could not be"
              + " verified while it was restored; the restored files were removed");
        }
      }
      // The home is finished (ownership, stale git locks) before the database is loaded, so that a database
      // restore that fails leaves a complete home and '--database-only' is all that remains to do.
      if (homeArtifact != null) {
        try (Cancellation.Section ignored = run.cancellation.interruptible()) {
          events.phase(Phase.RESTORE_HOME, () -> {
            if (homeSnap != null) {
              homeSnap.source().restore(restoreContext(run, homeArtifact, null, home, storeTargets,
                  targetDatabase, homeSnap.name()));
            } else {
              finishHome(run, home, storeTargets);
            }
          });
        }
      }
      if (db != null) {
        try (Cancellation.Section ignored = run.cancellation.interruptible()) {
          dbOutcome = events.phase(Phase.RESTORE_DATABASE, () -> db.source().restore(restoreContext(run, dbArtifact,
              dbDir, home, storeTargets, targetDatabase, db.name())));
        } catch (RuntimeException e) {
          if (homeArtifact != null) {
            events.warning("bbdiy", "the home was restored" + (home == null ? "" : " into " + home) + " and is"
                + " complete, but the database restore failed; after fixing the cause, restore the database alone"
                + " with --database-only");
          }
          throw e;
        }
      }
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "Restore failed: " + e.getMessage(), e);
    } finally {
      if (dbDir != null) {
        try {
          PrivateFiles.deleteTree(dbDir.getParent());
        } catch (IOException e) {
          events.warning("bbdiy", "could not remove the temporary copy of the dump in " + dbDir.getParent());
        }
      }
    }
    return new RestoreResult(request.id(), home, List.copyOf(storeTargets.values()),
        dbOutcome == null ? null : dbOutcome.database(), extracted.files(), extracted.bytes(),
        needsExtract && extracted.verified(), events.phases(), Duration.between(start, clock.instant()),
        events.warnings());
  }

  private void finishHome(Run run, Path home, Map<Path, Path> storeTargets) {
    List<Path> roots = new ArrayList<>();
    roots.add(home);
    roots.addAll(storeTargets.values());
    int removed = 0;
    for (Path root : roots) {
      removed += GitLockFiles.removeStale(root, run.events.reporter("bbdiy"));
    }
    if (removed > 0) {
      run.events.progress("bbdiy", "removed " + removed + " stale git lock files", removed, removed, "files");
    }
    if (instance.uid().isPresent() || instance.gid().isPresent()) {
      for (Path root : roots) {
        Ownership.chown(root, instance.uid().orElse(-1), instance.gid().orElse(-1));
      }
    }
  }

  private void undoExtraction(Run run, List<Path> targets) {
    for (Path t : targets) {
      try {
        PrivateFiles.emptyDirectory(t);
      } catch (IOException e) {
        run.events.warning("bbdiy", "could not remove what was partly restored into " + t + ": " + e.getMessage());
      }
    }
  }

  private List<Artifact> foreignArtifacts() {
    List<Artifact> out = new ArrayList<>();
    List<String> homePaths = new ArrayList<>();
    homePaths.add(BackupLayout.HOME);
    for (Path store : instance.dataStores()) {
      homePaths.add(BackupLayout.dataStore(store));
    }
    out.add(new Artifact(homeProvider == null ? "unknown" : homeProvider.name(), Artifact.Kind.HOME, homePaths,
        Map.of()));
    if (databaseProvider != null) {
      out.add(new Artifact(databaseProvider.name(), Artifact.Kind.DATABASE, List.of(BackupLayout.DATABASE),
          Map.of()));
    }
    return out;
  }

  private static List<Path> dataStoresOf(Artifact home) {
    List<Path> stores = new ArrayList<>();
    String prefix = BackupLayout.DATA_STORES + "/";
    for (String p : home.paths()) {
      String name = ExtractionPlan.normalize(p); // the manifest is outside input: no '..', nothing absolute
      if (name.startsWith(prefix)) {
        stores.add(Path.of("/" + name.substring(prefix.length())));
      }
    }
    return stores;
  }

  private static Source matchingSource(List<Source> sources, Artifact a) {
    String key = a.kind() == Artifact.Kind.HOME ? "home.type" : "database.type";
    return sourceFor(sources, a).orElseThrow(() -> BbdiyException.configuration("The "
        + a.kind().name().toLowerCase(java.util.Locale.ROOT) + " of this backup was made by '" + a.provider()
        + "'; set " + key + "=" + a.provider() + " (with its settings) to restore it"));
  }

  private RestoreContext restoreContext(Run run, Artifact artifact, @Nullable Path source, @Nullable Path home,
      Map<Path, Path> stores, @Nullable String database, String name) {
    return new EngineContexts.Restore(run.id, artifact, source, home, stores, database, run.events.reporter(name),
        run.cancellation);
  }

  private static String describe(List<StoredBackup> backups) {
    if (backups.isEmpty()) {
      return "none";
    }
    List<String> ids = new ArrayList<>();
    for (StoredBackup b : backups.subList(0, Math.min(10, backups.size()))) {
      ids.add(b.id().value());
    }
    return String.join(", ", ids) + (backups.size() > 10 ? ", ..." : "");
  }

  // ---------------------------------------------------------------------------------------------------------
  // Builder

  /** Builds a {@link BackupEngine}. */
  public static final class Builder {
    private @Nullable BitbucketInstance instance;
    private @Nullable Path workDir;
    private @Nullable MaintenanceClient client;
    private @Nullable HomeSnapshotterProvider homeProvider;
    private @Nullable DatabaseDumperProvider databaseProvider;
    private @Nullable ArchiverProvider archiverProvider;
    private Map<String, String> configuration = Map.of();
    private boolean zeroDowntime;
    private Duration drainTimeout = Duration.ofMinutes(5);
    private Duration maxLockWindow = Duration.ofHours(1);
    private RetentionPolicy retention = RetentionPolicy.KEEP_ALL;
    private BackupListener listener = BackupListener.NONE;
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /** Sets the instance to back up (required). */
    public Builder instance(BitbucketInstance instance) {
      this.instance = instance;
      return this;
    }

    /** Sets the working directory (required): the working copy and run state live there. */
    public Builder workDir(Path workDir) {
      this.workDir = workDir;
      return this;
    }

    /** Sets the client of the Bitbucket to lock (required unless in zero-downtime mode). */
    public Builder bitbucket(MaintenanceClient client) {
      this.client = client;
      return this;
    }

    /** Sets the home snapshotter; none means the home is not backed up. */
    public Builder home(@Nullable HomeSnapshotterProvider provider) {
      this.homeProvider = provider;
      return this;
    }

    /** Sets the database dumper; none means the database is not backed up. */
    public Builder database(@Nullable DatabaseDumperProvider provider) {
      this.databaseProvider = provider;
      return this;
    }

    /** Sets the archiver (required). */
    public Builder archiver(ArchiverProvider provider) {
      this.archiverProvider = provider;
      return this;
    }

    /**
     * Sets the provider configuration: every key with its full name ({@code tar.dir}, {@code postgresql.host}).
     * Keys of the chosen providers are validated when the engine is built.
     */
    public Builder configuration(Map<String, String> configuration) {
      this.configuration = Map.copyOf(configuration);
      return this;
    }

    /**
     * Backs up without locking (Bitbucket 4.8 or later). Only for providers with atomic point-in-time
     * snapshots ({@link Capability#ATOMIC_CAPTURE}); refused otherwise.
     */
    public Builder zeroDowntime(boolean zeroDowntime) {
      this.zeroDowntime = zeroDowntime;
      return this;
    }

    /** Sets how long to wait for Bitbucket to drain (default 5 minutes). */
    public Builder drainTimeout(Duration timeout) {
      this.drainTimeout = positive(timeout, "drainTimeout");
      return this;
    }

    /**
     * Sets the lock watchdog: when Bitbucket has been locked this long, the backup is cancelled and Bitbucket
     * unlocked (default 1 hour).
     */
    public Builder maxLockWindow(Duration limit) {
      this.maxLockWindow = positive(limit, "maxLockWindow");
      return this;
    }

    /** Sets the retention policy applied after each backup (default: keep everything). */
    public Builder retention(RetentionPolicy retention) {
      this.retention = Objects.requireNonNull(retention, "retention");
      return this;
    }

    /** Sets the listener of progress and lifecycle events. */
    public Builder listener(BackupListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /** Sets the clock (tests). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Returns the engine.
     *
     * @throws BbdiyException with {@link ErrorCode#CONFIGURATION} for a missing or invalid setting
     */
    public BackupEngine build() {
      if (instance == null) {
        throw BbdiyException.configuration("The instance (instance.name, instance.home) is not configured");
      }
      if (workDir == null) {
        throw BbdiyException.configuration("work.dir is not configured: set the working directory (Atlassian's"
            + " BITBUCKET_BACKUP_ROOT)");
      }
      if (archiverProvider == null) {
        throw BbdiyException.configuration("archive.type is not configured: set an archiver such as tar");
      }
      return new BackupEngine(this);
    }

    private static Duration positive(Duration d, String name) {
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive");
      }
      return d;
    }
  }
}
