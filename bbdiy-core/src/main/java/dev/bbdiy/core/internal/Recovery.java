package dev.bbdiy.core.internal;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.core.ExternalBackup;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.MaintenanceLock;
import dev.bbdiy.core.RecoveryResult;
import dev.bbdiy.kit.Cancellations;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Releases a lock an interrupted run left (SIGKILL, an OOM kill, a reboot), from the state file it wrote: cancels
 * its Bitbucket task and unlocks. A backup does it first; {@code bbdiy unlock --recover} does only that.
 */
public final class Recovery {
  /** How long the cancel of a leftover task may take: the unlock that follows ends the task anyway. */
  private static final Duration CANCEL_BUDGET = Duration.ofSeconds(10);

  private Recovery() {}

  /** Releases a leftover lock before a backup, warning about it; does nothing if there is none. */
  static void releaseLeftover(EngineSetup setup, Operation op) {
    Optional<LockStateFile.State> state = new LockStateFile(setup.stateDir()).read();
    if (state.isEmpty()) {
      return;
    }
    op.events().warning("bbdiy", "an interrupted run (backup " + state.get().backupId() + ", pid "
        + state.get().pid() + " on " + state.get().host() + ") left Bitbucket locked; releasing that lock first");
    RecoveryResult r = recover(setup);
    op.events().warning("bbdiy", r.message());
  }

  /** Releases the lock an interrupted run left in the setup's working directory. */
  public static RecoveryResult recover(EngineSetup setup) {
    LockStateFile file = new LockStateFile(setup.stateDir());
    MaintenanceClient client = setup.client();
    if (client == null) {
      if (file.read().isPresent()) {
        throw BbdiyException.configuration("An interrupted run left a lock (state file " + file.path() + "), but"
            + " no Bitbucket is configured to release it: set bitbucket.url and credentials");
      }
      return new RecoveryResult(false, false, null, "No interrupted run left a lock in " + setup.workDir());
    }
    return recover(setup.stateDir(), setup.workDir(), client);
  }

  /**
   * Releases the lock an interrupted run left, from the state file in {@code stateDir}.
   *
   * @throws BbdiyException {@link ErrorCode#LEFT_LOCKED} if it cannot be released, saying what to do
   */
  public static RecoveryResult recover(Path stateDir, Path workDir, MaintenanceClient client) {
    LockStateFile file = new LockStateFile(stateDir);
    Optional<LockStateFile.State> found = file.read();
    if (found.isEmpty()) {
      return new RecoveryResult(false, false, null, "No interrupted run left a lock in " + workDir);
    }
    LockStateFile.State s = found.get();
    if (!EngineSetup.sameUrl(s.baseUrl(), client.baseUrl())) {
      throw BbdiyException.refused("The lock state in " + file.path() + " is for " + s.baseUrl()
          + ", but this configuration uses " + client.baseUrl() + ". Run with that bitbucket.url, or unlock by"
          + " hand" + (s.unlockToken() == null ? ""
              : ": " + MaintenanceClient.unlockCommand(s.baseUrl(), client.username(), s.unlockToken()))
          + " and delete the file.");
    }
    if (s.unlockToken() == null) {
      String health = client.health();
      if ("MAINTENANCE".equals(health)) {
        throw new BbdiyException(ErrorCode.LEFT_LOCKED, "A run (backup " + s.backupId() + ", pid " + s.pid()
            + " on " + s.host() + ") was killed while it was locking Bitbucket, and Bitbucket is locked for"
            + " maintenance now, but the unlock token never reached disk. If no one else is doing maintenance,"
            + " restart Bitbucket to release the lock, then delete " + file.path() + ".");
      }
      file.clear();
      return new RecoveryResult(true, false, s.backupId(), "An interrupted run never got the lock ("
          + "Bitbucket reports " + health + "); nothing to release");
    }
    MaintenanceLock lock = client.adopt(s.unlockToken());
    if (s.cancelToken() != null) {
      try {
        // Bounded: Bitbucket is locked while this runs, and the unlock below ends the task in any case.
        client.limitedTo(CANCEL_BUDGET, Cancellations.none()).cancel(ExternalBackup.ofCancelToken(s.cancelToken()));
      } catch (BbdiyException e) {
        // The task may be over already.
      }
    }
    client.unlock(lock);
    file.clear();
    return new RecoveryResult(true, true, s.backupId(), "Released the lock that the interrupted backup "
        + s.backupId() + " (pid " + s.pid() + " on " + s.host() + ") left on " + s.baseUrl());
  }
}
