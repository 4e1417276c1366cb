package dev.bbdiy.api;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a successful backup did. A backup is only reported through this type once it is complete, stored and
 * verified; any failure raises a {@link BbdiyException} instead.
 *
 * @param summary the manifest summary, totals included
 * @param stored where and how it is stored
 * @param verification the verification of the stored backup
 * @param phases how long every phase took, archive, verify and retention included
 * @param lockWindow time from lock request to confirmed unlock ({@code null} in zero-downtime mode)
 * @param drainedWindow time Bitbucket spent drained ({@code null} in zero-downtime mode)
 * @param total time from start to end
 * @param pruned backups the retention rules deleted afterwards
 * @param warnings what went wrong without failing the backup
 */
public record BackupResult(
    BackupSummary summary,
    StoredBackup stored,
    VerifyResult verification,
    Map<Phase, Duration> phases,
    @Nullable Duration lockWindow,
    @Nullable Duration drainedWindow,
    Duration total,
    List<BackupId> pruned,
    List<String> warnings) {

  public BackupResult {
    phases = Map.copyOf(phases);
    pruned = List.copyOf(pruned);
    warnings = List.copyOf(warnings);
  }

  /** Returns the backup id. */
  public BackupId id() {
    return summary.id();
  }
}
