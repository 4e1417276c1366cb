package dev.bbdiy.kit;

import dev.bbdiy.api.spi.CancellationSignal;
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
}
