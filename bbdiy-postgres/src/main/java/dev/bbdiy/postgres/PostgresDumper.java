package dev.bbdiy.postgres;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.kit.ChildProcess;
import dev.bbdiy.kit.PrivateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/** One run of the {@code postgresql} provider. */
final class PostgresDumper implements DatabaseDumper {
  private final PgConfig cfg;
  private final Path workDir;
  /** The provider's private directory: passfiles, the partial dump. */
  private final java.util.function.Supplier<Path> stateDirectory;
  private final PgTools tools;
  private int clientMajor;
  private String clientVersion = "unknown";
  private String serverVersion = "unknown";
  private int serverMajor;
  /** server_version_num of the server restored into, once the restore preflight has asked. */
  private int restoreServerVersion;

  PostgresDumper(PgConfig cfg, Path workDir, java.util.function.Supplier<Path> stateDirectory) {
    this.cfg = cfg;
    this.workDir = workDir;
    this.stateDirectory = stateDirectory;
    this.tools = new PgTools(cfg, stateDirectory);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Backup

  @Override
  public void preflight(RunContext ctx) {
    tools.removeStalePassfiles(ctx.progress());
    String[] v = tools.toolVersion("pg_dump", ctx);
    clientVersion = v[0];
    clientMajor = Integer.parseInt(v[1]);
    try (Connection c = connect(cfg.database()); Statement st = c.createStatement()) {
      try (ResultSet rs = st.executeQuery("SELECT current_setting('server_version_num')::int, "
          + "current_setting('server_version'), pg_database_size(current_database())")) {
        rs.next();
        int num = rs.getInt(1);
        serverVersion = rs.getString(2);
        serverMajor = num >= 100000 ? num / 10000 : num / 100; // 9.6 is 96, 15 is 15
        long size = rs.getLong(3);
        long usable = Files.getFileStore(Files.createDirectories(workDir)).getUsableSpace();
        if (usable < size) {
          ctx.progress().warning("the database holds " + (size >> 20) + " MiB but only " + (usable >> 20)
              + " MiB are free in " + workDir + "; the dump may not fit");
        }
      }
    } catch (SQLException | IOException e) {
      throw tools.connectionFailure(cfg.database(), e);
    }
    if (PgTools.comparable(clientMajor) < PgTools.comparable(serverMajor)) {
      String needed = serverMajor >= 10 ? Integer.toString(serverMajor) : serverMajor / 10 + "." + serverMajor % 10;
      throw BbdiyException.configuration("pg_dump " + clientVersion + " cannot dump the PostgreSQL " + serverVersion
          + " server " + cfg.where() + ": install the client of version " + needed + " or later"
          + " (apt-get install postgresql-client-" + needed + ") or set postgresql.bin-dir");
    }
  }

  /** A connection opened before the lock, so that only the snapshot export itself runs while locked. */
  private @Nullable Connection prepared;

  @Override
  public void prepare(RunContext ctx) {
    if (cfg.inLock()) {
      return;
    }
    try {
      Connection c = freshTransactionConnection();
      c.rollback(); // no transaction is open until capture runs its first statement
      prepared = c;
    } catch (SQLException e) {
      throw tools.connectionFailure(cfg.database(), e);
    }
  }

  /** What the capture took: an exported snapshot held open by its transaction, or a dump already made. */
  private static final class Capture implements CaptureHandle {
    final @Nullable Connection connection;
    final @Nullable String snapshot;
    final boolean dumped;
    final String mode;

    Capture(@Nullable Connection connection, @Nullable String snapshot, boolean dumped, String mode) {
      this.connection = connection;
      this.snapshot = snapshot;
      this.dumped = dumped;
      this.mode = mode;
    }

    @Override
    public void close() {
      if (connection != null) {
        try {
          connection.rollback();
        } catch (SQLException ignored) {
          // closing ends the transaction anyway
        }
        try {
          connection.close();
        } catch (SQLException ignored) {
          // nothing left to release
        }
      }
    }
  }

  @Override
  public CaptureHandle capture(RunContext ctx) {
    if (cfg.inLock()) {
      dump(ctx, null, false);
      return new Capture(null, null, true, "in-lock");
    }
    Connection c = prepared;
    prepared = null;
    try {
      try {
        if (c == null) {
          c = freshTransactionConnection();
        }
        return export(c, ctx);
      } catch (SQLException broken) {
        if (c == null || !PgTools.isConnectionProblem(broken)) {
          throw broken;
        }
        // The connection opened before the lock went away while Bitbucket drained: one more, fresh.
        closeQuietly(c);
        c = freshTransactionConnection();
        return export(c, ctx);
      }
    } catch (SQLException e) {
      closeQuietly(c);
      if (PgTools.isConnectionProblem(e)) {
        throw tools.connectionFailure(cfg.database(), e);
      }
      ctx.progress().warning("the server cannot export a snapshot (" + e.getMessage() + "); dumping inside the"
          + " lock instead, so this lock window grows with the database");
      dump(ctx, null, false);
      return new Capture(null, null, true, "in-lock (snapshot export unavailable)");
    }
  }

  private Connection freshTransactionConnection() throws SQLException {
    Connection c = connect(cfg.database());
    c.setAutoCommit(false);
    c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
    c.setReadOnly(true);
    return c;
  }

  /** Starts the REPEATABLE READ transaction (its first statement) and exports its snapshot: all the lock needs. */
  private Capture export(Connection c, RunContext ctx) throws SQLException {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_export_snapshot()")) {
      rs.next();
      String snapshot = rs.getString(1);
      ctx.progress().message("exported snapshot " + snapshot + " of " + cfg.database());
      return new Capture(c, snapshot, false, "snapshot");
    }
  }

  @Override
  public Artifact complete(RunContext ctx, CaptureHandle handle) {
    Capture capture = (Capture) handle;
    Map<String, String> props = new LinkedHashMap<>();
    props.put("database", cfg.database());
    props.put("mode", capture.mode);
    props.put("server.version", serverVersion);
    props.put("pg_dump.version", clientVersion);
    props.put("pg_dump.major", Integer.toString(clientMajor));
    if (!capture.dumped) {
      Connection c = java.util.Objects.requireNonNull(capture.connection);
      Map<String, String> counted = new TreeMap<>();
      RuntimeException[] countFailure = new RuntimeException[1];
      Thread counter = new Thread(() -> {
        try {
          if (cfg.countRows()) {
            counted.putAll(RowCounts.countRows(c, ctx.progress()));
          }
          counted.putAll(databaseInfo(c));
        } catch (SQLException e) {
          countFailure[0] = BbdiyException.provider("postgresql", "cannot count rows in the exported snapshot: "
              + e.getMessage(), e);
        } catch (RuntimeException e) {
          countFailure[0] = e;
        }
      }, "bbdiy-postgresql-rows");
      counter.setDaemon(true);
      counter.start();
      try {
        dump(ctx, capture.snapshot, true);
      } finally {
        try {
          counter.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (countFailure[0] != null) {
        throw countFailure[0];
      }
      props.putAll(counted);
    } else {
      props.put("rows", "not counted: the dump was made inside the lock");
    }
    return new Artifact("postgresql", Artifact.Kind.DATABASE, List.of(BackupLayout.DATABASE), props);
  }

  /**
   * Runs pg_dump into a fresh directory and swaps it into {@code <workDir>/bitbucket-db} only once complete, so a
   * failed dump never replaces the last good one.
   */
  private void dump(RunContext ctx, @Nullable String snapshot, boolean afterUnlock) {
    Path finalDir = workDir.resolve(BackupLayout.DATABASE);
    Path partial = partialDir();
    Path passfile = null;
    try {
      PrivateFiles.deleteTree(partial);
      Files.createDirectories(partial.getParent());
      passfile = tools.passfile();
      int tables = countTables();
      List<String> cmd = new ArrayList<>();
      cmd.add(cfg.tool("pg_dump"));
      cmd.addAll(cfg.connectionArgs());
      cmd.add("--format=directory");
      cmd.add("--jobs=" + cfg.jobs());
      cmd.add("--file=" + partial);
      cmd.add("--verbose");
      if (clientMajor >= 10) {
        cmd.add("--no-sync");
      }
      if (ctx.archiveCompresses()) {
        cmd.add("--compress=0"); // pg_dump only has single-threaded gzip; the archiver compresses on every core
      }
      if (snapshot != null) {
        cmd.add("--snapshot=" + snapshot);
      }
      cmd.add("--dbname=" + PgTools.conninfo(cfg.database()));
      AtomicInteger done = new AtomicInteger();
      ChildProcess.Builder b = ChildProcess.builder(cmd).name("pg_dump").cancellation(ctx.cancellation())
          .stderr(line -> {
            if (line.contains("finished item") && line.contains("TABLE DATA")
                || line.contains("dumping contents of table")) {
              ctx.progress().progress("pg_dump " + cfg.database() + (afterUnlock ? " (Bitbucket is back up)" : ""),
                  done.incrementAndGet(), tables, "tables");
            }
          });
      tools.environment(b, passfile);
      b.build().run().orThrow("postgresql", "pg_dump of " + cfg.where());
      Path previous = workDir.resolve(BackupLayout.DATABASE + ".previous");
      PrivateFiles.deleteTree(previous);
      if (Files.exists(finalDir)) {
        Files.move(finalDir, previous);
      }
      Files.move(partial, finalDir);
      PrivateFiles.deleteTree(previous);
    } catch (IOException e) {
      throw BbdiyException.provider("postgresql", "cannot write the dump into " + partial + ": " + e.getMessage(),
          e);
    } finally {
      PgTools.deletePassfile(passfile);
      try {
        PrivateFiles.deleteTree(partial);
      } catch (IOException ignored) {
        // removed by the next run
      }
    }
  }

  private Path partialDir() {
    return stateDir().resolve("postgresql-dump.partial");
  }

  private int countTables() {
    try (Connection c = connect(cfg.database()); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*)" + RowCounts.USER_TABLES)) {
      rs.next();
      return rs.getInt(1);
    } catch (SQLException e) {
      return -1;
    }
  }

  private static Map<String, String> databaseInfo(Connection c) throws SQLException {
    Map<String, String> out = new TreeMap<>();
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_encoding_to_char(encoding),"
        + " datcollate, datctype FROM pg_database WHERE datname = current_database()")) {
      if (rs.next()) {
        out.put("encoding", rs.getString(1));
        out.put("lc_collate", rs.getString(2));
        out.put("lc_ctype", rs.getString(3));
      }
    }
    return out;
  }

  private static void closeQuietly(@Nullable Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // replaced by a fresh connection
      }
    }
  }

  @Override
  public void abort(RunContext ctx, @Nullable CaptureHandle capture) {
    closeQuietly(prepared);
    prepared = null;
    if (capture != null) {
      capture.close();
    }
    try {
      PrivateFiles.deleteTree(partialDir());
    } catch (IOException e) {
      ctx.progress().warning("could not remove the partial dump " + partialDir() + ": " + e.getMessage());
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Restore

  private String target(RestoreContext ctx) {
    return ctx.targetDatabase() != null ? ctx.targetDatabase() : cfg.database();
  }

  @Override
  public void preflightRestore(RestoreContext ctx) {
    tools.removeStalePassfiles(ctx.progress());
    String[] v = tools.toolVersion("pg_restore", null);
    int restoreMajor = Integer.parseInt(v[1]);
    String dumpMajor = ctx.artifact().property("pg_dump.major");
    if (dumpMajor != null && !dumpMajor.matches("\\d{1,4}")) {
      throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "The backup's manifest records pg_dump.major="
          + dumpMajor + ", which is not a version bbdiy writes: the manifest was altered. Nothing was restored.");
    }
    if (dumpMajor != null && PgTools.comparable(restoreMajor) < PgTools.comparable(Integer.parseInt(dumpMajor))) {
      throw BbdiyException.configuration("The dump was made by pg_dump " + ctx.artifact().property("pg_dump.version")
          + "; pg_restore " + v[0] + " cannot read it. Install the PostgreSQL " + dumpMajor + " client or newer, or"
          + " set postgresql.bin-dir");
    }
    String target = target(ctx);
    try (Connection c = connect(cfg.maintenanceDatabase())) {
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
        ps.setString(1, target);
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            throw BbdiyException.refused("Database " + target + " already exists on " + cfg.host() + ":"
                + cfg.port() + ". A restore never overwrites: drop or rename it first, or restore under another"
                + " name (--target-database " + target + "_restored).");
          }
        }
      }
      checkRestoreRoles(c, target, ctx.progress());
    } catch (SQLException e) {
      throw tools.connectionFailure(cfg.maintenanceDatabase(), e);
    }
  }

  /**
   * Checks that the connecting role may create the target database (superuser or CREATEDB), and that it may act as
   * {@code postgresql.restore-role} if one is set: the owner of the new database and the role pg_restore sets.
   */
  private void checkRestoreRoles(Connection c, String target, ProgressReporter progress) throws SQLException {
    boolean superuser;
    String quotedUser;
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT r.rolsuper, r.rolcreatedb,"
        + " quote_ident(r.rolname), current_setting('server_version_num')::int FROM pg_roles r"
        + " WHERE r.rolname = current_user")) {
      if (!rs.next()) {
        return; // current_user is always in pg_roles; a server that hides it is left to CREATE DATABASE to judge
      }
      superuser = rs.getBoolean(1);
      quotedUser = rs.getString(3);
      restoreServerVersion = rs.getInt(4);
      if (!superuser && !rs.getBoolean(2)) {
        throw BbdiyException.configuration("PostgreSQL role " + cfg.user() + " may not create databases on "
            + cfg.host() + ":" + cfg.port() + ", and the restore creates the database " + target + ". As a"
            + " superuser, run: ALTER ROLE " + quotedUser + " CREATEDB; or set postgresql.user to a role that"
            + " has CREATEDB. Nothing was restored.");
      }
    }
    String role = cfg.restoreRole();
    if (role == null) {
      return;
    }
    String quotedRole;
    try (PreparedStatement ps = c.prepareStatement("SELECT quote_ident(rolname) FROM pg_roles WHERE rolname = ?")) {
      ps.setString(1, role);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw BbdiyException.configuration("postgresql.restore-role " + role + " does not exist on "
              + cfg.host() + ":" + cfg.port() + ". Create it (CREATE ROLE " + role + " NOLOGIN) and grant it to "
              + cfg.user() + ", or unset postgresql.restore-role. Nothing was restored.");
        }
        quotedRole = rs.getString(1);
      }
    }
    // Since PostgreSQL 16 membership and the right to SET ROLE are separate; before, membership gives both.
    String privilege = restoreServerVersion >= 160000 ? "SET" : "MEMBER";
    try (PreparedStatement ps = c.prepareStatement("SELECT pg_has_role(current_user, ?, '" + privilege + "')")) {
      ps.setString(1, role);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        if (!rs.getBoolean(1)) {
          throw BbdiyException.configuration("PostgreSQL role " + cfg.user() + " may not SET ROLE to"
              + " postgresql.restore-role " + role + " on " + cfg.host() + ":" + cfg.port() + ", which the restore"
              + " needs to make it the owner of " + target + " and to restore as it. As a superuser, run: GRANT "
              + quotedRole + " TO " + quotedUser + "; Nothing was restored.");
        }
      }
    }
    if (superuser) {
      progress.warning("postgresql.restore-role " + role + " is set, but " + cfg.user() + " connects as a"
          + " superuser: the SQL in a dump can RESET ROLE and run as superuser. For an archive of unknown origin,"
          + " connect as a role that is not a superuser (postgresql.user)");
    }
  }

  @Override
  public RestoreOutcome restore(RestoreContext ctx) {
    Path source = ctx.source();
    if (source == null || !Files.isRegularFile(source.resolve("toc.dat"))) {
      throw BbdiyException.provider("postgresql", "the backup holds no pg_dump directory (no toc.dat in "
          + source + ")", null);
    }
    preflightRestore(ctx);
    String target = target(ctx);
    createDatabase(target, ctx.artifact());
    Path passfile = null;
    boolean ok = false;
    boolean dropped = false;
    try {
      try {
        passfile = tools.passfile();
      } catch (IOException e) {
        throw BbdiyException.provider("postgresql", "cannot write a passfile in " + workDir + ": " + e.getMessage(), e);
      }
      List<String> cmd = new ArrayList<>();
      cmd.add(cfg.tool("pg_restore"));
      cmd.addAll(cfg.connectionArgs());
      cmd.add("--dbname=" + PgTools.conninfo(target));
      cmd.add("--jobs=" + cfg.jobs());
      cmd.add("--exit-on-error");
      cmd.add("--verbose");
      if (cfg.restoreNoOwner()) {
        cmd.add("--no-owner");
      }
      if (cfg.restoreRole() != null) {
        cmd.add("--role=" + cfg.restoreRole());
      }
      cmd.add(source.toString());
      AtomicInteger done = new AtomicInteger();
      String recordedTables = ctx.artifact().property("tables");
      int tables = recordedTables != null && recordedTables.matches("\\d{1,9}") ? Integer.parseInt(recordedTables)
          : -1;
      ChildProcess.Builder b = ChildProcess.builder(cmd).name("pg_restore").cancellation(ctx.cancellation())
          .stderr(line -> {
            if (line.contains("processing data for table") || line.contains("finished item")
                && line.contains("TABLE DATA")) {
              ctx.progress().progress("pg_restore into " + target, done.incrementAndGet(), tables, "tables");
            }
          });
      tools.environment(b, passfile);
      ChildProcess.Result r = b.build().run();
      if (!r.succeeded()) {
        String err = String.join("\n  ", r.stderrTail());
        String hint = err.contains("role \"") && err.contains("does not exist")
            ? " The dump's owners do not exist in this cluster: set postgresql.restore-no-owner=true or"
                + " postgresql.restore-role=<role>."
            : err.contains("must be member of role") || err.contains("must be able to SET ROLE")
            ? " " + cfg.user() + " may not give the dump's objects to their original owners: set"
                + " postgresql.restore-no-owner=true to restore them as " + (cfg.restoreRole() != null
                ? cfg.restoreRole() : cfg.user()) + "."
            : "";
        dropped = true;
        String dropFailure = dropDatabase(target);
        throw BbdiyException.provider("postgresql", "pg_restore into " + target + " failed (exit " + r.exitCode()
            + "):\n  " + err + "\n" + (dropFailure == null
                ? "The database " + target + " this restore created was dropped again."
                : notDropped(target, dropFailure)) + hint, null);
      }
      String checked = RowCounts.verify(tools, target, ctx);
      // The load may have started before the rest of the archive was read: it counts only once all of it
      // matched the manifest (otherwise the finally block drops the database again).
      ctx.awaitSourceVerified();
      ok = true;
      return RestoreOutcome.database(target, "database " + target + " on " + cfg.host() + ":" + cfg.port(),
          checked == null ? List.of() : List.of(checked));
    } finally {
      PgTools.deletePassfile(passfile);
      if (!ok && !dropped) {
        String dropFailure = dropDatabase(target);
        if (dropFailure != null) {
          ctx.progress().warning(notDropped(target, dropFailure));
        }
      }
    }
  }

  private void createDatabase(String name, Artifact artifact) {
    StringBuilder sql = new StringBuilder("CREATE DATABASE ").append(PgTools.ident(name)).append(" TEMPLATE template0");
    if (artifact.property("encoding") != null) {
      sql.append(" ENCODING ").append(PgTools.literal(artifact.property("encoding")));
      sql.append(" LC_COLLATE ").append(PgTools.literal(artifact.property("lc_collate")));
      sql.append(" LC_CTYPE ").append(PgTools.literal(artifact.property("lc_ctype")));
    }
    if (cfg.restoreRole() != null) {
      sql.append(" OWNER ").append(PgTools.ident(cfg.restoreRole()));
    }
    try (Connection c = connect(cfg.maintenanceDatabase()); Statement st = c.createStatement()) {
      st.execute(sql.toString());
    } catch (SQLException e) {
      throw BbdiyException.provider("postgresql", "cannot create database " + name + " on " + cfg.host() + ":"
          + cfg.port() + ": " + e.getMessage() + ". The restoring user needs CREATEDB, and the encoding and locale"
          + " of the original (" + artifact.property("encoding") + ", " + artifact.property("lc_collate")
          + ") must exist on this server.", e);
    }
  }

  /**
   * Drops the database this restore created, ending the sessions still in it (pg_restore's own, whose queries
   * may outlive a cancelled pg_restore, or a monitoring agent's). Runs also when the run was cancelled.
   *
   * @return null once it is gone, or why it could not be dropped
   */
  private @Nullable String dropDatabase(String name) {
    boolean interrupted = Thread.interrupted(); // a cancelled restore still removes what it created
    try (Connection c = connect(cfg.maintenanceDatabase()); Statement st = c.createStatement()) {
      if (restoreServerVersion >= 130000) {
        st.execute("DROP DATABASE IF EXISTS " + PgTools.ident(name) + " WITH (FORCE)");
      } else {
        st.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " + PgTools.literal(name)
            + " AND pid <> pg_backend_pid()");
        st.execute("DROP DATABASE IF EXISTS " + PgTools.ident(name));
      }
      return null;
    } catch (SQLException e) {
      return e.getMessage();
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private String notDropped(String name, String why) {
    return "The database " + name + " this restore created could not be dropped again (" + why + "): it is"
        + " incomplete. Drop it: DROP DATABASE " + PgTools.ident(name) + (restoreServerVersion >= 130000 ? " WITH (FORCE);"
        : ";");
  }

  // ---------------------------------------------------------------------------------------------------------
  // Plumbing

  private Connection connect(String db) throws SQLException {
    return tools.connect(db);
  }

  private Path stateDir() {
    return stateDirectory.get();
  }
}
