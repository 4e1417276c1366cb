package dev.bbdiy.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * Cancels a provider's phase from inside it, deterministically, so that the contracts test cancellation while work
 * runs rather than before it starts: the signal cancels itself as soon as the provider registers its first cancel
 * action (its child process is running; the action runs at once, as Ctrl-C would run it), or when the provider
 * looks at the signal for the {@value #POLLS}th time (a provider that polls between units of work).
 */
final class CancelDuring {
  static final int POLLS = 2;

  private final Signal signal = new Signal();

  private static final class Signal extends TestContexts.TestCancellation {
    private final AtomicBoolean registered = new AtomicBoolean();
    private final AtomicInteger polls = new AtomicInteger();
    private volatile boolean armed;

    @Override
    public Registration onCancel(Runnable action) {
      Registration r = super.onCancel(action);
      if (armed && registered.compareAndSet(false, true)) {
        cancel("the contract cancelled the run while its first cancellable step ran");
      }
      return r;
    }

    @Override
    public boolean isCancelled() {
      poll();
      return super.isCancelled();
    }

    @Override
    public void throwIfCancelled() {
      poll();
      super.throwIfCancelled();
    }

    /** Returns whether the run is cancelled, without counting as the provider's look. */
    boolean cancelledYet() {
      return super.isCancelled();
    }

    private void poll() {
      if (armed && polls.incrementAndGet() == POLLS) {
        cancel("the contract cancelled the run at the provider's " + POLLS + "nd look at the signal");
      }
    }
  }

  /** Returns the signal to give the phase. */
  TestContexts.TestCancellation signal() {
    return signal;
  }

  /** Runs {@code phase} on a thread of its own, cancels during it, and returns what it threw. */
  @Nullable Throwable during(Callable<?> phase) throws Exception {
    ExecutorService e = Executors.newSingleThreadExecutor(r -> new Thread(r, "bbdiy-contract-cancelled"));
    try {
      signal.armed = true;
      Future<?> f = e.submit(phase);
      try {
        f.get(2, TimeUnit.MINUTES);
        if (!signal.cancelledYet()) {
          throw new AssertionError("the phase ended without registering a cancel action and looked at its"
              + " cancellation signal fewer than " + POLLS + " times: the contract cannot cancel it while it runs");
        }
        return null;
      } catch (ExecutionException ex) {
        return ex.getCause();
      } catch (TimeoutException ex) {
        f.cancel(true);
        throw new AssertionError("the phase did not end within 2 minutes of being cancelled", ex);
      }
    } finally {
      signal.armed = false;
      e.shutdownNow();
    }
  }

  /** Asserts that a phase cancelled while it ran ended with {@link ErrorCode#INTERRUPTED}. */
  static void assertInterrupted(@Nullable Throwable thrown, String phase) {
    assertThat(thrown).as("%s must end with an exception once the run is cancelled", phase)
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).as(e.getMessage())
            .isEqualTo(ErrorCode.INTERRUPTED));
  }
}
