package dev.bbdiy.mysql;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.RunContext;
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
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * How the {@code mysql} provider talks to the server: the client tools' versions, SQL run through the {@code mysql}
 * client in batch mode, the errors an administrator can fix turned into messages naming the fix, and the 0600
 * option files that hand the password to the tools without a command line.
 */
final class MysqlClient {
  private static final String OPTION_FILE_PREFIX = "mysql-client-";
  private static final Pattern OPTION_FILE_NAME = Pattern.compile("mysql-client-(\\d+)-\\d+\\.cnf");
  private static final Pattern ERROR = Pattern.compile("ERROR (\\d+)|error: (\\d+)|Got error: (\\d+)");
  private static final AtomicLong OPTION_FILES = new AtomicLong();

  private final MysqlConfig cfg;
  /** Where the option files go: the provider's state directory, never the backup's working copy. */
  private final Path stateDir;

  MysqlClient(MysqlConfig cfg, Path stateDir) {
    this.cfg = cfg;
    this.stateDir = stateDir;
  }

  /** Runs {@code <tool> --version}; returns what it printed. */
  String version(String tool) {
    ChildProcess.Result r;
    try {
      r = ChildProcess.builder(tool, "--version").name(tool).build().run();
    } catch (BbdiyException e) {
      throw BbdiyException.configuration(tool + " is not installed (" + e.getMessage() + "). Install the client"
          + " tools (apt-get install mariadb-client, or mysql-client) or set mysql.bin-dir");
    }
    String out = String.join(" ", r.stdoutTail()).trim();
    if (!r.succeeded() || out.isEmpty()) {
      throw BbdiyException.configuration("Cannot tell the version of " + tool + " ('" + out + "'): install the"
          + " client tools (apt-get install mariadb-client) or set mysql.bin-dir");
    }
    return out.replaceAll("^\\S*/", "");
  }

  /**
   * Runs one SQL text with the client in batch mode, in {@code database} if given; returns the rows, columns split
   * at tabs. SQL goes on the command line: it never holds a secret.
   */
  List<String[]> query(Path file, @Nullable String database, String sql, @Nullable RunContext ctx) {
    List<String> cmd = new ArrayList<>(List.of(cfg.clientTool(), "--defaults-extra-file=" + file, "--batch",
        "--skip-column-names", "--raw"));
    if (database != null) {
      cmd.add("--database=" + database);
    }
    cmd.add("--execute=" + sql);
    List<String[]> rows = new ArrayList<>();
    ChildProcess.Builder b = ChildProcess.builder(cmd).name("mysql").stdout(line -> rows.add(line.split("\t", -1)));
    if (ctx != null) {
      b.cancellation(ctx.cancellation());
    }
    ChildProcess.Result r = b.build().run();
    if (!r.succeeded()) {
      String err = String.join("\n  ", r.stderrTail());
      BbdiyException known = known(err, database == null ? cfg.database() : database);
      throw known != null ? known : BbdiyException.provider("mysql", cfg.user() + "@" + cfg.host() + ":"
          + cfg.port() + ": " + err, null);
    }
    return rows;
  }

  /** Turns the client's errors an administrator can fix into messages naming the fix. */
  @Nullable BbdiyException known(String err, String database) {
    Matcher m = ERROR.matcher(err);
    if (!m.find()) {
      return null;
    }
    String code = m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2) : m.group(3);
    String where = cfg.user() + "@" + cfg.host() + ":" + cfg.port();
    switch (code) {
      case "1045":
        return BbdiyException.configuration("MySQL rejected " + where + ": " + err + ". Check mysql.user and"
            + " mysql.password (MYSQL_USERNAME, MYSQL_PASSWORD)");
      case "1044":
      case "1142":
      case "1227":
        return BbdiyException.configuration("MySQL user " + where + " lacks a privilege: " + err + ". Grant it"
            + " (see mysql.user for what the backup and the restore need)");
      case "1049":
        return BbdiyException.configuration("Database " + database + " does not exist on " + cfg.host() + ":"
            + cfg.port() + ". Check mysql.database (BITBUCKET_DB)");
      case "2002":
      case "2003":
      case "2005":
      case "2013":
        return new BbdiyException(ErrorCode.PROVIDER_FAILED, "Cannot connect to MySQL at " + cfg.host() + ":"
            + cfg.port() + ": " + err + ". Check mysql.host (MYSQL_HOST) and mysql.port, and that the server is"
            + " running", null, true);
      default:
        return null;
    }
  }

  /**
   * Writes a 0600 option file with the connection and the password for the client tools. Its name holds this
   * process's id, so that a later run can remove one a killed run left ({@link #removeStaleOptionFiles}).
   */
  Path writeOptionFile() {
    try {
      Path dir = PrivateFiles.createPrivateDirectories(stateDir());
      Path file = dir.resolve(OPTION_FILE_PREFIX + ProcessHandle.current().pid() + "-"
          + OPTION_FILES.incrementAndGet() + ".cnf");
      Files.deleteIfExists(file);
      try (FileChannel ch = PrivateFiles.createPrivate(file)) {
        ch.write(ByteBuffer.wrap(cfg.optionFile().getBytes(StandardCharsets.UTF_8)));
      } catch (IOException | RuntimeException e) {
        deleteOptionFile(file);
        throw e;
      }
      return file;
    } catch (IOException e) {
      throw BbdiyException.provider("mysql", "cannot write the client's option file in " + stateDir() + ": "
          + e.getMessage(), e);
    }
  }

  static void deleteOptionFile(@Nullable Path file) {
    if (file != null) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException ignored) {
        // it is 0600 in our own state directory, and the next run removes it
      }
    }
  }

  /** Removes the option files of runs that were killed before they could delete their own. */
  void removeStaleOptionFiles(ProgressReporter progress) {
    Path dir = stateDir();
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, OPTION_FILE_PREFIX + "*")) {
      for (Path f : files) {
        Matcher m = OPTION_FILE_NAME.matcher(f.getFileName().toString());
        if (!m.matches()) {
          continue;
        }
        Instant written = Files.getLastModifiedTime(f, LinkOption.NOFOLLOW_LINKS).toInstant();
        if (!writerAlive(Long.parseLong(m.group(1)), written)) {
          Files.deleteIfExists(f);
        }
      }
    } catch (IOException | NumberFormatException e) {
      progress.warning("could not remove the option files killed runs left in " + dir + ": " + e.getMessage()
          + "; delete " + dir.resolve(OPTION_FILE_PREFIX + "*") + " of runs no longer going");
    }
  }

  private static boolean writerAlive(long pid, Instant written) {
    Optional<ProcessHandle> h = ProcessHandle.of(pid);
    if (h.isEmpty() || !h.get().isAlive()) {
      return false;
    }
    Optional<Instant> started = h.get().info().startInstant();
    return started.isEmpty() || !started.get().isAfter(written.plusSeconds(2));
  }

  private Path stateDir() {
    return stateDir;
  }

  static long parseLong(String s) {
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Quotes an identifier with backticks. */
  static String ident(String name) {
    return "`" + name.replace("`", "``") + "`";
  }

  /**
   * Writes a string as a hexadecimal literal: no quote or backslash in it can end it, whatever the server's SQL
   * mode ({@code NO_BACKSLASH_ESCAPES} changes what a quoted literal means).
   */
  static String literal(String value) {
    return "_utf8mb4 X'" + java.util.HexFormat.of().formatHex(value.getBytes(StandardCharsets.UTF_8)) + "'";
  }
}
