package dev.bbdiy.api.spi;

import org.jspecify.annotations.Nullable;

/**
 * Tells a provider that the run is being cancelled (Ctrl-C, SIGTERM, the lock watchdog, another provider's
 * failure). Providers check it between units of work and register {@link #onCancel} actions that stop child
 * processes. Implementations are thread-safe.
 */
public interface CancellationSignal {
  /** Returns whether the run is cancelled. */
  boolean isCancelled();

  /** Returns why the run was cancelled, or {@code null} if it is not. */
  @Nullable String reason();

  /**
   * Throws {@link dev.bbdiy.api.BbdiyException} with {@link dev.bbdiy.api.ErrorCode#INTERRUPTED} if the run is
   * cancelled.
   */
  void throwIfCancelled();

  /**
   * Runs {@code action} once when the run is cancelled, on the cancelling thread; at once if it already is.
   * Close the returned registration when the action is no longer needed.
   */
  Registration onCancel(Runnable action);

  /** A registered cancel action; closing it unregisters the action. */
  interface Registration extends AutoCloseable {
    @Override
    void close();
  }
}
