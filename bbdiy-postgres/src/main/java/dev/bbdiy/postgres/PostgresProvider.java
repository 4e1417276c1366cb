package dev.bbdiy.postgres;

import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import java.util.List;
import java.util.Set;

/**
 * The {@code postgresql} database dumper ({@code BACKUP_DATABASE_TYPE=postgresql}).
 *
 * <p>While Bitbucket is locked it only opens a {@code REPEATABLE READ} transaction and exports its snapshot
 * ({@code pg_export_snapshot()}), which takes milliseconds whatever the size of the database. After the unlock,
 * {@code pg_dump --snapshot} dumps exactly that snapshot in parallel, directory format, while Bitbucket writes
 * again: the lock window no longer grows with the database. The password reaches child processes only through a
 * temporary 0600 passfile; one a killed run left behind is removed by the next run.
 *
 * <p>A restore creates a new database and loads it with {@code pg_restore}, which runs the SQL in the dump with the
 * restoring role's rights: restore archives of unknown origin as a role that is not a superuser (see {@link
 * #RESTORE_ROLE}).
 */
public final class PostgresProvider implements DatabaseDumperProvider {
  public static final Setting HOST = Setting.of("host", SettingType.STRING,
      "Database host (POSTGRES_HOST).").withDefault("localhost").fromVarsFile("POSTGRES_HOST");
  public static final Setting PORT = Setting.of("port", SettingType.INTEGER,
      "Database port (POSTGRES_PORT).").withDefault("5432").withRange("1", "65535").fromVarsFile("POSTGRES_PORT");
  public static final Setting USER = Setting.of("user", SettingType.STRING,
      "Database user (POSTGRES_USERNAME); needs to read every table.").withDefault("bitbucket")
      .fromVarsFile("POSTGRES_USERNAME");
  public static final Setting PASSWORD = Setting.of("password", SettingType.SECRET,
      "Database password (POSTGRES_PASSWORD, PGPASSWORD); or postgresql.password.file, or a ~/.pgpass entry.")
      .fromVarsFile("POSTGRES_PASSWORD", "PGPASSWORD");
  public static final Setting DATABASE = Setting.of("database", SettingType.STRING,
      "Bitbucket's database (BITBUCKET_DB).").withDefault("bitbucket").fromVarsFile("BITBUCKET_DB");
  public static final Setting SSLMODE = Setting.of("sslmode", SettingType.STRING,
      "libpq sslmode: disable, prefer, require, verify-ca, verify-full (PGSSLMODE).");
  public static final Setting SSLROOTCERT = Setting.of("sslrootcert", SettingType.PATH,
      "CA certificate for verify-ca / verify-full (PGSSLROOTCERT).");
  public static final Setting BIN_DIR = Setting.of("bin-dir", SettingType.PATH,
      "Directory of pg_dump and pg_restore; default: the newest installed version, or the PATH.");
  public static final Setting JOBS = Setting.of("jobs", SettingType.INTEGER,
      "Parallel pg_dump / pg_restore jobs; 0 (default) is one per core, at most 8.").withDefault("0")
      .withRange("0", "64");
  public static final Setting MODE = Setting.of("mode", SettingType.STRING,
      "snapshot (default): export a snapshot inside the lock and dump it after; in-lock: dump inside the lock,"
          + " as Atlassian's scripts do (for comparison, or servers that cannot export snapshots).")
      .withDefault("snapshot");
  public static final Setting COUNT_ROWS = Setting.of("count-rows", SettingType.BOOLEAN,
      "Record every table's row count at backup time, checked after a restore (default true).")
      .withDefault("true");
  public static final Setting MAINTENANCE_DATABASE = Setting.of("maintenance-database", SettingType.STRING,
      "Database to connect to when creating the restore target.").withDefault("postgres");
  public static final Setting RESTORE_NO_OWNER = Setting.of("restore-no-owner", SettingType.BOOLEAN,
      "Restore without the original owners (pg_restore --no-owner): for clusters whose roles differ.")
      .withDefault("false");
  public static final Setting RESTORE_ROLE = Setting.of("restore-role", SettingType.STRING,
      "Role to restore as, and owner of the new database (pg_restore --role); postgresql.user must be allowed to"
          + " SET ROLE to it. pg_restore runs the dump's SQL with the restoring role's rights, as a superuser"
          + " including programs on the server: for archives of unknown origin use a role that is not a"
          + " superuser, and connect as one (postgresql.user), since the dump's SQL can RESET ROLE.");

  @Override
  public String name() {
    return "postgresql";
  }

  @Override
  public String description() {
    return "PostgreSQL: snapshot exported inside the lock, parallel pg_dump of it after the unlock";
  }

  @Override
  public List<Setting> settings() {
    return List.of(HOST, PORT, USER, PASSWORD, DATABASE, SSLMODE, SSLROOTCERT, BIN_DIR, JOBS, MODE, COUNT_ROWS,
        MAINTENANCE_DATABASE, RESTORE_NO_OWNER, RESTORE_ROLE);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.FILE_OUTPUT, Capability.RESTORES_WHILE_EXTRACTING);
  }

  @Override
  public DatabaseDumper create(ProviderContext context) {
    return new PostgresDumper(PgConfig.from(context.settings()), context.workDir(), context::stateDirectory);
  }
}
