package dev.bbdiy.api;

/**
 * Receives the {@link BackupEvent events} of a bbdiy operation, for progress bars, logs and monitoring.
 *
 * <h2>Ordering contract</h2>
 *
 * <ul>
 *   <li>Events are delivered one at a time, never concurrently, in the order they happened, on a thread of the
 *       engine. A listener need not be thread-safe, but must return quickly and must not throw; an exception
 *       thrown by a listener is ignored.
 *   <li>{@link BackupEvent.OperationStarted} comes first and {@link BackupEvent.OperationFinished} last, exactly
 *       once each, whatever happens in between.
 *   <li>Every {@link BackupEvent.PhaseStarted} is followed by exactly one {@link BackupEvent.PhaseFinished} of the
 *       same phase before the next phase starts; phases do not nest.
 *   <li>{@link BackupEvent.Progress} events arrive only between the start and finish of their phase.
 *   <li>If {@link BackupEvent.Locked} is delivered, {@link BackupEvent.Unlocked} is delivered before
 *       OperationFinished, on every path including failures and interruptions; its {@code released} flag says
 *       whether the unlock was confirmed. {@link BackupEvent.Drained}, if delivered, comes between the two.
 *   <li>{@link BackupEvent.Warning} may arrive at any time between OperationStarted and OperationFinished.
 * </ul>
 */
@FunctionalInterface
public interface BackupListener {
  /** A listener that ignores every event. */
  BackupListener NONE = event -> {};

  /** Receives one event. */
  void onEvent(BackupEvent event);
}
