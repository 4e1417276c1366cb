package dev.bbdiy.core.internal;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The cancellation of one run. {@link #cancel} runs the registered actions (which stop child processes) and
 * interrupts the threads currently inside an {@link #interruptible() interruptible section}; threads outside
 * one, such as the thread unlocking Bitbucket, are never interrupted.
 */
public final class Cancellation implements CancellationSignal {
  private final Object lock = new Object();
  private final List<Runnable> actions = new ArrayList<>();
  private final Set<Thread> interruptible = new LinkedHashSet<>();
  private volatile @Nullable String reason;
  private volatile boolean afterFailure;

  /** Returns a signal that is never cancelled, for cleanup work that must run to its end. */
  public static Cancellation never() {
    return new Cancellation();
  }

  /** Cancels the run. Only the first call has an effect; returns whether it was that call. */
  public boolean cancel(String why) {
    return cancel(why, false);
  }

  /** Cancels the run because part of it failed, which the failure itself then reports; see {@link #cancel}. */
  public boolean cancelAfterFailure(String why) {
    return cancel(why, true);
  }

  /** Returns whether the run was cancelled because part of it failed, not from outside (a signal, a watchdog). */
  public boolean cancelledAfterFailure() {
    return afterFailure;
  }

  private boolean cancel(String why, boolean failure) {
    List<Runnable> toRun;
    synchronized (lock) {
      if (reason != null) {
        return false;
      }
      reason = why;
      afterFailure = failure;
      toRun = new ArrayList<>(actions);
      actions.clear();
      for (Thread t : interruptible) {
        t.interrupt();
      }
    }
    for (Runnable r : toRun) {
      try {
        r.run();
      } catch (RuntimeException ignored) {
        // one failing stop action must not keep the others from running
      }
    }
    return true;
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
    synchronized (lock) {
      if (reason == null) {
        actions.add(action);
        return () -> {
          synchronized (lock) {
            actions.remove(action);
          }
        };
      }
    }
    action.run();
    return () -> {};
  }

  /**
   * Marks the current thread interruptible by {@link #cancel} until the returned section is closed. Closing it
   * clears an interrupt the cancellation delivered, so it cannot leak into later, uninterruptible work.
   */
  public Section interruptible() {
    Thread current = Thread.currentThread();
    synchronized (lock) {
      interruptible.add(current);
      if (reason != null) {
        current.interrupt();
      }
    }
    return () -> {
      synchronized (lock) {
        interruptible.remove(current);
      }
      Thread.interrupted();
    };
  }

  /**
   * Runs {@code work} in an {@linkplain #interruptible() interruptible section} and returns its result: the one way
   * the engine runs provider calls that a cancellation must be able to stop.
   */
  public <T> T interruptibly(Supplier<T> work) {
    try (Section ignored = interruptible()) {
      return work.get();
    }
  }

  /** Runs {@code work} in an {@linkplain #interruptible() interruptible section}. */
  public void interruptibly(Runnable work) {
    try (Section ignored = interruptible()) {
      work.run();
    }
  }

  /** An interruptible section; see {@link #interruptible()}. */
  public interface Section extends AutoCloseable {
    @Override
    void close();
  }
}
