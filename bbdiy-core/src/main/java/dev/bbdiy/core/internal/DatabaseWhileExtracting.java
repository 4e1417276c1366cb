package dev.bbdiy.core.internal;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.BackupSource;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.BiFunction;
import org.jspecify.annotations.Nullable;

/**
 * A database load that starts as soon as the archiver has extracted the dump, on a thread of its own, while the
 * home is still being extracted (a provider declaring {@link
 * dev.bbdiy.api.spi.Capability#RESTORES_WHILE_EXTRACTING}). The load waits for the verification of the whole
 * archive before it reports success; a failed or cancelled extraction cancels it, and the provider then drops what
 * it created. If the archiver never says the dump is complete, nothing starts here and the restore loads the
 * database after the extraction, as it does for every other provider.
 */
final class DatabaseWhileExtracting {
  private final String name;
  private final BackupSource source;
  private final BiFunction<CancellationSignal, Runnable, RestoreContext> contexts;
  private final EventSink events;
  private final Cancellation run;
  /** The load's own cancellation: the run's, and a failed extraction's. */
  private final Cancellation cancellation = new Cancellation();
  /** Completed with {@code null} once the archive is verified, or with why it is not. */
  private final CompletableFuture<@Nullable String> verification = new CompletableFuture<>();
  private final CompletableFuture<RestoreOutcome> outcome = new CompletableFuture<>();
  private volatile @Nullable Thread thread;
  private CancellationSignal.@Nullable Registration link;
  private boolean abandoned;

  /**
   * @param contexts makes the load's restore context from its cancellation signal and the action that waits for
   *     the verification
   */
  DatabaseWhileExtracting(String name, BackupSource source,
      BiFunction<CancellationSignal, Runnable, RestoreContext> contexts, EventSink events, Cancellation run) {
    this.name = name;
    this.source = source;
    this.contexts = contexts;
    this.events = events;
    this.run = run;
  }

  /** Starts the load; called once, on the extracting thread, when the dump is completely extracted. */
  void start() {
    if (thread != null) {
      return;
    }
    link = run.onCancel(() -> cancellation.cancel(String.valueOf(run.reason())));
    events.progress("bbdiy", "the database dump is extracted: " + name + " loads it while the rest is extracted",
        -1, -1, "");
    Thread t = new Thread(this::load, "bbdiy-restore-database");
    thread = t;
    t.start();
  }

  /** Returns whether the load was started. */
  boolean started() {
    return thread != null;
  }

  private void load() {
    try {
      outcome.complete(cancellation.interruptibly(() -> source.restore(contexts.apply(cancellation,
          this::awaitVerified))));
    } catch (Throwable t) {
      outcome.completeExceptionally(t);
    }
  }

  /** What the provider calls before it reports success. */
  private void awaitVerified() {
    String failure;
    try {
      failure = verification.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      cancellation.throwIfCancelled();
      throw new BbdiyException(ErrorCode.INTERRUPTED, "Interrupted while waiting for the archive's verification");
    } catch (ExecutionException e) {
      throw new IllegalStateException(e);
    }
    if (failure != null) {
      throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, failure);
    }
  }

  /** The whole archive was extracted and matched its manifest (or has none, which the user accepted). */
  void verified() {
    verification.complete(null);
  }

  /**
   * Stops the load because the restore failed elsewhere ({@code why}) and waits until the provider has undone it.
   * Returns a warning if the load had already succeeded, which is then left in place.
   */
  @Nullable String abandon(String why) {
    verification.complete(why);
    if (thread == null || abandoned) {
      return null;
    }
    abandoned = true;
    cancellation.cancelAfterFailure(why);
    join();
    if (outcome.isCompletedExceptionally()) {
      return null;
    }
    return "the database was loaded into " + outcome.join().target() + " before the restore failed: drop it"
        + " before you restore again";
  }

  /** Waits for the load and returns its outcome, or throws its failure. */
  RestoreOutcome await() {
    join();
    try {
      return outcome.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(cause);
    } catch (InterruptedException e) {
      throw new IllegalStateException("the load has ended", e); // join() returned: the outcome is complete
    }
  }

  /**
   * Waits for the load's thread to end, also when this thread is interrupted (a cancelled run must still wait
   * for the provider to drop what it created before the dump it reads is removed).
   */
  private void join() {
    Thread t = thread;
    if (t == null) {
      return;
    }
    boolean interrupted = false;
    while (true) {
      try {
        t.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (link != null) {
      link.close();
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
