package dev.bbdiy.core;

import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * What {@code GET /mvc/maintenance} reported.
 *
 * @param task the current or last maintenance task, absent while locked before any task started
 * @param db the database latch
 * @param scm the SCM (git) latch
 * @param rawDb the database latch as Bitbucket wrote it
 * @param rawScm the SCM latch as Bitbucket wrote it
 */
public record MaintenanceStatus(@Nullable Task task, LatchState db, LatchState scm, String rawDb, String rawScm) {

  /** A status with nothing to report (Bitbucket answered 404). */
  static MaintenanceStatus none() {
    return new MaintenanceStatus(null, LatchState.UNKNOWN, LatchState.UNKNOWN, "", "");
  }

  /** Returns whether both latches are {@link LatchState#DRAINED}. */
  public boolean drained() {
    return db == LatchState.DRAINED && scm == LatchState.DRAINED;
  }

  /** Returns the task, if there is one. */
  public Optional<Task> currentTask() {
    return Optional.ofNullable(task);
  }

  /**
   * A maintenance task.
   *
   * @param id the task id
   * @param type {@code BACKUP}, {@code MIGRATION}...
   * @param state its state
   * @param rawState the state as Bitbucket wrote it
   * @param message the progress message
   * @param percentage the progress percentage
   */
  public record Task(String id, String type, TaskState state, String rawState, String message, int percentage) {}
}
