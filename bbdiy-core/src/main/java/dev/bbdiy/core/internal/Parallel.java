package dev.bbdiy.core.internal;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the providers of one phase in parallel, one thread each. The first failure cancels the run, which stops
 * the siblings; {@link #run} returns only when every thread has ended (or {@code stopTimeout} after the
 * cancellation, for a thread that ignores it), so nothing of ours still runs when the caller unlocks.
 */
public final class Parallel {
  private static final Logger LOG = LoggerFactory.getLogger(Parallel.class);

  private Parallel() {}

  /**
   * Runs the tasks and returns their results by name, in the order given.
   *
   * @throws BbdiyException the first failure, with the others suppressed; {@link ErrorCode#INTERRUPTED} if the
   *     run was cancelled from outside
   */
  public static <T> Map<String, T> run(
      String phase, Map<String, Supplier<T>> tasks, Cancellation cancellation, Duration stopTimeout) {
    Map<String, T> results = new LinkedHashMap<>();
    if (tasks.isEmpty()) {
      return results;
    }
    AtomicReference<Throwable> first = new AtomicReference<>();
    List<Throwable> others = new ArrayList<>();
    Map<String, Thread> threads = new LinkedHashMap<>();
    Map<String, Object> outcome = new java.util.concurrent.ConcurrentHashMap<>();
    for (Map.Entry<String, Supplier<T>> task : tasks.entrySet()) {
      String name = task.getKey();
      Thread t = new Thread(() -> {
        try {
          cancellation.interruptibly(() -> {
            T value = task.getValue().get();
            outcome.put(name, value == null ? NULL : value);
          });
        } catch (Throwable e) {
          if (first.compareAndSet(null, e)) {
            cancellation.cancelAfterFailure(name + " failed: " + e.getMessage());
          } else {
            synchronized (others) {
              others.add(e);
            }
          }
        }
      }, "bbdiy-" + phase + "-" + name);
      t.setDaemon(true);
      threads.put(name, t);
    }
    threads.values().forEach(Thread::start);
    joinAll(threads, cancellation, stopTimeout);
    Throwable failure = first.get();
    if (failure != null) {
      BbdiyException e = BbdiyException.wrap(failure, ErrorCode.PROVIDER_FAILED, phase);
      synchronized (others) {
        for (Throwable o : others) {
          if (o != failure) {
            e.addSuppressed(o);
          }
        }
      }
      throw e;
    }
    cancellation.throwIfCancelled();
    for (String name : tasks.keySet()) {
      @SuppressWarnings("unchecked")
      T value = (T) outcome.get(name);
      results.put(name, value == NULL ? null : value);
    }
    return results;
  }

  private static final Object NULL = new Object();

  private static void joinAll(Map<String, Thread> threads, Cancellation cancellation, Duration stopTimeout) {
    boolean interrupted = false;
    long stopDeadline = Long.MAX_VALUE;
    for (Map.Entry<String, Thread> e : threads.entrySet()) {
      Thread t = e.getValue();
      while (t.isAlive()) {
        if (cancellation.isCancelled() && stopDeadline == Long.MAX_VALUE) {
          stopDeadline = System.nanoTime() + stopTimeout.toNanos();
        }
        long waitMillis = stopDeadline == Long.MAX_VALUE
            ? 1000 : Math.max(1, (stopDeadline - System.nanoTime()) / 1_000_000);
        try {
          t.join(Math.min(waitMillis, 1000));
        } catch (InterruptedException ie) {
          // Our caller is being cancelled: pass it on to the workers, then keep waiting for them.
          interrupted = true;
          cancellation.cancel("interrupted");
        }
        if (t.isAlive() && System.nanoTime() > stopDeadline) {
          LOG.warn("{} did not stop within {} after cancellation; continuing without it", e.getKey(), stopTimeout);
          break;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
