package dev.bbdiy.testkit;

import dev.bbdiy.simulator.Trees;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * A PostgreSQL server for tests, driven with the command-line tools only. {@link #machine()} is the server of
 * the machine when one answers on 127.0.0.1:5432 (trust authentication), otherwise a throwaway cluster; {@link
 * #scram()} is always a throwaway cluster that requires {@code scram-sha-256} passwords over TCP, so tests of
 * the password path really exercise it. Throwaway clusters run as the {@code postgres} user when the tests run
 * as root ({@code initdb} refuses root) and are stopped when the JVM exits.
 *
 * <p>Nothing here skips: where PostgreSQL is not installed, the call fails with the command that installs it.
 */
public final class PostgresTestServer {
  private static @Nullable PostgresTestServer machine;
  private static @Nullable PostgresTestServer scram;

  private final String host;
  private final int port;
  private final String superuser;
  private final @Nullable String password;
  private final Path binDir;
  private final @Nullable Path dataDir;

  private PostgresTestServer(String host, int port, String superuser, @Nullable String password, Path binDir,
      @Nullable Path dataDir) {
    this.host = host;
    this.port = port;
    this.superuser = superuser;
    this.password = password;
    this.binDir = binDir;
    this.dataDir = dataDir;
  }

  /** Returns the machine's server if it answers with trust authentication, else a throwaway trust cluster. */
  public static synchronized PostgresTestServer machine() {
    if (machine == null) {
      Path bin = installedBinDir();
      if (reachable("127.0.0.1", 5432)) {
        PostgresTestServer candidate = new PostgresTestServer("127.0.0.1", 5432, "postgres", null, bin, null);
        try {
          candidate.query("postgres", "SELECT 1");
          machine = candidate;
        } catch (IllegalStateException e) {
          // Not usable without a password: start our own.
        }
      }
      if (machine == null) {
        machine = throwaway(bin, false);
      }
    }
    return machine;
  }

  /** Returns a throwaway cluster whose TCP connections need scram-sha-256 passwords. */
  public static synchronized PostgresTestServer scram() {
    if (scram == null) {
      scram = throwaway(installedBinDir(), true);
    }
    return scram;
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  /** Returns the superuser name. */
  public String superuser() {
    return superuser;
  }

  /** Returns the superuser's password, or {@code null} with trust authentication. */
  public @Nullable String password() {
    return password;
  }

  /** Returns the directory of the server's client tools. */
  public Path binDir() {
    return binDir;
  }

  /** Returns the provider configuration (full keys) connecting as the superuser to {@code database}. */
  public Map<String, String> configuration(String database) {
    Map<String, String> m = new java.util.LinkedHashMap<>();
    m.put("postgresql.host", host);
    m.put("postgresql.port", Integer.toString(port));
    m.put("postgresql.user", superuser);
    m.put("postgresql.database", database);
    if (password != null) {
      m.put("postgresql.password", password);
    }
    return m;
  }

  /** Runs SQL in {@code database} as the superuser. */
  public void execute(String database, String sql) {
    psql(database, sql, false);
  }

  /** Runs a query and returns its output, one row a line, columns separated by '|'. */
  public String query(String database, String sql) {
    return psql(database, sql, true).trim();
  }

  /** Returns a single number a query returns. */
  public long queryLong(String database, String sql) {
    return Long.parseLong(query(database, sql));
  }

  /** Creates a database with a unique name starting with {@code prefix}, and returns the name. */
  public String createDatabase(String prefix) {
    String name = prefix + "_" + HexFormat.of().formatHex(new SecureRandom().generateSeed(4));
    execute("postgres", "CREATE DATABASE " + name);
    return name;
  }

  /** Drops a database if it exists. */
  public void dropDatabase(String name) {
    execute("postgres", "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  }

  /** Returns whether a database exists. */
  public boolean databaseExists(String name) {
    return !query("postgres", "SELECT 1 FROM pg_database WHERE datname = '" + name + "'").isEmpty();
  }

  private String psql(String database, String sql, boolean tuplesOnly) {
    List<String> cmd = new ArrayList<>(List.of(binDir.resolve("psql").toString(), "-h", host, "-p",
        Integer.toString(port), "-U", superuser, "-d", database, "-v", "ON_ERROR_STOP=1", "-X", "-q"));
    if (tuplesOnly) {
      cmd.add("-tA");
    }
    cmd.add("-c");
    cmd.add(sql);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("PGCONNECT_TIMEOUT", "5");
    if (password != null) {
      pb.environment().put("PGPASSWORD", password);
    } else {
      pb.environment().remove("PGPASSWORD");
    }
    return run(pb, "psql " + sql);
  }

  // ---------------------------------------------------------------------------------------------------------

  private static boolean reachable(String host, int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), 1000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Finds the newest installed server's binaries. */
  static Path installedBinDir() {
    Path base = Path.of("/usr/lib/postgresql");
    Path best = null;
    int bestVersion = -1;
    if (Files.isDirectory(base)) {
      try (DirectoryStream<Path> dirs = Files.newDirectoryStream(base)) {
        for (Path d : dirs) {
          String v = d.getFileName().toString();
          if (v.matches("\\d+") && Files.isExecutable(d.resolve("bin/initdb")) && Integer.parseInt(v) > bestVersion) {
            bestVersion = Integer.parseInt(v);
            best = d.resolve("bin");
          }
        }
      } catch (IOException ignored) {
        // fall through to the error below
      }
    }
    if (best == null) {
      throw new IllegalStateException("PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin/initdb)."
          + " Run the project's test script, or: apt-get install -y postgresql");
    }
    return best;
  }

  private static PostgresTestServer throwaway(Path bin, boolean scramAuth) {
    try {
      boolean root = "0".equals(run(new ProcessBuilder("id", "-u"), "id -u").trim());
      Path base = Files.createTempDirectory("bbdiy-pg-");
      Path data = base.resolve("data");
      String password = scramAuth ? HexFormat.of().formatHex(new SecureRandom().generateSeed(12)) : null;
      Path pwfile = base.resolve("pwfile");
      Files.writeString(pwfile, (password == null ? "postgres" : password) + "\n");
      if (root) {
        run(new ProcessBuilder("chown", "-R", "postgres:postgres", base.toString()), "chown");
      }
      run(asOwner(root, bin.resolve("initdb").toString(), "-D", data.toString(), "-U", "postgres", "-E", "UTF8",
          "--locale=C", "--auth-local=trust", "--auth-host=" + (scramAuth ? "scram-sha-256" : "trust"),
          "--pwfile=" + pwfile, "--no-sync"), "initdb");
      int port;
      try (ServerSocket s = new ServerSocket(0)) {
        port = s.getLocalPort();
      }
      run(asOwner(root, bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", base.resolve("log")
          .toString(), "-w", "-t", "60", "-o", "-p " + port + " -k " + data + " -c listen_addresses=127.0.0.1"
          + " -c fsync=off -c full_page_writes=off -c max_connections=60", "start"), "pg_ctl start");
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          run(asOwner(root, bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate", "stop"),
              "pg_ctl stop");
          Trees.deleteRecursively(base);
        } catch (IOException | RuntimeException ignored) {
          // best effort at exit
        }
      }));
      return new PostgresTestServer("127.0.0.1", port, "postgres", password, bin, data);
    } catch (IOException e) {
      throw new IllegalStateException("Cannot start a throwaway PostgreSQL cluster: " + e.getMessage(), e);
    }
  }

  private static ProcessBuilder asOwner(boolean root, String... cmd) {
    List<String> full = new ArrayList<>();
    if (root) {
      full.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    full.addAll(List.of(cmd));
    return new ProcessBuilder(full).redirectErrorStream(true);
  }

  private static String run(ProcessBuilder pb, String what) {
    try {
      pb.redirectErrorStream(true);
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(what + " timed out");
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(what + " failed: " + out);
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(what + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(what + " interrupted", e);
    }
  }

  @Override
  public String toString() {
    return "PostgreSQL " + host + ":" + port + (dataDir == null ? " (machine)" : " (throwaway " + dataDir + ")");
  }
}
