package dev.bbdiy.core.internal;

import org.jspecify.annotations.Nullable;

/**
 * Bitbucket's answer to one request: its status, reason phrase, body (the first MiB, as text) and {@code Location}.
 *
 * <p>Internal to bbdiy-core (public only because the client is in another package): no compatibility guarantees.
 */
public record Exchange(int code, String message, String body, @Nullable String location) {
  /** Returns whether the status is 2xx. */
  public boolean success() {
    return code >= 200 && code < 300;
  }
}
