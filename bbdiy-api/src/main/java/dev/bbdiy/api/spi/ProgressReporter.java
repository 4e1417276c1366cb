package dev.bbdiy.api.spi;

/**
 * Where a provider reports what it is doing. Calls become {@link dev.bbdiy.api.BackupEvent.Progress} and {@link
 * dev.bbdiy.api.BackupEvent.Warning} events tagged with the provider's name. Thread-safe; cheap enough to call
 * a few times a second.
 */
public interface ProgressReporter {
  /** Reports a step, for humans. */
  void message(String message);

  /**
   * Reports measurable progress.
   *
   * @param done units done, or -1 if unknown
   * @param total units in all, or -1 if unknown
   * @param unit {@code bytes}, {@code files}, {@code tables}, {@code percent}...
   */
  void progress(String message, long done, long total, String unit);

  /** Reports something that went wrong without failing the run. */
  void warning(String message);
}
