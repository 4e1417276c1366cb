package dev.bbdiy.api;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a restore did.
 *
 * @param id the restored backup
 * @param home where the home was restored, or {@code null} if it was not
 * @param dataStores where data stores were restored
 * @param database the database restored into, or {@code null} if none was
 * @param files regular files written
 * @param bytes bytes written
 * @param verified whether files were extracted and checked against the backup's manifest while they were
 *     restored (false for a backup without a manifest, and for snapshots, which are not extracted)
 * @param targets where each part went, for humans, one line each
 * @param checks what was verified, one line each (the archive against its manifest, row counts...); exactly what
 *     was checked and nothing more
 * @param phases how long each part took
 * @param total time from start to end
 * @param warnings what went wrong without failing the restore
 */
public record RestoreResult(
    BackupId id,
    @Nullable Path home,
    List<Path> dataStores,
    @Nullable String database,
    long files,
    long bytes,
    boolean verified,
    List<String> targets,
    List<String> checks,
    Map<Phase, Duration> phases,
    Duration total,
    List<String> warnings) {
  public RestoreResult {
    dataStores = List.copyOf(dataStores);
    targets = List.copyOf(targets);
    checks = List.copyOf(checks);
    phases = Map.copyOf(phases);
    warnings = List.copyOf(warnings);
  }
}
