package dev.bbdiy.api;

/**
 * What kind of failure a {@link BbdiyException} reports. Each code maps to one documented process exit code of
 * the command line, and says whether running the same operation again can help.
 */
public enum ErrorCode {
  /** The command line was wrong. Nothing was done. */
  USAGE(2, false),
  /** The configuration is missing, unknown or invalid. Nothing was done. */
  CONFIGURATION(2, false),
  /** Bitbucket rejected the credentials or the user lacks the SYS_ADMIN permission. */
  BITBUCKET_AUTH(3, false),
  /** Bitbucket is already locked for maintenance, or another maintenance task is running. */
  BITBUCKET_BUSY(3, true),
  /** Bitbucket could not be reached, or answered with a server error after every retry. */
  BITBUCKET_UNAVAILABLE(3, true),
  /** Bitbucket answered something this client does not understand. */
  BITBUCKET_PROTOCOL(3, false),
  /** Bitbucket did not drain database and git operations before the deadline. */
  DRAIN_TIMEOUT(4, true),
  /** Bitbucket's own backup task failed or was cancelled while draining. */
  BACKUP_TASK_FAILED(4, true),
  /** A provider (rsync, pg_dump, an AWS call...) failed. */
  PROVIDER_FAILED(5, true),
  /** A backup or an archive does not match its manifest: it is damaged or incomplete. */
  VERIFICATION_FAILED(6, false),
  /** Bitbucket may still be locked: the unlock failed after every retry. Act now, see the message. */
  LEFT_LOCKED(7, false),
  /** A safety check refused the operation: a non-empty restore target, an existing database, another run. */
  REFUSED(8, false),
  /** The named backup does not exist. */
  NOT_FOUND(9, false),
  /** The operation was interrupted (Ctrl-C, SIGTERM, the lock watchdog) and cleaned up after itself. */
  INTERRUPTED(130, true),
  /** A bug in bbdiy. Please report it with the output of {@code --verbose}. */
  INTERNAL(1, false);

  private final int exitCode;
  private final boolean retryable;

  ErrorCode(int exitCode, boolean retryable) {
    this.exitCode = exitCode;
    this.retryable = retryable;
  }

  /** Returns the process exit code the command line uses for this error. */
  public int exitCode() {
    return exitCode;
  }

  /** Returns whether running the same operation again, unchanged, may succeed. */
  public boolean retryable() {
    return retryable;
  }
}
