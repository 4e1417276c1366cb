package dev.bbdiy.core.internal;

import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.core.BitbucketException;
import dev.bbdiy.core.ExternalBackup;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.MaintenanceLock;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The locked part of a backup as one resource: {@link #open} locks Bitbucket, records the unlock token in the state
 * file, starts the lock watchdog and the external backup, and waits until Bitbucket is drained; {@link #close}
 * reports 100% if the capture was {@link #captured() marked complete}, or else cancels Bitbucket's task, then
 * unlocks with retries, on every path.
 *
 * <pre>{@code
 * LockSession session = LockSession.open(client, state, backupId, cancellation, events, drainTimeout, limit);
 * try (session) {
 *   capture();                     // may call session.reportProgress(50)
 *   session.captured();
 * } catch (RuntimeException e) {
 *   throw session.outcome(e);      // a failed unlock comes first
 * }
 * }</pre>
 *
 * <h2>The lock window's limit</h2>
 *
 * Every call to Bitbucket made while it is locked (start the external backup, the status polls, the progress
 * reports, the cancel) goes through a {@link MaintenanceClient#limitedTo limited view} of the client: it ends by the
 * lock window's limit ({@code maxLockWindow} after the lock request), the status polls also by the drain timeout,
 * and a call in flight is aborted when the run is cancelled. At the limit the watchdog cancels the run, which stops
 * the providers and aborts the call in flight, whatever it is doing; a failure noticed at or after the limit is
 * reported as the watchdog's. Only the unlock then runs, with its own retry budget: the window lasts at most the
 * limit plus the unlock. The cancel of Bitbucket's task is made only while the window has time left; after the
 * limit the unlock alone ends the task, as Atlassian's scripts do.
 *
 * <p>Events: {@link Phase#LOCK} (with {@link BackupEvent.Locked} and {@link BackupEvent.Drained}) in {@link #open},
 * {@link Phase#UNLOCK} (with {@link BackupEvent.Unlocked}) in {@link #close} or in a failing {@link #open} that got
 * the lock. Not thread-safe but for {@link #reportProgress}, which capture threads call.
 */
public final class LockSession implements AutoCloseable {
  /** About 73 years: the most a duration is taken to mean, so that no deadline overflows. */
  private static final long MAX_NANOS = Long.MAX_VALUE / 4;

  private final MaintenanceClient client;
  private final LockStateFile state;
  private final String backupId;
  private final Cancellation cancellation;
  private final EventSink events;
  private final Clock clock;
  private final Duration drainTimeout;
  private final Duration maxLockWindow;
  private final ScheduledExecutorService watchdog;
  private long deadline;
  private @Nullable MaintenanceClient bitbucket;
  private @Nullable MaintenanceLock lock;
  private @Nullable ExternalBackup task;
  private @Nullable Instant drainedAt;
  private String lastDrainMessage = "";
  private volatile boolean captured;
  private boolean closed;
  private @Nullable BbdiyException unlockFailure;
  private @Nullable Duration lockWindow;
  private @Nullable Duration drainedWindow;

  private LockSession(MaintenanceClient client, LockStateFile state, String backupId, Cancellation cancellation,
      EventSink events, Duration drainTimeout, Duration maxLockWindow) {
    this.client = Objects.requireNonNull(client, "client");
    this.state = Objects.requireNonNull(state, "state");
    this.backupId = Objects.requireNonNull(backupId, "backupId");
    this.cancellation = Objects.requireNonNull(cancellation, "cancellation");
    this.events = Objects.requireNonNull(events, "events");
    this.clock = events.clock();
    this.drainTimeout = Objects.requireNonNull(drainTimeout, "drainTimeout");
    this.maxLockWindow = Objects.requireNonNull(maxLockWindow, "maxLockWindow");
    this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bbdiy-lock-watchdog");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Locks Bitbucket and waits until it is drained, as the {@link Phase#LOCK} phase. If that fails after the lock
   * was granted, Bitbucket's task is cancelled and Bitbucket unlocked before this throws.
   *
   * @throws BbdiyException what failed; {@link ErrorCode#LEFT_LOCKED} first if the unlock failed too
   */
  public static LockSession open(MaintenanceClient client, LockStateFile state, String backupId,
      Cancellation cancellation, EventSink events, Duration drainTimeout, Duration maxLockWindow) {
    LockSession session = new LockSession(client, state, backupId, cancellation, events, drainTimeout,
        maxLockWindow);
    try {
      events.phase(Phase.LOCK, session::lockAndDrain);
    } catch (RuntimeException e) {
      throw session.closeAfter(e);
    } catch (Error e) {
      session.closeAfter(e);
      throw e;
    }
    return session;
  }

  private void lockAndDrain() {
    cancellation.throwIfCancelled();
    String url = client.baseUrl();
    state.locking(url, backupId);
    // The window starts with the lock request: its limit bounds the lock call too.
    deadline = System.nanoTime() + nanos(maxLockWindow);
    MaintenanceClient limited = client.limitedTo(maxLockWindow, cancellation);
    bitbucket = limited;
    MaintenanceLock granted = limited.lock();
    lock = granted;
    state.locked(url, backupId, granted.unlockToken());
    events.emit(new BackupEvent.Locked(clock.instant(), granted.owner()));
    ScheduledFuture<?> ignored = watchdog.schedule(this::limitReached, Math.max(0, deadline - System.nanoTime()),
        TimeUnit.NANOSECONDS);
    ExternalBackup started = limited.startExternalBackup(granted);
    task = started;
    state.taskStarted(url, backupId, granted.unlockToken(), started.cancelToken());
    Instant taskStart = clock.instant();
    limited.awaitDrained(granted, drainTimeout, status -> {
      String message = status.task() == null ? "waiting for Bitbucket to drain" : status.task().message();
      if (!message.equals(lastDrainMessage)) {
        lastDrainMessage = message;
        events.progress("bitbucket", message, -1, -1, "");
      }
    });
    Instant now = clock.instant();
    drainedAt = now;
    events.emit(new BackupEvent.Drained(now, Duration.between(taskStart, now)));
  }

  /** The watchdog: cancels the run, which stops the providers and aborts the call to Bitbucket in flight. */
  private void limitReached() {
    cancellation.cancel("the lock window reached its limit of " + maxLockWindow + " (bitbucket.max-lock-window)");
  }

  /**
   * Reports capture progress to Bitbucket, best effort: a failure is a warning. Thread-safe. Each report takes a
   * small part of the time the window has left at most.
   */
  public void reportProgress(int percentage) {
    try {
      Objects.requireNonNull(bitbucket).reportProgress(Objects.requireNonNull(lock), percentage);
    } catch (BbdiyException e) {
      events.warning("bitbucket", "progress " + percentage + "% not reported (" + e.getMessage() + "); continuing");
    }
  }

  /** Marks the capture complete: closing reports 100% instead of cancelling Bitbucket's task. */
  public void captured() {
    captured = true;
  }

  /**
   * Ends the window, as the {@link Phase#UNLOCK} phase: reports 100% if the capture was marked complete, else
   * cancels Bitbucket's task (while the window has time left); then unlocks, retrying within the unlock budget,
   * and deletes the state file once the unlock is confirmed. Idempotent.
   *
   * @throws BbdiyException {@link ErrorCode#LEFT_LOCKED} if Bitbucket may still be locked, with what to do
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    BbdiyException left = release(captured);
    if (left != null) {
      throw left;
    }
  }

  /**
   * Returns what a failed locked part reports: {@code failure}, or, if closing could not unlock, the {@link
   * ErrorCode#LEFT_LOCKED} failure with {@code failure} suppressed. Try-with-resources would otherwise hide the one
   * failure the user must act on now behind the one that caused it.
   */
  public RuntimeException outcome(RuntimeException failure) {
    BbdiyException left = unlockFailure;
    if (left == null || failure == left) {
      return failure;
    }
    BbdiyException first = new BbdiyException(ErrorCode.LEFT_LOCKED, String.valueOf(left.getMessage()), left.getCause());
    first.addSuppressed(failure);
    return first;
  }

  /** Returns how long Bitbucket was locked, from the lock request to the unlock; known once closed. */
  public Duration lockWindow() {
    return Objects.requireNonNull(lockWindow, "not closed yet");
  }

  /** Returns how long Bitbucket was drained before the capture was reported complete, if it drained. */
  public @Nullable Duration drainedWindow() {
    return drainedWindow;
  }

  // ---------------------------------------------------------------------------------------------------------

  /** Cleans up after {@link #open} failed; returns what to throw. */
  private RuntimeException closeAfter(Throwable failure) {
    if (lock != null && System.nanoTime() - deadline >= 0) {
      // The call that failed was cut off at the limit, or the watchdog's cancellation made it fail: either way it
      // is the watchdog that ended the window, whichever of the two noticed first.
      limitReached();
    }
    closed = true;
    if (lock == null) {
      watchdog.shutdownNow();
      if (!(failure instanceof BbdiyException && ((BbdiyException) failure).code() == ErrorCode.LEFT_LOCKED)) {
        state.clear();
      }
      return failure instanceof RuntimeException ? (RuntimeException) failure : new IllegalStateException(failure);
    }
    BbdiyException left = release(false);
    if (left != null) {
      left.addSuppressed(failure);
      return left;
    }
    return failure instanceof RuntimeException ? (RuntimeException) failure : new IllegalStateException(failure);
  }

  /** Ends the window; returns the LEFT_LOCKED failure if the unlock failed. */
  private @Nullable BbdiyException release(boolean success) {
    watchdog.shutdownNow();
    MaintenanceLock held = Objects.requireNonNull(lock);
    Instant unlockStart = events.startPhase(Phase.UNLOCK);
    Duration left = Duration.ofNanos(deadline - System.nanoTime());
    boolean timeLeft = left.toMillis() > 0;
    // What closing sends before the unlock is still made while locked: limited to what the window has left, and
    // not aborted by the run's cancellation, which has usually fired by now.
    MaintenanceClient closing = client.limitedTo(timeLeft ? left : Duration.ZERO, Cancellation.never());
    Instant drainedEnd = null;
    if (success && !timeLeft) {
      events.warning("bitbucket", "100% not reported: the lock window reached its limit; unlocking anyway: the"
          + " capture is complete");
    } else if (success) {
      try {
        closing.reportProgress(held, 100);
        drainedEnd = clock.instant();
      } catch (BbdiyException e) {
        events.warning("bitbucket", "could not report 100% (" + e.getMessage() + "); unlocking anyway: the"
            + " capture is complete");
      }
    } else if (task != null && timeLeft) {
      try {
        closing.cancel(task);
      } catch (BbdiyException e) {
        events.warning("bitbucket", "could not cancel Bitbucket's backup task (" + e.getMessage()
            + "); unlocking, which ends it");
      }
    } else if (task != null) {
      events.warning("bitbucket", "Bitbucket's backup task was not cancelled: the lock window reached its limit;"
          + " unlocking, which ends it");
    }
    boolean released = false;
    try {
      client.unlock(held);
      released = true;
    } catch (BbdiyException e) {
      unlockFailure = leftLocked(e);
    }
    Instant unlocked = clock.instant();
    lockWindow = Duration.between(held.requestedAt(), unlocked);
    if (drainedAt != null) {
      drainedWindow = Duration.between(drainedAt, drainedEnd == null ? unlocked : drainedEnd);
    }
    events.emit(new BackupEvent.Unlocked(unlocked, lockWindow, released));
    events.finishPhase(Phase.UNLOCK, unlockStart, released ? null : "the unlock failed");
    if (released) {
      state.clear();
    }
    return unlockFailure;
  }

  private BbdiyException leftLocked(BbdiyException unlockFailure) {
    boolean tokenRefused = unlockFailure instanceof BitbucketException
        && ((BitbucketException) unlockFailure).status() == 409;
    // A token Bitbucket refuses is no use to 'unlock --recover' either: do not send the user there.
    return new BbdiyException(ErrorCode.LEFT_LOCKED, unlockFailure.getMessage() + (tokenRefused ? ""
        : "\nThe unlock token is also kept in " + state.path() + "; 'bbdiy unlock --recover' uses it."),
        unlockFailure);
  }

  private static long nanos(Duration d) {
    try {
      return Math.min(Math.max(0, d.toNanos()), MAX_NANOS);
    } catch (ArithmeticException tooLong) {
      return MAX_NANOS;
    }
  }
}
