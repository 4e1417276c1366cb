package dev.bbdiy.mysql;

import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import java.util.List;
import java.util.Set;

/**
 * The {@code mysql} database dumper for MySQL and MariaDB ({@code BACKUP_DATABASE_TYPE=mysql}).
 *
 * <p>Inside the lock it starts {@code mariadb-dump} (or {@code mysqldump}) {@code --single-transaction} and waits
 * only until the dump's transaction holds its consistent snapshot: the dump writes {@code -- Setting savepoint...}
 * to its {@code --verbose} standard error right after {@code START TRANSACTION WITH CONSISTENT SNAPSHOT} returned,
 * and before it reads any row. Bitbucket is unlocked then; the dump goes on reading that snapshot while Bitbucket
 * writes again, so the lock window does not grow with the database. Tables that are not InnoDB are outside any
 * snapshot: with such tables the whole dump runs inside the lock, with a warning.
 *
 * <p>The password reaches the client tools only through a temporary 0600 {@code --defaults-extra-file}, never
 * their arguments. A restore creates a new database (refusing one that exists), loads the dump with the {@code
 * mariadb}/{@code mysql} client and compares every table's row count with the count in the dump.
 */
public final class MysqlProvider implements DatabaseDumperProvider {
  public static final Setting HOST = Setting.of("host", SettingType.STRING,
      "Database host (MYSQL_HOST); localhost means the server's Unix socket to the client tools.")
      .withDefault("localhost").fromVarsFile("MYSQL_HOST");
  public static final Setting PORT = Setting.of("port", SettingType.INTEGER, "Database port (TCP).")
      .withDefault("3306").withRange("1", "65535");
  public static final Setting USER = Setting.of("user", SettingType.STRING,
      "Database user (MYSQL_USERNAME); needs SELECT, SHOW VIEW, TRIGGER and LOCK TABLES on the database, and"
          + " CREATE, DROP, INSERT, ALTER, INDEX, REFERENCES on the restore target.")
      .withDefault("bitbucket").fromVarsFile("MYSQL_USERNAME");
  public static final Setting PASSWORD = Setting.of("password", SettingType.SECRET,
      "Database password (MYSQL_PASSWORD); or mysql.password.file. Handed to the tools in a 0600 option file.")
      .fromVarsFile("MYSQL_PASSWORD");
  public static final Setting DATABASE = Setting.of("database", SettingType.STRING,
      "Bitbucket's database (BITBUCKET_DB).").withDefault("bitbucket").fromVarsFile("BITBUCKET_DB");
  public static final Setting OPTIONS = Setting.of("options", SettingType.STRING,
      "Extra mysqldump options, long form, separated by spaces (MYSQL_BACKUP_OPTIONS); those that would change"
          + " the connection, the output or the consistent snapshot are refused.")
      .fromVarsFile("MYSQL_BACKUP_OPTIONS");
  public static final Setting BIN_DIR = Setting.of("bin-dir", SettingType.PATH,
      "Directory of the client tools; default: mariadb-dump and mariadb on the PATH, else mysqldump and mysql.");
  public static final Setting MODE = Setting.of("mode", SettingType.STRING,
      "snapshot (default): take the dump's consistent snapshot inside the lock and dump after the unlock;"
          + " in-lock: the whole dump inside the lock, as Atlassian's scripts do.")
      .withDefault("snapshot");
  public static final Setting COUNT_ROWS = Setting.of("count-rows", SettingType.BOOLEAN,
      "Record every table's row count in the dump, compared after a restore (default true).")
      .withDefault("true");

  @Override
  public String name() {
    return "mysql";
  }

  @Override
  public String description() {
    return "MySQL / MariaDB: mysqldump's consistent snapshot taken inside the lock, the dump written after it";
  }

  @Override
  public List<Setting> settings() {
    return List.of(HOST, PORT, USER, PASSWORD, DATABASE, OPTIONS, BIN_DIR, MODE, COUNT_ROWS);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.FILE_OUTPUT);
  }

  @Override
  public DatabaseDumper create(ProviderContext context) {
    return new MysqlDumper(MysqlConfig.from(context.settings()), context.workDir(), context.stateDirectory());
  }
}
