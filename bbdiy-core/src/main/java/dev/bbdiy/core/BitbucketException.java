package dev.bbdiy.core;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import org.jspecify.annotations.Nullable;

/** A failure talking to Bitbucket: the HTTP status if there was one, and a message saying what to do. */
public final class BitbucketException extends BbdiyException {
  private static final long serialVersionUID = 1L;

  private final int status;

  BitbucketException(ErrorCode code, String message, int status, @Nullable Throwable cause) {
    super(code, message, cause);
    this.status = status;
  }

  /** Returns the HTTP status Bitbucket answered with, or -1 if there was no answer. */
  public int status() {
    return status;
  }
}
