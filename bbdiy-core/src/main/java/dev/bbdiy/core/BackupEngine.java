package dev.bbdiy.core;

import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupListener;
import dev.bbdiy.api.BackupResult;
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
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.Provider;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.core.internal.BackupRun;
import dev.bbdiy.core.internal.Cancellation;
import dev.bbdiy.core.internal.EngineSetup;
import dev.bbdiy.core.internal.EventSink;
import dev.bbdiy.core.internal.Operation;
import dev.bbdiy.core.internal.OperationProviders;
import dev.bbdiy.core.internal.Preflight;
import dev.bbdiy.core.internal.Recovery;
import dev.bbdiy.core.internal.RestoreRun;
import dev.bbdiy.core.internal.Retention;
import dev.bbdiy.kit.LockFile;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
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
 *   <li>{@link Phase#ARCHIVE}, {@link Phase#VERIFY}, {@link Phase#RETENTION}: store with the manifest (pending),
 *       read it all back against the manifest, publish it under the store's lock, then apply retention. Only then
 *       is the backup reported.
 * </ol>
 *
 * <p>The engine is a facade: each operation is one class of {@code dev.bbdiy.core.internal} read top to bottom
 * ({@code BackupRun}, {@code RestoreRun}, {@code Retention}, {@code Recovery}, the locked part in {@code
 * LockSession}); the provider instances of an operation are closed when it ends, on every path.
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
  private final EngineSetup setup;
  private final BackupListener listener;
  private final AtomicReference<Cancellation> current = new AtomicReference<>();
  private volatile CountDownLatch idle = new CountDownLatch(0);

  private BackupEngine(Builder b) {
    BitbucketInstance instance = Objects.requireNonNull(b.instance, "instance");
    ArchiverProvider archiver = Objects.requireNonNull(b.archiverProvider,
        "archiver: every backup is stored by an archiver (e.g. tar)");
    if (instance.type() == InstanceType.MESH && b.databaseProvider != null) {
      throw BbdiyException.configuration("A Mesh node has no database of its own: set database.type=none");
    }
    if (b.homeProvider == null && b.databaseProvider == null) {
      throw BbdiyException.configuration("Nothing to back up: configure home.type, database.type or both");
    }
    Map<String, Settings> settings = new LinkedHashMap<>();
    List<Provider> providers = new ArrayList<>();
    if (b.homeProvider != null) {
      providers.add(b.homeProvider);
    }
    if (b.databaseProvider != null) {
      providers.add(b.databaseProvider);
    }
    providers.add(archiver);
    for (Provider p : providers) {
      settings.put(p.name(), Settings.of(p.name(), p.settings(), b.configuration));
    }
    Map<String, String> recorded = new TreeMap<>();
    recorded.put("instance.name", instance.name());
    recorded.put("instance.type", instance.type().name());
    recorded.put("zero-downtime", Boolean.toString(b.zeroDowntime));
    recorded.put("bitbucket.drain-timeout", b.drainTimeout.toString());
    recorded.put("bitbucket.max-lock-window", b.maxLockWindow.toString());
    recorded.put("home.type", b.homeProvider == null ? "none" : b.homeProvider.name());
    recorded.put("database.type", b.databaseProvider == null ? "none" : b.databaseProvider.name());
    recorded.put("archive.type", archiver.name());
    this.setup = new EngineSetup(instance, Objects.requireNonNull(b.workDir, "workDir").toAbsolutePath().normalize(),
        b.client, b.homeProvider, b.databaseProvider, archiver, Map.copyOf(settings), b.zeroDowntime,
        b.drainTimeout, b.maxLockWindow, b.retention, b.clock, Map.copyOf(recorded));
    this.listener = b.listener;
  }

  /** Returns a new builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns the instance this engine backs up. */
  public BitbucketInstance instance() {
    return setup.instance();
  }

  /** Returns the working directory. */
  public Path workDir() {
    return setup.workDir();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Operations

  /**
   * Makes a backup. Returns only once the backup is complete, stored, verified and published.
   *
   * @throws BbdiyException on any failure, after unlocking Bitbucket and aborting what this run created; {@link
   *     ErrorCode#LEFT_LOCKED} if the unlock itself failed, with the command that unlocks
   */
  public BackupResult backup() {
    Instant start = setup.clock().instant();
    return operation("backup", BackupId.of(setup.instance().name(), start),
        (op, providers) -> new BackupRun(setup, op, providers).run(start));
  }

  /**
   * Restores a backup. Every target must be empty or absent; the archive is verified against its manifest while
   * it is extracted, the home is finished, and only then is the database loaded.
   */
  public RestoreResult restore(RestoreRequest request) {
    return operation("restore", request.id(), (op, providers) -> new RestoreRun(setup, op, providers, request).run());
  }

  /** Reads a stored backup back and checks it against its manifest, without restoring anything. */
  public VerifyResult verify(BackupId id) {
    return operation("verify", id, (op, providers) -> op.events().phase(Phase.VERIFY, () -> op.cancellation()
        .interruptibly(() -> providers.archiver().verify(id, op.context(Phase.VERIFY, providers.archiverName())))));
  }

  /** Returns the published backups, newest first, including those made by other tools. */
  public List<StoredBackup> list() {
    try (Archiver archiver = setup.archiver().create(setup.context(setup.archiver()))) {
      return archiver.list();
    }
  }

  /** Applies the retention policy now, under the store's lock; returns the deleted backups. */
  public List<BackupId> prune() {
    return operation("prune", null, (op, providers) -> op.events().phase(Phase.RETENTION, () -> {
      Archiver archiver = providers.archiver();
      try (Archiver.Lock storeLock = archiver.lock(BackupRun.STORE_LOCK_WAIT,
          op.context(Phase.RETENTION, providers.archiverName()))) {
        return new Retention(setup, op, providers).apply(archiver, null);
      }
    }));
  }

  /**
   * Releases what interrupted runs left in the providers' state directories (snapshots, mounts), as {@code bbdiy
   * unlock --recover} does once the lock is released. Takes the working directory's run lock, so never races a
   * backup of this configuration.
   *
   * @return how many things the providers released
   */
  public int releaseLeftovers() {
    return operation("recover", null, (op, providers) -> {
      int released = 0;
      for (OperationProviders.Source s : providers.sources()) {
        released += s.source().releaseLeftovers(op.context(Phase.PREPARE, s.name()));
      }
      return released;
    });
  }

  /**
   * Releases a lock an interrupted run left behind, from its state file: cancels its Bitbucket task and unlocks.
   *
   * @throws BbdiyException {@link ErrorCode#LEFT_LOCKED} if it cannot be released, with what to do
   */
  public RecoveryResult recover() {
    return operation("recover", null, (op, providers) -> Recovery.recover(setup));
  }

  /**
   * Releases the lock an interrupted run left in {@code workDir}, without the rest of a configuration: what
   * {@code bbdiy unlock --recover} does in an emergency. Takes the working directory's run lock first.
   */
  public static RecoveryResult recover(Path workDir, MaintenanceClient client) {
    Path dir = workDir.toAbsolutePath().normalize();
    try (LockFile ignored = LockFile.acquire(dir.resolve(".bbdiy"), "recover")) {
      return Recovery.recover(dir.resolve(".bbdiy"), dir, client);
    }
  }

  /**
   * Checks configuration, credentials and every provider's preflight without locking anything.
   *
   * @return warnings; problems throw
   */
  public List<String> check() {
    return operation("check", null, (op, providers) -> {
      Preflight.run(setup, op, providers);
      return op.events().warnings();
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
   * remove the hook. The JVM exits as soon as the cleanup ends: what the caller does after the operation's
   * exception (printing it, say) may be cut short; callers that must report handle signals themselves and call
   * {@link #cancel}, as the command line does.
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
  // One operation at a time

  private interface Body<T> {
    T run(Operation op, OperationProviders providers);
  }

  /**
   * Runs one operation: one at a time per engine and per working directory (an OS file lock), its events from
   * OperationStarted to OperationFinished, its providers closed at the end on every path.
   */
  private <T> T operation(String name, @Nullable BackupId id, Body<T> body) {
    Cancellation cancellation = new Cancellation();
    if (!current.compareAndSet(null, cancellation)) {
      throw BbdiyException.refused("This engine is already running an operation; run one at a time");
    }
    CountDownLatch done = new CountDownLatch(1);
    idle = done;
    Clock clock = setup.clock();
    EventSink events = new EventSink(listener, clock);
    Instant start = clock.instant();
    events.emit(new BackupEvent.OperationStarted(start, name, id));
    Operation op = new Operation(id == null ? BackupId.of(setup.instance().name(), start) : id, events,
        cancellation, setup.workDir());
    try (LockFile ignored = LockFile.acquire(setup.stateDir(), name);
        OperationProviders providers = new OperationProviders(setup, op)) {
      T result = body.run(op, providers);
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
        return new BbdiyException(ErrorCode.INTERRUPTED,
            "The " + operation + " was cancelled (" + cancellation.reason() + ") and cleaned up after itself", e);
      }
      if (be.code() == ErrorCode.INTERRUPTED && cancellation.reason() != null) {
        return new BbdiyException(ErrorCode.INTERRUPTED, "The " + operation + " was cancelled ("
            + cancellation.reason() + ") and cleaned up after itself", e);
      }
      return be;
    }
    return new BbdiyException(ErrorCode.INTERNAL, "Unexpected failure of the " + operation + ": " + e, e);
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
