package dev.bbdiy.kit;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** Cancellation signals a provider needs besides the run's own. */
public final class Cancellations {
  private static final CancellationSignal NONE = new CancellationSignal() {
    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public @Nullable String reason() {
      return null;
    }

    @Override
    public void throwIfCancelled() {}

    @Override
    public Registration onCancel(Runnable action) {
      return () -> {};
    }
  };

  private Cancellations() {}

  /**
   * Returns a signal that is never cancelled, for cleanup that must run to its end even when the run is being
   * cancelled (deleting a half-made snapshot in {@code abort}, say). Bound such work by a timeout of its own.
   */
  public static CancellationSignal none() {
    return NONE;
  }

  /** Returns a new signal that a provider cancels itself, once (see {@link Source}). */
  public static Source source() {
    return new Source();
  }

  /**
   * A cancellation signal its owner fires, once, with a reason: for a provider's own reasons to stop (a phase's
   * timeout, a session that ended). Actions registered before the cancel run once, on the cancelling thread;
   * actions registered after it run at once. Thread-safe.
   */
  public static final class Source implements CancellationSignal {
    private final List<Runnable> actions = new ArrayList<>();
    private volatile @Nullable String reason;

    private Source() {}

    /** Cancels with {@code why} and runs the registered actions; does nothing if already cancelled. */
    public void cancel(String why) {
      List<Runnable> run;
      synchronized (this) {
        if (reason != null) {
          return;
        }
        reason = why;
        run = new ArrayList<>(actions);
        actions.clear();
      }
      for (Runnable r : run) {
        try {
          r.run();
        } catch (RuntimeException ignored) {
          // the other actions still run
        }
      }
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
            synchronized (Source.this) {
              actions.remove(action);
            }
          };
        }
      }
      action.run();
      return () -> {};
    }
  }
}
