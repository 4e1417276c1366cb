package dev.bbdiy.core.internal;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A point in time on the monotonic clock, which wall-clock changes do not move: when a call to Bitbucket, or every
 * call of a {@link dev.bbdiy.core.MaintenanceClient#limitedTo limited} client, must have ended.
 *
 * <p>Internal to bbdiy-core (public only because the client is in another package): no compatibility guarantees.
 */
public final class Deadline {
  /** No limit. */
  public static final Deadline NONE = new Deadline(0, true);
  /** About 73 years: far enough to mean "no limit", near enough never to overflow. */
  private static final long MAX_NANOS = Long.MAX_VALUE / 4;
  /** Less time left than this is not worth another attempt. */
  private static final long MIN_ATTEMPT_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final long at;
  private final boolean none;

  private Deadline(long at, boolean none) {
    this.at = at;
    this.none = none;
  }

  /** Returns the deadline {@code d} from now; a negative duration is now, one too long to count is no limit. */
  public static Deadline in(Duration d) {
    long nanos;
    try {
      nanos = d.toNanos();
    } catch (ArithmeticException tooLong) {
      nanos = MAX_NANOS;
    }
    return new Deadline(System.nanoTime() + Math.min(Math.max(0, nanos), MAX_NANOS), false);
  }

  /** Returns the time left, negative once passed, {@link Long#MAX_VALUE} for no limit. */
  public long nanosLeft() {
    return none ? Long.MAX_VALUE : at - System.nanoTime();
  }

  /** Returns whether an attempt started now would still have time (50 ms at least) before this. */
  public boolean allowsAttempt() {
    return allowsAttemptAfter(Duration.ZERO);
  }

  /** Returns whether an attempt started after {@code pause} would still have time (50 ms at least) before this. */
  public boolean allowsAttemptAfter(Duration pause) {
    return nanosLeft() - pause.toNanos() >= MIN_ATTEMPT_NANOS;
  }

  /** Returns the earlier of this deadline and {@code other}. */
  public Deadline min(Deadline other) {
    if (none) {
      return other;
    }
    if (other.none) {
      return this;
    }
    return at - other.at <= 0 ? this : other;
  }

  /** Returns the deadline {@code 1/divisor} of the time left from now; no limit stays no limit. */
  public Deadline fraction(int divisor) {
    return none ? this : new Deadline(System.nanoTime() + Math.max(0, nanosLeft()) / divisor, false);
  }
}
