package dev.bbdiy.api.spi;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Stores finished backups and finds them again.
 *
 * <p>Contract, checked by the testkit's {@code ArchiverContract}:
 *
 * <ul>
 *   <li>A backup is <b>pending</b> from {@link #store} until {@link #commit}: {@link #verify} and {@link #delete}
 *       see it, {@link #list} and {@link #find} do not, so retention never counts a backup that was not
 *       verified. {@code store} is all or nothing: on failure or cancellation nothing it wrote remains. Neither
 *       {@code store} nor {@code commit} ever replaces an existing backup of the same id.
 *   <li>{@link #commit} publishes a verified backup atomically: it is listed whole, or not at all.
 *   <li>{@link #lock} excludes other bbdiy processes that share the store (another machine, another working
 *       directory) while a backup is published and while retention lists and deletes.
 *   <li>What {@code store} writes carries the manifest: every entry with its size and SHA-256, and the
 *       summary. {@link #verify} reads everything back and detects any changed, missing or extra byte.
 *   <li>Stored backups are readable by their owner only.
 *   <li>{@link #extract} applies the {@link ExtractionPlan}'s checks and never writes through a symbolic link;
 *       it verifies what it extracts against the manifest when there is one and fails at the end if anything
 *       did not match.
 *   <li>{@link #delete} deletes one backup and nothing else.
 * </ul>
 */
public interface Archiver extends AutoCloseable {
  /** Checks the destination is reachable and writable, without side effects. */
  default void preflight(RunContext context) {}

  /** Returns whether stored backups are compressed (so providers need not compress). */
  boolean compresses();

  /**
   * Stores a backup, pending until {@link #commit}. See the contract above.
   *
   * @return the pending backup
   */
  StoredBackup store(BackupContent content, RunContext context);

  /**
   * Publishes a pending backup this archiver stored and the engine verified. Called while the engine holds
   * {@link #lock}.
   *
   * @return the published backup
   * @throws dev.bbdiy.api.BbdiyException {@link dev.bbdiy.api.ErrorCode#REFUSED} if a backup of that id appeared
   *     meanwhile, {@link dev.bbdiy.api.ErrorCode#NOT_FOUND} if no such pending backup exists
   */
  StoredBackup commit(BackupId id);

  /**
   * Takes the store's lock, waiting for it up to {@code wait}; the engine holds it while it publishes a backup
   * and while retention lists and deletes, so that two processes sharing a store never act on a stale list.
   * Holders keep it briefly; a lock whose holder died is released (a file lock the OS drops, or an expiring
   * lock object).
   *
   * @throws dev.bbdiy.api.BbdiyException {@link dev.bbdiy.api.ErrorCode#REFUSED} naming the holder if it is
   *     still held after {@code wait}
   */
  Lock lock(Duration wait, RunContext context);

  /** A held store lock; closing releases it and does not throw. */
  interface Lock extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Returns every published backup, newest first, including ones without a manifest (made by other tools);
   * never a pending one.
   *
   * @throws dev.bbdiy.api.BbdiyException {@link dev.bbdiy.api.ErrorCode#NOT_FOUND} if the store itself does not
   *     exist (a mistyped directory is not an empty store)
   */
  List<StoredBackup> list();

  /** Returns one stored backup, if it exists. */
  default Optional<StoredBackup> find(BackupId id) {
    return list().stream().filter(b -> b.id().equals(id)).findFirst();
  }

  /**
   * Reads a stored backup (published, or pending from this archiver's {@code store}) back and checks it against
   * its manifest, without restoring anything.
   */
  VerifyResult verify(BackupId id, RunContext context);

  /** Extracts a stored backup according to {@code plan}. See the contract above. */
  ExtractResult extract(BackupId id, ExtractionPlan plan, RunContext context);

  /** Deletes one stored backup, published or pending. */
  void delete(BackupId id);

  /**
   * Releases what this instance holds (clients, thread pools) once its operation is over, on every path. The
   * default does nothing. Must not throw.
   */
  @Override
  default void close() {}
}
