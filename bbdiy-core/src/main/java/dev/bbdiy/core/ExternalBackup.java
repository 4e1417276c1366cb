package dev.bbdiy.core;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * An external backup task Bitbucket started for us. Its cancel token cancels the task (the system stays locked).
 *
 * @param id the task id, or {@code null} when it is not known (a task recovered from its cancel token alone, or
 *     an answer without one)
 * @param cancelToken the token that cancels it; shown only where a user needs it to recover
 */
public record ExternalBackup(@Nullable String id, String cancelToken) {
  public ExternalBackup {
    Objects.requireNonNull(cancelToken, "cancelToken");
  }

  /** Returns a task known only by its cancel token, as a lock state file records it. */
  public static ExternalBackup ofCancelToken(String cancelToken) {
    return new ExternalBackup(null, cancelToken);
  }

  @Override
  public String toString() {
    return "ExternalBackup[id=" + id + ", cancelToken=" + MaintenanceLock.mask(cancelToken) + "]";
  }
}
