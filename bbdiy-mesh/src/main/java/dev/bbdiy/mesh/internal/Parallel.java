package dev.bbdiy.mesh.internal;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import java.util.ArrayList;
import java.util.List;

/** Runs tasks on one thread each and waits for all of them; every task is bounded by its own timeout. */
final class Parallel {
  private Parallel() {}

  private static boolean configuration(RuntimeException e) {
    return e instanceof BbdiyException && ((BbdiyException) e).code() == ErrorCode.CONFIGURATION;
  }

  /** A named unit of work. */
  record Task(String name, Runnable body) {}

  /**
   * Runs every task and waits for all. Rethrows the first failure (a configuration error before others, so
   * preflight names the fix), the others suppressed in it.
   */
  static void run(List<Task> tasks) {
    List<Thread> threads = new ArrayList<>();
    RuntimeException[] failures = new RuntimeException[tasks.size()];
    for (int i = 0; i < tasks.size(); i++) {
      int index = i;
      Task t = tasks.get(i);
      Thread th = new Thread(() -> {
        try {
          t.body().run();
        } catch (RuntimeException | Error e) {
          failures[index] = e instanceof RuntimeException ? (RuntimeException) e
              : new BbdiyException(ErrorCode.INTERNAL, t.name() + ": " + e, e);
        }
      }, "bbdiy-mesh-" + t.name());
      th.setDaemon(true);
      th.start();
      threads.add(th);
    }
    boolean interrupted = false;
    for (Thread th : threads) {
      while (true) {
        try {
          th.join();
          break;
        } catch (InterruptedException e) {
          interrupted = true; // the tasks end on the run's cancellation and their timeouts
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    RuntimeException first = null;
    for (RuntimeException f : failures) {
      if (f == null) {
        continue;
      }
      if (first == null) {
        first = f;
      } else if (configuration(f) && !configuration(first)) {
        f.addSuppressed(first);
        first = f;
      } else {
        first.addSuppressed(f);
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
