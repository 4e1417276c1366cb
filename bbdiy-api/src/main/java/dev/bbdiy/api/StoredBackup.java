package dev.bbdiy.api;

import java.time.Instant;
import java.util.Comparator;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A backup as an archiver stores it.
 *
 * @param id the backup id
 * @param location where it is, for humans: a file path, a directory, an {@code s3://} URL
 * @param format {@code tar.zst}, {@code tar.gz}, {@code directory}...
 * @param size bytes stored (compressed size for archives)
 * @param storedAt when it was stored
 * @param summary its manifest summary, or {@code null} for a backup made by another tool (an archive of
 *     Atlassian's scripts), which can be restored but not verified
 */
public record StoredBackup(
    BackupId id,
    String location,
    String format,
    long size,
    Instant storedAt,
    @Nullable BackupSummary summary) {

  /** The order of {@code Archiver.list()}: newest first, by start time (storage time without a summary). */
  public static final Comparator<StoredBackup> NEWEST_FIRST = Comparator
      .comparing((StoredBackup b) -> b.summary() == null ? b.storedAt() : b.summary().startedAt())
      .thenComparing(StoredBackup::id).reversed();

  public StoredBackup {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(location, "location");
    Objects.requireNonNull(format, "format");
  }

  /** Returns whether bbdiy made this backup (it has a manifest). */
  public boolean hasManifest() {
    return summary != null;
  }
}
