package dev.bbdiy.api.spi;

import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a provider's {@link BackupSource#restore} did, in typed form, for the restore's result: where the data went
 * and what was checked. The engine reports exactly this; it never guesses from settings.
 *
 * @param target where it was restored, for humans: {@code database bitbucket_restored on db:5432}, {@code volume
 *     vol-0123 at /dev/xvdf}
 * @param database the name of the database restored into, for {@link dev.bbdiy.api.RestoreResult#database()};
 *     {@code null} for home providers
 * @param checks what was verified after the restore, one line each (row counts compared, checksums read back);
 *     empty if nothing was
 */
public record RestoreOutcome(String target, @Nullable String database, List<String> checks) {
  public RestoreOutcome {
    Objects.requireNonNull(target, "target");
    checks = List.copyOf(checks);
  }

  /** Returns the outcome of a home provider that restored into {@code target}, checking nothing. */
  public static RestoreOutcome home(String target) {
    return new RestoreOutcome(target, null, List.of());
  }

  /** Returns the outcome of a database restored as {@code database}, described by {@code target}. */
  public static RestoreOutcome database(String database, String target, List<String> checks) {
    return new RestoreOutcome(target, Objects.requireNonNull(database, "database"), checks);
  }
}
