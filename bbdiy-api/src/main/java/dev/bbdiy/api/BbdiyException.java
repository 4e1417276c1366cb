package dev.bbdiy.api;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The one unchecked exception of bbdiy. Its {@link #code() code} says what kind of failure happened and maps to
 * an exit code of the command line; its message says what happened, to what, and what to do next.
 *
 * <p>Messages never contain passwords. They do contain unlock tokens where a user needs one to recover.
 */
public class BbdiyException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final boolean retryable;

  /** Creates an exception whose retryability is the code's default. */
  public BbdiyException(ErrorCode code, String message) {
    this(code, message, null);
  }

  /** Creates an exception whose retryability is the code's default. */
  public BbdiyException(ErrorCode code, String message, @Nullable Throwable cause) {
    this(code, message, cause, code.retryable());
  }

  /** Creates an exception with an explicit retryability. */
  public BbdiyException(ErrorCode code, String message, @Nullable Throwable cause, boolean retryable) {
    super(Objects.requireNonNull(message, "message"), cause);
    this.code = Objects.requireNonNull(code, "code");
    this.retryable = retryable;
  }

  /** Returns what kind of failure this is. */
  public ErrorCode code() {
    return code;
  }

  /** Returns whether running the same operation again, unchanged, may succeed. */
  public boolean retryable() {
    return retryable;
  }

  /** Shorthand for a configuration error naming the key and the fix. */
  public static BbdiyException configuration(String message) {
    return new BbdiyException(ErrorCode.CONFIGURATION, message);
  }

  /** Shorthand for a provider failure. */
  public static BbdiyException provider(String provider, String message, @Nullable Throwable cause) {
    return new BbdiyException(ErrorCode.PROVIDER_FAILED, provider + ": " + message, cause);
  }

  /** Shorthand for a refused unsafe operation. */
  public static BbdiyException refused(String message) {
    return new BbdiyException(ErrorCode.REFUSED, message);
  }

  /**
   * Returns {@code t} if it is a {@code BbdiyException}, or wraps it as {@link ErrorCode#INTERRUPTED} if it is an
   * interruption, or as {@code fallback} otherwise.
   */
  public static BbdiyException wrap(Throwable t, ErrorCode fallback, String context) {
    if (t instanceof BbdiyException) {
      return (BbdiyException) t;
    }
    if (t instanceof InterruptedException || t instanceof java.io.InterruptedIOException) {
      return new BbdiyException(ErrorCode.INTERRUPTED, context + ": interrupted", t);
    }
    String detail = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return new BbdiyException(fallback, context + ": " + detail, t);
  }
}
