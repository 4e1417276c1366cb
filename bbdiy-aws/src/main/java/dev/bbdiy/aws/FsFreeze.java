package dev.bbdiy.aws;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.kit.ChildProcess;
import java.util.ArrayDeque;
import java.util.Deque;
import org.jspecify.annotations.Nullable;

/**
 * File systems frozen with {@code fsfreeze -f}, held in try-with-resources: {@link #close()} thaws every one of
 * them, newest first, on every path — a failed snapshot call, a failed or cancelled freeze, an interrupted thread.
 * A freeze that failed or was stopped may still have frozen its file system in the kernel, so that one is thawed
 * too, quietly ("not frozen" is the expected answer). Not thread-safe: one capture uses it.
 */
final class FsFreeze implements AutoCloseable {
  private final String command;
  private final String provider;
  private final Deque<String> frozen = new ArrayDeque<>();
  private @Nullable String freezing;

  /** Returns a guard that freezes with {@code command} ({@code fsfreeze}); failures name {@code provider}. */
  FsFreeze(String command, String provider) {
    this.command = command;
    this.provider = provider;
  }

  /** Freezes {@code mount} unless it is already frozen by this guard; stops when {@code cancellation} fires. */
  void freeze(String mount, CancellationSignal cancellation) {
    if (frozen.contains(mount)) {
      return;
    }
    freezing = mount;
    ChildProcess.builder(command, "-f", mount).name("fsfreeze").cancellation(cancellation).build().run()
        .orThrow(provider, "fsfreeze -f " + mount);
    frozen.push(mount);
    freezing = null;
  }

  /**
   * Thaws what this guard froze, newest first. Thawing is never cancelled and runs with the thread's interrupt
   * flag cleared (restored afterwards): a cancelled capture must still thaw.
   *
   * @throws BbdiyException {@link dev.bbdiy.api.ErrorCode#PROVIDER_FAILED} naming each file system left frozen and
   *     the command that thaws it; try-with-resources adds it as suppressed to the capture's own failure
   */
  @Override
  public void close() {
    boolean interrupted = Thread.interrupted();
    try {
      String half = freezing;
      freezing = null;
      if (half != null) {
        try {
          thaw(half);
        } catch (RuntimeException notFrozen) {
          // The failed freeze did not freeze it: thawing answers "not frozen".
        }
      }
      BbdiyException failure = null;
      while (!frozen.isEmpty()) {
        String mount = frozen.pop();
        try {
          thaw(mount);
        } catch (RuntimeException e) {
          BbdiyException thaw = BbdiyException.provider(provider, "could not thaw " + mount + " (" + e.getMessage()
              + "): run 'fsfreeze -u " + mount + "' now", e);
          if (failure == null) {
            failure = thaw;
          } else {
            failure.addSuppressed(thaw);
          }
        }
      }
      if (failure != null) {
        throw failure;
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void thaw(String mount) {
    ChildProcess.builder(command, "-u", mount).name("fsfreeze").build().run()
        .orThrow(provider, "fsfreeze -u " + mount);
  }
}
