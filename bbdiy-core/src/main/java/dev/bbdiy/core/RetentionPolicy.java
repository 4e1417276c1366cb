package dev.bbdiy.core;

import dev.bbdiy.api.StoredBackup;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Which backups retention keeps: the newest {@code keepLast}, and every backup younger than {@code keepWithin}.
 * A backup is deleted only when no rule keeps it; the newest backup is always kept; with no rule at all nothing
 * is deleted. Only backups this instance's configuration made are ever considered.
 *
 * @param keepLast how many of the newest backups to keep; 0 for no count rule (Atlassian's {@code KEEP_BACKUPS})
 * @param keepWithin keep every backup started within this time, or {@code null} for no time rule
 */
public record RetentionPolicy(int keepLast, @Nullable Duration keepWithin) {
  /** Keeps everything. */
  public static final RetentionPolicy KEEP_ALL = new RetentionPolicy(0, null);

  public RetentionPolicy {
    if (keepLast < 0) {
      throw new IllegalArgumentException("keepLast must not be negative");
    }
    if (keepWithin != null && keepWithin.isNegative()) {
      throw new IllegalArgumentException("keepWithin must not be negative");
    }
  }

  /** Keeps the newest {@code n} backups. */
  public static RetentionPolicy keepLast(int n) {
    return new RetentionPolicy(n, null);
  }

  /** Returns whether the policy deletes anything at all. */
  public boolean deletesAnything() {
    return keepLast > 0 || keepWithin != null;
  }

  /** Returns the backups to keep among {@code newestFirst}, which must be sorted newest first. */
  public Set<StoredBackup> kept(List<StoredBackup> newestFirst, Instant now) {
    Set<StoredBackup> keep = new HashSet<>();
    if (!deletesAnything()) {
      keep.addAll(newestFirst);
      return keep;
    }
    for (int i = 0; i < newestFirst.size(); i++) {
      StoredBackup b = newestFirst.get(i);
      Instant started = b.summary() == null ? b.storedAt() : b.summary().startedAt();
      boolean byCount = i < Math.max(1, keepLast);
      boolean byAge = keepWithin != null && started.isAfter(now.minus(keepWithin));
      if (byCount || byAge) {
        keep.add(b);
      }
    }
    return keep;
  }
}
