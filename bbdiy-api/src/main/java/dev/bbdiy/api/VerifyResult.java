package dev.bbdiy.api;

import java.time.Duration;
import java.util.List;

/**
 * The outcome of checking a stored backup against its manifest without restoring it.
 *
 * @param id the backup
 * @param ok whether every entry matched and nothing was missing or extra
 * @param entries entries checked
 * @param bytes content bytes read and hashed
 * @param problems what did not match, at most the first 100
 * @param took how long it took
 */
public record VerifyResult(
    BackupId id, boolean ok, long entries, long bytes, List<String> problems, Duration took) {
  public VerifyResult {
    problems = List.copyOf(problems);
  }
}
