package dev.bbdiy.core.internal;

import java.io.InterruptedIOException;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * No answer from Bitbucket within the time an attempt had, as {@link BitbucketHttp#execute} reports it.
 *
 * <p>Internal to bbdiy-core (public only because the client is in another package): no compatibility guarantees.
 */
public final class TimedOut extends InterruptedIOException {
  private static final long serialVersionUID = 1L;

  private final long nanos;
  private final String limit;

  /**
   * Creates the failure of an attempt that waited {@code nanos} (0: no time was left to start it); {@code limit}
   * says which limit ended it, for messages ({@code " (bitbucket.timeout)"}), or is empty.
   */
  public TimedOut(long nanos, String limit, @Nullable Throwable cause) {
    super("no answer within " + BitbucketFailures.human(Duration.ofNanos(nanos)));
    this.nanos = nanos;
    this.limit = limit;
    if (cause != null) {
      initCause(cause);
    }
  }

  /** Returns how long the attempt waited; 0 if there was no time left to start it. */
  public long nanos() {
    return nanos;
  }

  /** Returns which limit ended the wait, with a leading space and in parentheses, or an empty string. */
  public String limit() {
    return limit;
  }
}
