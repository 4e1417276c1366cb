package dev.bbdiy.snapshot;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A cancellation signal that fires when the run's does, or when a phase's time is up: what stops a command that
 * hangs. Close it when the phase is over. Thread-safe.
 */
final class PhaseTimeout implements CancellationSignal, AutoCloseable {
  private final List<Runnable> actions = new ArrayList<>();
  private final Registration parentRegistration;
  private final Thread timer;
  private volatile @Nullable String reason;
  private volatile boolean timedOut;

  PhaseTimeout(CancellationSignal parent, Duration limit, String what) {
    this.timer = new Thread(() -> {
      try {
        Thread.sleep(Math.max(1, limit.toMillis()));
        timedOut = true;
        cancel(what + " did not finish within " + limit.toString().substring(2).toLowerCase(java.util.Locale.ROOT));
      } catch (InterruptedException done) {
        // the phase ended in time
      }
    }, "bbdiy-command-timeout");
    timer.setDaemon(true);
    this.parentRegistration = parent.onCancel(() -> cancel(parent.reason() == null ? "cancelled" : parent.reason()));
    timer.start();
  }

  boolean timedOut() {
    return timedOut;
  }

  private void cancel(String why) {
    List<Runnable> run;
    synchronized (this) {
      if (reason != null) {
        return;
      }
      reason = why;
      run = new ArrayList<>(actions);
    }
    run.forEach(Runnable::run);
  }

  @Override
  public boolean isCancelled() {
    return reason != null;
  }

  @Override
  public @Nullable String reason() {
    return reason;
  }

  @Override
  public void throwIfCancelled() {
    String r = reason;
    if (r != null) {
      throw new BbdiyException(ErrorCode.INTERRUPTED, "Cancelled: " + r);
    }
  }

  @Override
  public Registration onCancel(Runnable action) {
    synchronized (this) {
      if (reason == null) {
        actions.add(action);
        return () -> {
          synchronized (PhaseTimeout.this) {
            actions.remove(action);
          }
        };
      }
    }
    action.run();
    return () -> {};
  }

  @Override
  public void close() {
    timer.interrupt();
    parentRegistration.close();
  }
}
