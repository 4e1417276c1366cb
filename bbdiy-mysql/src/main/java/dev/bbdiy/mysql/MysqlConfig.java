package dev.bbdiy.mysql;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.api.spi.Settings;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** Connection settings and tool choices of the {@code mysql} provider. */
record MysqlConfig(
    String host,
    int port,
    String user,
    @Nullable Secret password,
    String database,
    List<String> options,
    @Nullable Path binDir,
    boolean inLock,
    boolean countRows) {

  /**
   * mysqldump options a user may not pass: they would change where the dump connects or writes, put a password on
   * the command line, or take away the consistent snapshot the lock window depends on.
   */
  private static final Set<String> REFUSED = Set.of("password", "user", "host", "port", "socket", "protocol",
      "result-file", "defaults-file", "defaults-extra-file", "defaults-group-suffix", "no-defaults",
      "print-defaults", "login-path", "tab", "xml", "databases", "all-databases", "all-tablespaces",
      "single-transaction", "skip-single-transaction", "lock-tables", "lock-all-tables", "verbose", "plugin-dir",
      "default-auth", "init-command", "quote-names");

  static MysqlConfig from(Settings s) {
    String mode = s.string(MysqlProvider.MODE).trim().toLowerCase(Locale.ROOT);
    if (!mode.equals("snapshot") && !mode.equals("in-lock")) {
      throw BbdiyException.configuration("mysql.mode must be snapshot or in-lock, not " + mode);
    }
    Secret password = s.secret(MysqlProvider.PASSWORD).orElse(null);
    if (password != null && (password.reveal().contains("\n") || password.reveal().contains("\r")
        || password.reveal().indexOf('\0') >= 0)) {
      throw BbdiyException.configuration("mysql.password contains a line break or a NUL byte, which the client"
          + " tools cannot be given in their option file. Give the user a password without one");
    }
    String database = s.string(MysqlProvider.DATABASE);
    checkName(database, "mysql.database (BITBUCKET_DB)");
    String host = s.string(MysqlProvider.HOST).trim();
    if (host.isEmpty() || host.chars().anyMatch(c -> c < 0x21 || c == '"' || c == '\\' || c == '#')) {
      throw BbdiyException.configuration("mysql.host (MYSQL_HOST) '" + host + "' is not a host name or address");
    }
    String user = s.string(MysqlProvider.USER);
    if (user.isEmpty() || user.chars().anyMatch(c -> c < 0x20)) {
      throw BbdiyException.configuration("mysql.user (MYSQL_USERNAME) is empty or holds control characters");
    }
    return new MysqlConfig(host, s.integer(MysqlProvider.PORT), user, password, database,
        options(s.optional(MysqlProvider.OPTIONS).orElse("")), s.optionalPath(MysqlProvider.BIN_DIR).orElse(null),
        mode.equals("in-lock"), s.bool(MysqlProvider.COUNT_ROWS));
  }

  /** Refuses database names the server would refuse too, and control characters, which no message should carry. */
  static void checkName(String name, String what) {
    if (name.isEmpty() || name.length() > 64 || name.chars().anyMatch(c -> c < 0x20 || c == 0x7f)
        || name.endsWith(" ")) {
      throw BbdiyException.configuration(what + " '" + name.replaceAll("\\p{Cntrl}", "?") + "' is not a database"
          + " name MySQL accepts (1 to 64 characters, no control characters, no trailing space)");
    }
  }

  /** Splits and checks {@code MYSQL_BACKUP_OPTIONS}: long options only, none of those {@link #REFUSED}. */
  static List<String> options(String text) {
    List<String> out = new ArrayList<>();
    for (String o : text.trim().split("\\s+")) {
      if (o.isEmpty()) {
        continue;
      }
      if (!o.startsWith("--") || o.length() == 2) {
        throw BbdiyException.configuration("mysql.options (MYSQL_BACKUP_OPTIONS): '" + shown(o) + "' is not a long"
            + " option; write mysqldump's options in their --long-form (a password belongs in mysql.password)");
      }
      String name = o.substring(2).split("=", 2)[0].replace('_', '-').toLowerCase(Locale.ROOT);
      for (String prefix : List.of("skip-", "enable-", "disable-", "loose-", "maximum-")) {
        if (name.startsWith(prefix)) {
          name = name.substring(prefix.length());
        }
      }
      if (REFUSED.contains(name) || name.startsWith("password")) {
        throw BbdiyException.configuration("mysql.options (MYSQL_BACKUP_OPTIONS): " + shown(o) + " is set by bbdiy"
            + " itself or would undo what the backup depends on (the connection, the output file, the single"
            + " transaction whose snapshot is taken inside the lock); remove it. The password belongs in"
            + " mysql.password (MYSQL_PASSWORD)");
      }
      out.add(o);
    }
    return List.copyOf(out);
  }

  private static String shown(String option) {
    return option.toLowerCase(Locale.ROOT).startsWith("--password") || option.startsWith("-p") ? "the password"
        + " option" : option;
  }

  /** Returns the dump tool: {@code mariadb-dump} where it exists, else {@code mysqldump}. */
  String dumpTool() {
    return tool("mariadb-dump", "mysqldump");
  }

  /** Returns the client: {@code mariadb} where it exists, else {@code mysql}. */
  String clientTool() {
    return tool("mariadb", "mysql");
  }

  private String tool(String preferred, String fallback) {
    if (binDir != null) {
      Path p = binDir.resolve(preferred);
      return Files.isExecutable(p) ? p.toString() : binDir.resolve(fallback).toString();
    }
    String path = System.getenv("PATH");
    for (String dir : (path == null ? "/usr/bin:/usr/local/bin" : path).split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, preferred))) {
        return preferred;
      }
    }
    return fallback;
  }

  /**
   * Returns the content of the {@code --defaults-extra-file}: the connection and the password under {@code
   * [client]}, which both tools read. Values are double-quoted with the option-file escapes.
   */
  String optionFile() {
    StringBuilder b = new StringBuilder("[client]\n");
    b.append("host=").append(quote(host)).append('\n');
    b.append("port=").append(port).append('\n');
    b.append("user=").append(quote(user)).append('\n');
    if (password != null) {
      b.append("password=").append(quote(password.reveal())).append('\n');
    }
    return b.toString();
  }

  private static String quote(String value) {
    return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /** Describes where the database is, for messages. */
  String where() {
    return user + "@" + host + ":" + port + "/" + database;
  }
}
