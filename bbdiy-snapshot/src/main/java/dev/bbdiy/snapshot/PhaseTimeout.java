package dev.bbdiy.snapshot;

import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.kit.Cancellations;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * A cancellation signal that fires when the run's does, or when a phase's time is up: what stops a command that
 * hangs. Close it when the phase is over. Thread-safe.
 */
final class PhaseTimeout implements CancellationSignal, AutoCloseable {
  private final Cancellations.Source signal = Cancellations.source();
  private final Registration parentRegistration;
  private final Thread timer;
  private volatile boolean timedOut;

  PhaseTimeout(CancellationSignal parent, Duration limit, String what) {
    this.timer = new Thread(() -> {
      try {
        Thread.sleep(Math.max(1, limit.toMillis()));
        timedOut = true;
        signal.cancel(what + " did not finish within "
            + limit.toString().substring(2).toLowerCase(java.util.Locale.ROOT));
      } catch (InterruptedException done) {
        // the phase ended in time
      }
    }, "bbdiy-command-timeout");
    timer.setDaemon(true);
    this.parentRegistration = parent.onCancel(() -> signal.cancel(parent.reason() == null ? "cancelled"
        : parent.reason()));
    timer.start();
  }

  boolean timedOut() {
    return timedOut;
  }

  @Override
  public boolean isCancelled() {
    return signal.isCancelled();
  }

  @Override
  public @Nullable String reason() {
    return signal.reason();
  }

  @Override
  public void throwIfCancelled() {
    signal.throwIfCancelled();
  }

  @Override
  public Registration onCancel(Runnable action) {
    return signal.onCancel(action);
  }

  @Override
  public void close() {
    timer.interrupt();
    parentRegistration.close();
  }
}
