package dev.bbdiy.examples.sqlite;

import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import java.util.List;
import java.util.Set;

/**
 * The {@code sqlite} database provider: an online copy of one SQLite database file ({@code sqlite3 .backup}),
 * taken while Bitbucket is locked, checked ({@code PRAGMA integrity_check}) after the unlock and stored as {@code
 * bitbucket-db/database.sqlite}; a restore writes a new file and never replaces one. Bitbucket itself does not run on
 * SQLite: this is the example of a provider written outside bbdiy, on the SPI and the kit alone.
 *
 * <p>The copy inside the lock reads the whole database, so the lock window grows with its size: a provider for a
 * large database would take only a consistent point there (as {@code postgresql} does) and copy after.
 */
public final class SqliteProvider implements DatabaseDumperProvider {
  /** The database file. */
  public static final Setting FILE = Setting.of("file", SettingType.PATH,
      "The SQLite database file (SQLITE_DATABASE).").asRequired().fromVarsFile("SQLITE_DATABASE");
  /** The sqlite3 program. */
  public static final Setting SQLITE3 = Setting.of("sqlite3", SettingType.STRING,
      "The sqlite3 program (apt-get install sqlite3).").withDefault("sqlite3");

  @Override
  public String name() {
    return "sqlite";
  }

  @Override
  public String description() {
    return "SQLite: sqlite3 .backup inside the lock, integrity-checked after (example provider)";
  }

  @Override
  public List<Setting> settings() {
    return List.of(FILE, SQLITE3);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.FILE_OUTPUT);
  }

  @Override
  public DatabaseDumper create(ProviderContext context) {
    return new SqliteDumper(context.settings().path(FILE).toAbsolutePath().normalize(),
        context.settings().string(SQLITE3), context.stateDirectory());
  }
}
