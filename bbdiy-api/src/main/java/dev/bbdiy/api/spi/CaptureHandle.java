package dev.bbdiy.api.spi;

/**
 * What {@link BackupSource#capture} returns and {@link BackupSource#complete} consumes: the consistent point
 * (an exported database snapshot held by an open transaction, started cloud snapshots). The engine closes it
 * after {@code complete} or {@code abort}, on every path; closing must release what it holds and not throw.
 */
public interface CaptureHandle extends AutoCloseable {
  /** A handle that holds nothing. */
  CaptureHandle NONE = new CaptureHandle() {};

  /** Releases what the handle holds. The default does nothing. */
  @Override
  default void close() {}
}
