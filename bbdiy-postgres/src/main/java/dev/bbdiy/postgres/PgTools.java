package dev.bbdiy.postgres;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.kit.ChildProcess;
import dev.bbdiy.kit.PrivateFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * How the {@code postgresql} provider reaches the server: JDBC connections and what their failures mean, the
 * client tools' versions, and the 0600 passfiles and environment that hand the password to pg_dump and pg_restore
 * without a command line.
 */
final class PgTools {
  private static final Pattern TOOL_VERSION = Pattern.compile("\\(PostgreSQL\\)\\s+(\\d+)(?:\\.(\\d+))?");
  private static final AtomicLong PASSFILES = new AtomicLong();
  private static final String PASSFILE_PREFIX = "pgpass-";
  private static final Pattern PASSFILE_NAME = Pattern.compile("pgpass-(\\d+)-\\d+");

  private final PgConfig cfg;
  /** The provider's private directory, where the passfiles live. */
  private final Supplier<Path> stateDirectory;

  PgTools(PgConfig cfg, Supplier<Path> stateDirectory) {
    this.cfg = cfg;
    this.stateDirectory = stateDirectory;
  }

  /**
   * Returns a libpq connection string naming {@code database}. Passed as {@code --dbname}, a bare name holding a
   * '=' would itself be read as a connection string. The keepalives end a dump whose server vanished without a
   * word (a cut network, a host gone) about a minute after it went quiet, instead of the system's two hours.
   */
  static String conninfo(String database) {
    return "dbname='" + database.replace("\\", "\\\\").replace("'", "\\'") + "'"
        + " keepalives=1 keepalives_idle=30 keepalives_interval=10 keepalives_count=3";
  }

  Connection connect(String db) throws SQLException {
    return cfg.connect(db);
  }

  /** Maps a major version (96 for 9.6, 15 for 15) to a number that orders across the 10.0 renumbering. */
  static int comparable(int major) {
    return major >= 90 ? major : major * 100;
  }

  /** Runs {@code <tool> --version}; returns the version and its major number. */
  String[] toolVersion(String tool, @Nullable RunContext ctx) {
    ChildProcess.Builder b = ChildProcess.builder(cfg.tool(tool), "--version").name(tool);
    if (ctx != null) {
      b.cancellation(ctx.cancellation());
    }
    ChildProcess.Result r;
    try {
      r = b.build().run();
    } catch (BbdiyException e) {
      throw BbdiyException.configuration(tool + " is not installed (" + e.getMessage() + "). Install the PostgreSQL"
          + " client (apt-get install postgresql-client) or set postgresql.bin-dir");
    }
    String out = String.join(" ", r.stdoutTail());
    Matcher m = TOOL_VERSION.matcher(out);
    if (!r.succeeded() || !m.find()) {
      throw BbdiyException.configuration("Cannot tell the version of " + cfg.tool(tool) + " ('" + out + "')");
    }
    int major = Integer.parseInt(m.group(1));
    if (major < 10 && m.group(2) != null) {
      major = major * 10 + Integer.parseInt(m.group(2)); // 9.6 compares as 96 against server 96
    }
    return new String[] {out.replaceAll(".*\\(PostgreSQL\\)\\s+", "").trim(), Integer.toString(major)};
  }

  /**
   * Writes a 0600 passfile for the child processes, or returns null when there is no password to pass. Its name
   * holds this process's id, so that a later run can tell one a killed run left ({@link #removeStalePassfiles}).
   */
  @Nullable Path passfile() throws IOException {
    Secret password = cfg.password();
    if (password == null) {
      return null;
    }
    Path dir = Files.createDirectories(stateDir());
    Path file = dir.resolve(PASSFILE_PREFIX + ProcessHandle.current().pid() + "-" + PASSFILES.incrementAndGet());
    Files.deleteIfExists(file);
    String line = escape(cfg.host()) + ":" + cfg.port() + ":*:" + escape(cfg.user()) + ":"
        + escape(password.reveal()) + "\n";
    try (FileChannel ch = PrivateFiles.createPrivate(file)) {
      ch.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)));
    } catch (IOException | RuntimeException e) {
      deletePassfile(file);
      throw e;
    }
    return file;
  }

  static void deletePassfile(@Nullable Path file) {
    if (file != null) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException ignored) {
        // it is 0600 in our own state directory, and the next run removes it
      }
    }
  }

  /**
   * Removes the passfiles of runs that were killed (SIGKILL, OOM killer, power loss) before they could delete their
   * own: those whose process is gone, or whose process id now belongs to a process started after the file was
   * written. The passfiles of runs still going are left alone.
   */
  void removeStalePassfiles(ProgressReporter progress) {
    Path dir = stateDir();
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, PASSFILE_PREFIX + "*")) {
      for (Path f : files) {
        Matcher m = PASSFILE_NAME.matcher(f.getFileName().toString());
        if (!m.matches()) {
          continue;
        }
        Instant written = Files.getLastModifiedTime(f, LinkOption.NOFOLLOW_LINKS).toInstant();
        if (!writerAlive(Long.parseLong(m.group(1)), written)) {
          Files.deleteIfExists(f);
        }
      }
    } catch (IOException | NumberFormatException e) {
      progress.warning("could not remove the password files killed runs left in " + dir + ": " + e.getMessage()
          + "; delete " + dir.resolve(PASSFILE_PREFIX + "*") + " of runs no longer going");
    }
  }

  private static boolean writerAlive(long pid, Instant written) {
    Optional<ProcessHandle> h = ProcessHandle.of(pid);
    if (h.isEmpty() || !h.get().isAlive()) {
      return false;
    }
    // The start time is known to the clock tick, the boot time to the second: allow for both.
    Optional<Instant> started = h.get().info().startInstant();
    return started.isEmpty() || !started.get().isAfter(written.plusSeconds(2));
  }

  private Path stateDir() {
    return stateDirectory.get();
  }

  void environment(ChildProcess.Builder b, @Nullable Path passfile) {
    b.environment("PGAPPNAME", "bbdiy");
    b.environment("PGCONNECT_TIMEOUT", "10");
    if (passfile != null) {
      b.environment("PGPASSFILE", passfile.toString());
      b.removeEnvironment("PGPASSWORD");
    }
    if (cfg.sslmode() != null) {
      b.environment("PGSSLMODE", cfg.sslmode());
    }
    if (cfg.sslrootcert() != null) {
      b.environment("PGSSLROOTCERT", cfg.sslrootcert().toString());
    }
  }

  private static String escape(String s) {
    return s.replace("\\", "\\\\").replace(":", "\\:");
  }

  static String ident(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  static String literal(@Nullable String value) {
    return "'" + String.valueOf(value).replace("'", "''") + "'";
  }

  static boolean isConnectionProblem(SQLException e) {
    String state = e.getSQLState();
    return state != null && (state.startsWith("08") || state.startsWith("28") || state.equals("3D000"));
  }

  BbdiyException connectionFailure(String db, Exception e) {
    String state = e instanceof SQLException ? ((SQLException) e).getSQLState() : null;
    String where = cfg.user() + "@" + cfg.host() + ":" + cfg.port() + "/" + db;
    String message = e.getMessage() == null ? e.toString() : e.getMessage();
    if ("28P01".equals(state) || "28000".equals(state)) {
      return BbdiyException.configuration("PostgreSQL rejected " + where + ": " + message + ". Check"
          + " postgresql.user and postgresql.password (or postgresql.password.file, ~/.pgpass)");
    }
    if ("3D000".equals(state)) {
      return BbdiyException.configuration("Database " + db + " does not exist on " + cfg.host() + ":" + cfg.port()
          + ". Check postgresql.database (BITBUCKET_DB)");
    }
    if (state != null && state.startsWith("08")) {
      return new BbdiyException(ErrorCode.PROVIDER_FAILED, "Cannot connect to PostgreSQL at " + cfg.host() + ":"
          + cfg.port() + ": " + message + ". Check postgresql.host and postgresql.port, and that the server"
          + " accepts TCP connections", e);
    }
    return BbdiyException.provider("postgresql", where + ": " + message, e);
  }
}
