package dev.bbdiy.mysql;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The machine's MariaDB (or MySQL) on 127.0.0.1:3306, root without a password, driven with the client tool. When
 * it does not answer, it is started as the machine's service is ({@code start-stop-daemon ... mariadbd}); where it
 * is not installed, the tests fail naming the package. Nothing skips.
 */
final class MariaDbServer {
  static final String HOST = "127.0.0.1";
  static final int PORT = 3306;
  private static boolean checked;

  private MariaDbServer() {}

  static synchronized void ensureRunning() {
    if (checked) {
      return;
    }
    if (!reachable()) {
      Path daemon = Path.of("/usr/sbin/mariadbd");
      if (!Files.isExecutable(daemon)) {
        throw new IllegalStateException("MariaDB is neither running on " + HOST + ":" + PORT + " nor installed:"
            + " apt-get install mariadb-server mariadb-client (scripts/test.sh does)");
      }
      run(List.of("install", "-d", "-o", "mysql", "-g", "mysql", "/run/mysqld"), null);
      run(List.of("start-stop-daemon", "--start", "--oknodo", "--background", "--exec", daemon.toString()), null);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!reachable()) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("MariaDB did not start within 60 s on " + HOST + ":" + PORT);
        }
        sleep(200);
      }
    }
    if (!commandExists("mariadb") && !commandExists("mysql")) {
      throw new IllegalStateException("the MariaDB client is not installed: apt-get install mariadb-client");
    }
    checked = true;
  }

  private static boolean commandExists(String name) {
    for (String dir : System.getenv("PATH").split(":")) {
      if (Files.isExecutable(Path.of(dir, name))) {
        return true;
      }
    }
    return false;
  }

  private static boolean reachable() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(HOST, PORT), 1000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Runs SQL as root; returns its output, one row a line, columns separated by tabs. */
  static String sql(String sql) {
    ensureRunning();
    return run(List.of("mariadb", "--protocol=TCP", "-h", HOST, "-P", Integer.toString(PORT), "-uroot", "-N", "-B"),
        sql);
  }

  static long count(String database, String table) {
    return Long.parseLong(sql("SELECT COUNT(*) FROM " + MysqlClient.ident(database) + "."
        + MysqlClient.ident(table)).trim());
  }

  static boolean exists(String database) {
    return !sql("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = " + MysqlClient.literal(database))
        .isBlank();
  }

  /** Quotes a string literal for the root connection's default SQL mode. */
  static String quote(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  private static String run(List<String> cmd, String stdin) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      if (stdin != null) {
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
      }
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        throw new IllegalStateException(cmd.get(0) + " failed: " + out);
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + cmd + ": " + e.getMessage()
          + " (apt-get install mariadb-client)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static List<String> lines(String out) {
    List<String> l = new ArrayList<>();
    for (String s : out.split("\n")) {
      if (!s.isBlank()) {
        l.add(s);
      }
    }
    return l;
  }
}
