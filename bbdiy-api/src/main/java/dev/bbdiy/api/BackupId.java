package dev.bbdiy.api;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Identifies one backup: {@code <instance>-<yyyyMMdd-HHmmss>} in UTC, the naming of Atlassian's scripts, so that
 * an archive named by bbdiy sorts and reads like the ones admins already have.
 *
 * @param value the identifier; letters, digits, {@code .}, {@code _} and {@code -} only
 */
public record BackupId(String value) implements Comparable<BackupId> {
  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");
  private static final Pattern TIMESTAMP = Pattern.compile("(.+)-(\\d{8}-\\d{6})$");
  private static final DateTimeFormatter FORMAT =
      DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  public BackupId {
    Objects.requireNonNull(value, "value");
    if (!VALID.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "Invalid backup id '" + value + "': use letters, digits, '.', '_' and '-' only");
    }
  }

  /** Returns {@code text} as a backup id, or empty if it is not a valid one (a file name of something else). */
  public static java.util.Optional<BackupId> parse(String text) {
    return VALID.matcher(text).matches() ? java.util.Optional.of(new BackupId(text)) : java.util.Optional.empty();
  }

  /** Returns the id of a backup of {@code instanceName} started at {@code at}. */
  public static BackupId of(String instanceName, Instant at) {
    return new BackupId(instanceName + "-" + FORMAT.format(at));
  }

  /** Returns the instance name part, or the whole value if the id has no timestamp suffix. */
  public String instanceName() {
    var m = TIMESTAMP.matcher(value);
    return m.matches() ? m.group(1) : value;
  }

  /** Returns whether this id was made for {@code instanceName} by {@link #of}. */
  public boolean belongsTo(String instanceName) {
    var m = TIMESTAMP.matcher(value);
    return m.matches() && m.group(1).equals(instanceName);
  }

  @Override
  public int compareTo(BackupId other) {
    return value.compareTo(other.value);
  }

  @Override
  public String toString() {
    return value;
  }
}
