package dev.bbdiy.api;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The manifest of a backup without its per-file entries: what was backed up, by which providers and settings,
 * when, and how long Bitbucket was locked. It is stored inside every backup ({@code manifest.json}) and next to
 * it, so that listing backups does not read them.
 *
 * @param formatVersion the manifest format: 2 since file names are kept as bytes and hard links recorded; 1 for
 *     backups of bbdiy 0.1
 * @param id the backup id
 * @param toolVersion the bbdiy version that made it
 * @param instance the instance name
 * @param instanceType Bitbucket or Mesh
 * @param bitbucketUrl the base URL that was locked, or {@code null} if none was (zero-downtime mode)
 * @param bitbucketVersion the version Bitbucket reported, if it was asked
 * @param startedAt when the backup started
 * @param consistentAt the point in time the backup represents: when capture began
 * @param zeroDowntime whether the backup was made without locking
 * @param artifacts what each provider produced
 * @param settings the non-secret settings of the run, for the record
 * @param phases how long each phase before archiving took
 * @param lockWindow time from lock request to confirmed unlock, or {@code null} without lock
 * @param drainedWindow time from Bitbucket reporting drained to the end of capture, or {@code null}
 * @param files regular files in the backup, filled by the archiver (0 before)
 * @param bytes bytes of those files, filled by the archiver (0 before)
 */
public record BackupSummary(
    int formatVersion,
    BackupId id,
    String toolVersion,
    String instance,
    InstanceType instanceType,
    @Nullable String bitbucketUrl,
    @Nullable String bitbucketVersion,
    Instant startedAt,
    Instant consistentAt,
    boolean zeroDowntime,
    List<Artifact> artifacts,
    Map<String, String> settings,
    Map<Phase, Duration> phases,
    @Nullable Duration lockWindow,
    @Nullable Duration drainedWindow,
    long files,
    long bytes) {

  /** The manifest format this version writes. */
  public static final int FORMAT_VERSION = 2;

  public BackupSummary {
    Objects.requireNonNull(id, "id");
    artifacts = List.copyOf(artifacts);
    settings = Map.copyOf(settings);
    phases = Map.copyOf(phases);
  }

  /** Returns a copy with the archiver's totals filled in. */
  public BackupSummary withTotals(long files, long bytes) {
    return new BackupSummary(formatVersion, id, toolVersion, instance, instanceType, bitbucketUrl,
        bitbucketVersion, startedAt, consistentAt, zeroDowntime, artifacts, settings, phases, lockWindow,
        drainedWindow, files, bytes);
  }

  /** Returns the artifact of the given kind, if the backup has one. */
  public Optional<Artifact> artifact(Artifact.Kind kind) {
    return artifacts.stream().filter(a -> a.kind() == kind).findFirst();
  }
}
