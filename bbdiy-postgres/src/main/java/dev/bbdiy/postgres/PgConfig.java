package dev.bbdiy.postgres;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.api.spi.Settings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import org.jspecify.annotations.Nullable;

/** Connection settings and tool locations of the {@code postgresql} provider. */
record PgConfig(
    String host,
    int port,
    String user,
    @Nullable Secret password,
    String database,
    @Nullable String sslmode,
    @Nullable Path sslrootcert,
    @Nullable Path binDir,
    int jobs,
    boolean inLock,
    boolean countRows,
    String maintenanceDatabase,
    boolean restoreNoOwner,
    @Nullable String restoreRole) {

  static PgConfig from(Settings s) {
    String host = s.string(PostgresProvider.HOST);
    if (host.startsWith("/")) {
      throw BbdiyException.configuration("postgresql.host is a socket directory (" + host + "); bbdiy connects over"
          + " TCP: use localhost or the server's address");
    }
    String mode = s.string(PostgresProvider.MODE).toLowerCase(Locale.ROOT);
    if (!mode.equals("snapshot") && !mode.equals("in-lock")) {
      throw BbdiyException.configuration("postgresql.mode must be snapshot or in-lock, not " + mode);
    }
    Secret password = s.secret(PostgresProvider.PASSWORD).orElse(null);
    if (password != null && (password.reveal().contains("\n") || password.reveal().contains("\r"))) {
      // pg_dump and pg_restore read it from a passfile, one entry a line: it would arrive cut at the line break.
      throw BbdiyException.configuration("postgresql.password contains a line break, which pg_dump and pg_restore"
          + " cannot be given (they read it from a password file, one entry a line). Give the role a password"
          + " without one");
    }
    int jobs = s.integer(PostgresProvider.JOBS);
    if (jobs <= 0) {
      jobs = Math.max(1, Math.min(8, Runtime.getRuntime().availableProcessors()));
    }
    return new PgConfig(host, s.integer(PostgresProvider.PORT), s.string(PostgresProvider.USER),
        password, s.string(PostgresProvider.DATABASE),
        s.optional(PostgresProvider.SSLMODE).orElse(null), s.optionalPath(PostgresProvider.SSLROOTCERT).orElse(null),
        s.optionalPath(PostgresProvider.BIN_DIR).orElse(null), jobs, mode.equals("in-lock"),
        s.bool(PostgresProvider.COUNT_ROWS), s.string(PostgresProvider.MAINTENANCE_DATABASE),
        s.bool(PostgresProvider.RESTORE_NO_OWNER), s.optional(PostgresProvider.RESTORE_ROLE).orElse(null));
  }

  /** Opens a JDBC connection to {@code db}; the password travels in memory only. */
  Connection connect(String db) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", user);
    if (password != null) {
      p.setProperty("password", password.reveal());
    }
    if (sslmode != null) {
      p.setProperty("sslmode", sslmode);
    }
    if (sslrootcert != null) {
      p.setProperty("sslrootcert", sslrootcert.toString());
    }
    p.setProperty("ApplicationName", "bbdiy");
    p.setProperty("connectTimeout", "10");
    p.setProperty("tcpKeepAlive", "true");
    String url = "jdbc:postgresql://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/"
        + java.net.URLEncoder.encode(db, StandardCharsets.UTF_8);
    return DriverManager.getConnection(url, p);
  }

  /** Returns the path of a PostgreSQL client program: the configured bin-dir, the newest installed version, or PATH. */
  String tool(String name) {
    if (binDir != null) {
      return binDir.resolve(name).toString();
    }
    Path newest = newestInstalled(name);
    return newest == null ? name : newest.toString();
  }

  private static @Nullable Path newestInstalled(String name) {
    Path base = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(base)) {
      return null;
    }
    List<Integer> versions = new ArrayList<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(base)) {
      for (Path d : dirs) {
        String v = d.getFileName().toString();
        if (v.matches("\\d+") && Files.isExecutable(d.resolve("bin").resolve(name))) {
          versions.add(Integer.parseInt(v));
        }
      }
    } catch (IOException e) {
      return null;
    }
    if (versions.isEmpty()) {
      return null;
    }
    versions.sort(null);
    return base.resolve(Integer.toString(versions.get(versions.size() - 1))).resolve("bin").resolve(name);
  }

  /** The libpq connection options for command lines: host, port, user. Never the password. */
  List<String> connectionArgs() {
    return List.of("--host=" + host, "--port=" + port, "--username=" + user, "--no-password");
  }

  /** Describes where the database is, for messages. */
  String where() {
    return user + "@" + host + ":" + port + "/" + database;
  }
}
