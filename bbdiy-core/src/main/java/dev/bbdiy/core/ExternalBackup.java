package dev.bbdiy.core;

import java.util.Objects;

/**
 * An external backup task Bitbucket started for us. Its cancel token cancels the task (the system stays locked).
 *
 * @param id the task id
 * @param cancelToken the token that cancels it; shown only where a user needs it to recover
 */
public record ExternalBackup(String id, String cancelToken) {
  public ExternalBackup {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(cancelToken, "cancelToken");
  }

  @Override
  public String toString() {
    return "ExternalBackup[id=" + id + ", cancelToken=" + MaintenanceLock.mask(cancelToken) + "]";
  }
}
