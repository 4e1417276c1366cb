package dev.bbdiy.api.spi;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import java.util.List;
import java.util.Optional;

/**
 * Stores finished backups and finds them again.
 *
 * <p>Contract, checked by the testkit's {@code ArchiverContract}:
 *
 * <ul>
 *   <li>{@link #store} is all or nothing: until it returns, nothing it wrote is visible to {@link #list}; on
 *       failure or cancellation nothing it wrote remains. It never replaces an existing backup of the same id.
 *   <li>What {@code store} writes carries the manifest: every entry with its size and SHA-256, and the
 *       summary. {@link #verify} reads everything back and detects any changed, missing or extra byte.
 *   <li>Stored backups are readable by their owner only.
 *   <li>{@link #extract} applies the {@link ExtractionPlan}'s checks and never writes through a symbolic link;
 *       it verifies what it extracts against the manifest when there is one and fails at the end if anything
 *       did not match.
 *   <li>{@link #delete} deletes one backup and nothing else.
 * </ul>
 */
public interface Archiver {
  /** Checks the destination is reachable and writable, without side effects. */
  default void preflight(RunContext context) {}

  /** Returns whether stored backups are compressed (so providers need not compress). */
  boolean compresses();

  /** Stores a backup. See the contract above. */
  StoredBackup store(BackupContent content, RunContext context);

  /** Returns every stored backup, newest first, including ones without a manifest (made by other tools). */
  List<StoredBackup> list();

  /** Returns one stored backup, if it exists. */
  default Optional<StoredBackup> find(BackupId id) {
    return list().stream().filter(b -> b.id().equals(id)).findFirst();
  }

  /** Reads a stored backup back and checks it against its manifest, without restoring anything. */
  VerifyResult verify(BackupId id, RunContext context);

  /** Extracts a stored backup according to {@code plan}. See the contract above. */
  ExtractResult extract(BackupId id, ExtractionPlan plan, RunContext context);

  /** Deletes one stored backup. */
  void delete(BackupId id);
}
