package dev.bbdiy.examples;

import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.ExternalBackup;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.MaintenanceLock;
import java.time.Duration;

/**
 * Uses {@link MaintenanceClient} alone, for teams that take their own snapshots (a SAN, a hypervisor) and only
 * need Bitbucket quiet while they do: lock, start the external backup, wait until drained, snapshot, report 100%,
 * unlock. The try-with-resources block unlocks on every path.
 */
public final class LockAroundYourOwnSnapshot {
  private LockAroundYourOwnSnapshot() {}

  /** What you run while Bitbucket is drained. */
  @FunctionalInterface
  public interface Snapshot {
    void take() throws Exception;
  }

  /** Runs {@code snapshot} while Bitbucket is locked and drained; returns how long it was locked. */
  public static Duration whileDrained(String url, String user, String password, Snapshot snapshot) throws Exception {
    MaintenanceClient client = MaintenanceClient.builder(url)
        .credentials(user, Secret.of(password))
        .build();
    try (MaintenanceLock lock = client.lock()) {
      ExternalBackup backup = client.startExternalBackup(lock);
      try {
        client.awaitDrained(lock, Duration.ofMinutes(5));
        snapshot.take();
        client.reportProgress(lock, 100);
      } catch (Exception e) {
        client.cancel(backup); // the task ends; the lock is released when the block closes
        throw e;
      }
      client.unlock(lock);
      return Duration.between(lock.requestedAt(), java.time.Instant.now());
    }
  }
}
