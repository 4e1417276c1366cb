package dev.bbdiy.api;

import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * Something that happened during a bbdiy operation, delivered to a {@link BackupListener}. See the listener for
 * the ordering contract.
 */
public sealed interface BackupEvent
    permits BackupEvent.OperationStarted,
        BackupEvent.PhaseStarted,
        BackupEvent.PhaseFinished,
        BackupEvent.Locked,
        BackupEvent.Drained,
        BackupEvent.Unlocked,
        BackupEvent.Progress,
        BackupEvent.Warning,
        BackupEvent.OperationFinished {

  /** Returns when the event happened. */
  Instant at();

  /**
   * An operation began.
   *
   * @param operation {@code backup}, {@code restore}, {@code verify}, {@code prune} or {@code recover}
   * @param backupId the backup it concerns, if one is known yet
   */
  record OperationStarted(Instant at, String operation, @Nullable BackupId backupId) implements BackupEvent {}

  /** A phase began. */
  record PhaseStarted(Instant at, Phase phase) implements BackupEvent {}

  /**
   * A phase ended, successfully or not.
   *
   * @param failure the failure message, {@code null} on success
   */
  record PhaseFinished(Instant at, Phase phase, Duration took, @Nullable String failure)
      implements BackupEvent {
    /** Returns whether the phase succeeded. */
    public boolean succeeded() {
      return failure == null;
    }
  }

  /**
   * Bitbucket was locked for maintenance. The unlock token is deliberately absent: it lives in the state file.
   *
   * @param owner the display name of the user holding the lock
   */
  record Locked(Instant at, String owner) implements BackupEvent {}

  /**
   * Bitbucket reported database and git operations drained.
   *
   * @param waited time from the start of the external backup to the drained report
   */
  record Drained(Instant at, Duration waited) implements BackupEvent {}

  /**
   * The lock was released, or the attempt to release it ended.
   *
   * @param lockWindow time from the lock request to the confirmed unlock
   * @param released false if every unlock attempt failed and Bitbucket may still be locked
   */
  record Unlocked(Instant at, Duration lockWindow, boolean released) implements BackupEvent {}

  /**
   * A provider or the engine reports progress.
   *
   * @param source the provider name ({@code rsync}, {@code postgresql}...) or {@code bbdiy}
   * @param message what is happening, for humans
   * @param done units done so far, or -1 if unknown
   * @param total units in all, or -1 if unknown
   * @param unit what is counted: {@code bytes}, {@code files}, {@code tables}, {@code percent}
   */
  record Progress(Instant at, Phase phase, String source, String message, long done, long total, String unit)
      implements BackupEvent {}

  /** Something went wrong that does not fail the operation, or something the user should know. */
  record Warning(Instant at, String source, String message) implements BackupEvent {}

  /**
   * The operation ended.
   *
   * @param failure the failure message, {@code null} on success
   * @param code the failure's code, {@code null} on success
   */
  record OperationFinished(Instant at, String operation, Duration took, @Nullable String failure,
      @Nullable ErrorCode code) implements BackupEvent {
    /** Returns whether the operation succeeded. */
    public boolean succeeded() {
      return failure == null;
    }
  }
}
