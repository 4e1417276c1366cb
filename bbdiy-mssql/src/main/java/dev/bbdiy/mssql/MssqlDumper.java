package dev.bbdiy.mssql;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.kit.PrivateFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.jspecify.annotations.Nullable;

/** One run of the {@code mssql} provider. */
final class MssqlDumper implements DatabaseDumper {
  static final String FULL_FILE = "full.bak";
  static final String DIFF_FILE = "differential.bak";
  private static final String STATE_FILE = "mssql-full.properties";

  private final MssqlConfig cfg;
  private final Path workDir;
  private final SqlSession.Connector connector;
  /** Where bbdiy's last full is recorded between runs: the provider's state directory. */
  private final Path stateDir;
  private String serverVersion = "unknown";
  private boolean compressionAvailable;
  private @Nullable Full full;
  private boolean fullReused;
  /** bbdiy's previous full, when this run took a new one. */
  private @Nullable Full replaced;
  /** A session opened before the lock, so that only the differential backup runs while locked. */
  private @Nullable SqlSession prepared;

  /** bbdiy's last full backup: its file in the backup directory and its checkpoint LSN, the differential base. */
  record Full(String file, String lsn, Instant taken) {}

  MssqlDumper(MssqlConfig cfg, Path workDir, Path stateDir, SqlSession.Connector connector) {
    this.cfg = cfg;
    this.workDir = workDir;
    this.stateDir = stateDir;
    this.connector = connector;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Backup

  @Override
  public void preflight(RunContext ctx) {
    if (!Files.isDirectory(cfg.localDir()) || !Files.isWritable(cfg.localDir())) {
      throw BbdiyException.configuration("mssql.local-dir " + cfg.localDir() + " is not a writable directory: it"
          + " must be the directory the server writes to (mssql.server-dir " + cfg.serverDir() + "), as bbdiy sees"
          + " it (mount the share)");
    }
    try (SqlSession s = open()) {
      List<String[]> r = s.query("SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)),"
          + " CAST(SERVERPROPERTY('EngineEdition') AS int), DB_ID(" + literal(cfg.database()) + ")");
      serverVersion = r.get(0)[0];
      compressionAvailable = !"4".equals(r.get(0)[1]); // 4: Express, which cannot compress backups
      if (r.get(0)[2] == null) {
        throw BbdiyException.configuration("Database " + cfg.database() + " does not exist on " + cfg.host() + ":"
            + cfg.port() + " (or " + cfg.user() + " may not see it). Check mssql.database (BITBUCKET_DB)");
      }
    } catch (SQLException e) {
      throw failure("checking " + cfg.database(), e);
    }
  }

  @Override
  public void prepare(RunContext ctx) {
    SqlSession s = open();
    try {
      List<String[]> r = s.query("SELECT CONVERT(varchar(40), differential_base_lsn) FROM sys.master_files"
          + " WHERE database_id = DB_ID(" + literal(cfg.database()) + ") AND file_id = 1");
      String base = r.isEmpty() ? null : r.get(0)[0];
      Full last = readState();
      String why = reuseRefusal(last, base);
      if (why == null && last != null) {
        full = last;
        fullReused = true;
        ctx.progress().message("reusing the full backup " + last.file() + " of " + last.taken()
            + ": it is still the differential base of " + cfg.database());
      } else {
        ctx.progress().message("taking a full backup of " + cfg.database() + ": " + why);
        full = takeFull(s);
        replaced = last; // kept until this run's backup is complete, then deleted
      }
      prepared = s;
      s = null;
    } catch (SQLException e) {
      throw failure("the full backup of " + cfg.database(), e);
    } catch (IOException e) {
      throw BbdiyException.provider("mssql", "cannot read the state of the full backup in " + stateDir() + ": "
          + e.getMessage(), e);
    } finally {
      if (s != null) {
        s.close();
      }
    }
  }

  /** Returns why bbdiy's last full cannot be the base of this run's differential, or null if it can. */
  private @Nullable String reuseRefusal(@Nullable Full last, @Nullable String base) {
    if (last == null) {
      return "bbdiy has taken none yet";
    }
    Duration age = Duration.between(last.taken(), Instant.now());
    if (age.compareTo(cfg.fullEvery()) >= 0) {
      return "the last one (" + last.taken() + ") is older than mssql.full-every (" + cfg.fullEvery() + ")";
    }
    if (!last.lsn().equals(base)) {
      return "another full backup of the database was taken since bbdiy's (" + last.file() + "), which moved the"
          + " differential base (msdb: " + base + ", bbdiy's full: " + last.lsn() + ")";
    }
    if (!Files.isRegularFile(cfg.localDir().resolve(last.file()), LinkOption.NOFOLLOW_LINKS)) {
      return "the last one is gone from " + cfg.localDir();
    }
    return null;
  }

  private Full takeFull(SqlSession s) throws SQLException {
    Instant now = Instant.now();
    String file = "bbdiy-" + safe(cfg.database()) + "-full-" + now.toEpochMilli() + ".bak";
    String path = cfg.serverPath(file);
    s.execute("BACKUP DATABASE " + ident(cfg.database()) + " TO DISK = " + literal(path) + " WITH CHECKSUM, INIT,"
        + " FORMAT" + compression());
    List<String[]> r = s.query("SELECT TOP 1 CONVERT(varchar(40), b.checkpoint_lsn) FROM msdb.dbo.backupset b"
        + " JOIN msdb.dbo.backupmediafamily f ON f.media_set_id = b.media_set_id WHERE b.database_name = "
        + literal(cfg.database()) + " AND b.type = 'D' AND f.physical_device_name = " + literal(path)
        + " ORDER BY b.backup_finish_date DESC");
    if (r.isEmpty() || r.get(0)[0] == null) {
      throw BbdiyException.provider("mssql", "the full backup " + path + " is not in msdb's backup history", null);
    }
    return new Full(file, r.get(0)[0], now);
  }

  private String compression() {
    return cfg.compression() && compressionAvailable ? ", COMPRESSION" : "";
  }

  /** What capture took: the differential's file in the backup directory, and the row counts at that point. */
  private static final class Capture implements CaptureHandle {
    final String file;
    final Map<String, String> rows;

    Capture(String file, Map<String, String> rows) {
      this.file = file;
      this.rows = rows;
    }

    @Override
    public void close() {}
  }

  @Override
  public CaptureHandle capture(RunContext ctx) {
    if (full == null) {
      prepare(ctx);
    }
    Full base = java.util.Objects.requireNonNull(full);
    String file = "bbdiy-" + safe(cfg.database()) + "-diff-" + Instant.now().toEpochMilli() + ".bak";
    String sql = "BACKUP DATABASE " + ident(cfg.database()) + " TO DISK = " + literal(cfg.serverPath(file))
        + " WITH DIFFERENTIAL, CHECKSUM, INIT, FORMAT" + compression();
    SqlSession s = prepared;
    prepared = null;
    Map<String, String> rows;
    try {
      try {
        if (s == null) {
          s = open();
        }
        s.execute(sql);
      } catch (SQLException broken) {
        if (s == null || !connectionProblem(broken)) {
          throw broken;
        }
        s.close(); // the connection opened before the lock went away: once more, fresh
        s = open();
        s.execute(sql);
      }
      rows = RowCounts.record(s, cfg.database());
    } catch (SQLException e) {
      throw failure("the differential backup of " + cfg.database() + " (base " + base.file() + ")", e);
    } finally {
      if (s != null) {
        s.close();
      }
    }
    ctx.progress().message("differential backup of " + cfg.database() + " taken: " + file);
    return new Capture(file, rows);
  }

  @Override
  public Artifact complete(RunContext ctx, CaptureHandle handle) {
    Capture capture = (Capture) handle;
    Full base = java.util.Objects.requireNonNull(full);
    Path partial = workDir.resolve(".bbdiy").resolve("mssql-backup.partial");
    try (SqlSession s = open(); var stop = ctx.cancellation().onCancel(s::close)) {
      for (String file : List.of(base.file(), capture.file)) {
        ctx.cancellation().throwIfCancelled();
        s.execute("RESTORE VERIFYONLY FROM DISK = " + literal(cfg.serverPath(file)) + " WITH CHECKSUM");
      }
      List<String[]> r = s.query("SELECT TOP 1 CONVERT(varchar(40), b.differential_base_lsn) FROM msdb.dbo.backupset"
          + " b JOIN msdb.dbo.backupmediafamily f ON f.media_set_id = b.media_set_id WHERE b.type = 'I' AND"
          + " f.physical_device_name = " + literal(cfg.serverPath(capture.file)) + " ORDER BY b.backup_finish_date"
          + " DESC");
      String diffBase = r.isEmpty() ? null : r.get(0)[0];
      if (!base.lsn().equals(diffBase)) {
        forgetState();
        throw BbdiyException.provider("mssql", "the differential " + capture.file + " is based on LSN " + diffBase
            + ", not on bbdiy's full backup " + base.file() + " (" + base.lsn() + "): someone took a full backup of "
            + cfg.database() + " between bbdiy's full and the lock. Run the backup again; it takes a new full", null);
      }
      PrivateFiles.deleteTree(partial);
      PrivateFiles.createPrivateDirectories(partial);
      ctx.cancellation().throwIfCancelled();
      copy(cfg.localDir().resolve(base.file()), partial.resolve(FULL_FILE));
      copy(cfg.localDir().resolve(capture.file), partial.resolve(DIFF_FILE));
      ctx.cancellation().throwIfCancelled();
      PrivateFiles.replaceDirectory(workDir.resolve(BackupLayout.DATABASE), partial);
      if (!fullReused) {
        writeState(base);
        if (replaced != null && !replaced.file().equals(base.file())) {
          deleteQuietly(cfg.localDir().resolve(replaced.file()));
        }
      }
    } catch (SQLException e) {
      ctx.cancellation().throwIfCancelled(); // the session was closed to stop the statement
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "mssql: RESTORE VERIFYONLY of " + base.file() + " and "
          + capture.file + " in " + cfg.serverDir() + " failed: " + e.getMessage() + ". The backup files are"
          + " damaged or unreadable; nothing was stored. Check the server's disk, then run the backup again", e);
    } catch (IOException e) {
      throw BbdiyException.provider("mssql", "cannot copy the backup files from " + cfg.localDir() + ": "
          + e.getMessage(), e);
    } finally {
      deleteQuietly(cfg.localDir().resolve(capture.file));
      try {
        PrivateFiles.deleteTree(partial);
      } catch (IOException ignored) {
        // removed by the next run
      }
    }
    Map<String, String> props = new LinkedHashMap<>();
    props.put("database", cfg.database());
    props.put("mode", "full+differential");
    props.put("server.version", serverVersion);
    props.put("full.file", base.file());
    props.put("full.lsn", base.lsn());
    props.put("full.taken", base.taken().toString());
    props.put("full.reused", Boolean.toString(fullReused));
    props.put("differential.file", capture.file);
    props.putAll(capture.rows);
    return new Artifact("mssql", Artifact.Kind.DATABASE, List.of(BackupLayout.DATABASE), props);
  }

  @Override
  public void abort(RunContext ctx, @Nullable CaptureHandle capture) {
    if (prepared != null) {
      prepared.close();
      prepared = null;
    }
    if (capture instanceof Capture) {
      deleteQuietly(cfg.localDir().resolve(((Capture) capture).file));
    }
    if (full != null && !fullReused) {
      // This run's full never became bbdiy's base (the state is written once a backup is complete).
      deleteQuietly(cfg.localDir().resolve(full.file()));
    }
    try {
      PrivateFiles.deleteTree(workDir.resolve(".bbdiy").resolve("mssql-backup.partial"));
    } catch (IOException ignored) {
      // removed by the next run
    }
  }

  private static void copy(Path from, Path to) throws IOException {
    try (InputStream in = Files.newInputStream(from, LinkOption.NOFOLLOW_LINKS);
        OutputStream out = PrivateFiles.newPrivateOutput(to)) {
      in.transferTo(out);
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Restore

  private String target(RestoreContext ctx) {
    String t = ctx.targetDatabase() != null ? ctx.targetDatabase() : cfg.database();
    MssqlConfig.checkName(t, "The target database");
    return t;
  }

  @Override
  public void preflightRestore(RestoreContext ctx) {
    String target = target(ctx);
    if (!Files.isDirectory(cfg.localDir()) || !Files.isWritable(cfg.localDir())) {
      throw BbdiyException.configuration("mssql.local-dir " + cfg.localDir() + " is not a writable directory: the"
          + " restore hands the backup files to the server through it (mssql.server-dir " + cfg.serverDir() + ")");
    }
    try (SqlSession s = open()) {
      if (s.query("SELECT DB_ID(" + literal(target) + ")").get(0)[0] != null) {
        throw BbdiyException.refused("Database " + target + " already exists on " + cfg.host() + ":" + cfg.port()
            + ". A restore never overwrites: drop or rename it first, or restore under another name"
            + " (--target-database " + target + "_restored).");
      }
    } catch (SQLException e) {
      throw failure("checking " + target, e);
    }
  }

  @Override
  public RestoreOutcome restore(RestoreContext ctx) {
    Path source = ctx.source();
    if (source == null || !Files.isRegularFile(source.resolve(FULL_FILE))
        || !Files.isRegularFile(source.resolve(DIFF_FILE))) {
      throw BbdiyException.provider("mssql", "the backup holds no " + FULL_FILE + " and " + DIFF_FILE + " (in "
          + source + ")", null);
    }
    preflightRestore(ctx);
    String target = target(ctx);
    String stamp = safe(target) + "-" + Instant.now().toEpochMilli();
    String fullName = "bbdiy-restore-" + stamp + "-full.bak";
    String diffName = "bbdiy-restore-" + stamp + "-diff.bak";
    boolean started = false;
    boolean ok = false;
    SqlSession s = null;
    dev.bbdiy.api.spi.CancellationSignal.Registration stop = null;
    try {
      // The server reads backups from its own disk: hand it the files through the shared directory.
      copy(source.resolve(FULL_FILE), cfg.localDir().resolve(fullName));
      copy(source.resolve(DIFF_FILE), cfg.localDir().resolve(diffName));
      s = open();
      stop = ctx.cancellation().onCancel(s::close);
      ctx.cancellation().throwIfCancelled();
      List<String[]> files = s.query("RESTORE FILELISTONLY FROM DISK = " + literal(cfg.serverPath(fullName)));
      StringBuilder moves = new StringBuilder();
      for (String[] f : files) {
        moves.append("MOVE ").append(literal(f[0])).append(" TO ").append(literal(movedPath(f[1], target, f[0])))
            .append(", ");
      }
      started = true;
      ctx.progress().message("restoring the full backup into " + target);
      s.execute("RESTORE DATABASE " + ident(target) + " FROM DISK = " + literal(cfg.serverPath(fullName)) + " WITH "
          + moves + "NORECOVERY, CHECKSUM");
      ctx.cancellation().throwIfCancelled();
      ctx.progress().message("restoring the differential backup into " + target);
      s.execute("RESTORE DATABASE " + ident(target) + " FROM DISK = " + literal(cfg.serverPath(diffName))
          + " WITH RECOVERY, CHECKSUM");
      ctx.cancellation().throwIfCancelled();
      List<String[]> state = s.query("SELECT state_desc FROM sys.databases WHERE name = " + literal(target));
      if (state.isEmpty() || !"ONLINE".equals(state.get(0)[0])) {
        throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "The restored database " + target + " is not"
            + " online after RESTORE ... WITH RECOVERY (" + (state.isEmpty() ? "missing" : state.get(0)[0]) + ")");
      }
      String counted = RowCounts.verify(s, target, ctx.artifact().properties(), ctx.progress());
      ctx.awaitSourceVerified();
      ok = true;
      List<String> checks = new ArrayList<>(List.of("the full and the differential backup restored WITH CHECKSUM; "
          + target + " is online"));
      if (counted != null) {
        checks.add(counted);
      }
      return RestoreOutcome.database(target, "database " + target + " on " + cfg.host() + ":" + cfg.port(),
          checks);
    } catch (SQLException e) {
      ctx.cancellation().throwIfCancelled(); // the session was closed to stop the statement
      throw BbdiyException.provider("mssql", "restoring " + target + " failed: " + e.getMessage(), e);
    } catch (IOException e) {
      throw BbdiyException.provider("mssql", "cannot hand the backup files to the server through "
          + cfg.localDir() + ": " + e.getMessage(), e);
    } finally {
      if (stop != null) {
        stop.close();
      }
      if (s != null) {
        s.close();
      }
      if (started && !ok) {
        dropAfterFailure(target, ctx);
      }
      deleteQuietly(cfg.localDir().resolve(fullName));
      deleteQuietly(cfg.localDir().resolve(diffName));
    }
  }

  /** Drops what a failed restore created (a database left RESTORING, or one online that failed the checks). */
  private void dropAfterFailure(String target, RestoreContext ctx) {
    boolean interrupted = Thread.interrupted(); // a cancelled restore still removes what it created
    try (SqlSession use = open()) {
      if (use.query("SELECT DB_ID(" + literal(target) + ")").get(0)[0] != null) {
        use.execute("DROP DATABASE " + ident(target));
        ctx.progress().warning("the database " + target + " this restore created was dropped again");
      }
    } catch (SQLException | RuntimeException e) {
      ctx.progress().warning("The database " + target + " this restore created could not be dropped again ("
          + e.getMessage() + "): it is incomplete. Drop it: DROP DATABASE " + ident(target) + ";");
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The file a restored database file goes to: beside the original, named after the target database. */
  static String movedPath(String original, String target, String logical) {
    int slash = Math.max(original.lastIndexOf('/'), original.lastIndexOf('\\'));
    String dir = slash >= 0 ? original.substring(0, slash + 1) : "";
    String name = original.substring(slash + 1);
    int dot = name.lastIndexOf('.');
    String ext = dot >= 0 ? name.substring(dot) : "";
    return dir + safe(target) + "_" + safe(logical) + ext;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Plumbing

  private SqlSession open() {
    try {
      return connector.open();
    } catch (SQLException e) {
      throw failure("connecting", e);
    }
  }

  private BbdiyException failure(String what, SQLException e) {
    int code = e.getErrorCode();
    String where = cfg.user() + "@" + cfg.host() + ":" + cfg.port();
    if (code == 18456) {
      return BbdiyException.configuration("SQL Server rejected the login " + where + ": " + e.getMessage()
          + ". Check mssql.user and mssql.password (or mssql.integrated-security)");
    }
    if (code == 262 || code == 229 || code == 916) {
      return BbdiyException.configuration("SQL Server login " + where + " lacks a permission for " + what + ": "
          + e.getMessage() + ". It needs BACKUP DATABASE on " + cfg.database() + " (db_backupoperator) and"
          + " dbcreator to restore");
    }
    if (connectionProblem(e)) {
      return new BbdiyException(ErrorCode.PROVIDER_FAILED, "Cannot connect to SQL Server at " + cfg.host() + ":"
          + cfg.port() + " (" + what + "): " + e.getMessage() + ". Check mssql.host, mssql.port and the TLS"
          + " settings (mssql.encrypt, mssql.trust-store)", e, true);
    }
    return BbdiyException.provider("mssql", what + " failed: " + e.getMessage(), e);
  }

  private static boolean connectionProblem(SQLException e) {
    String state = e.getSQLState();
    return state != null && state.startsWith("08");
  }

  private @Nullable Full readState() throws IOException {
    Path f = stateDir().resolve(STATE_FILE);
    if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
      return null;
    }
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(f)) {
      p.load(in);
    }
    String file = p.getProperty("file");
    String lsn = p.getProperty("lsn");
    String taken = p.getProperty("taken");
    if (file == null || lsn == null || taken == null || !cfg.database().equals(p.getProperty("database"))
        || !file.matches("bbdiy-[A-Za-z0-9_.-]+\\.bak")) {
      return null;
    }
    try {
      return new Full(file, lsn, Instant.parse(taken));
    } catch (java.time.format.DateTimeParseException e) {
      return null;
    }
  }

  private void writeState(Full f) throws IOException {
    PrivateFiles.createPrivateDirectories(stateDir());
    PrivateFiles.writeAtomically(stateDir().resolve(STATE_FILE), "database=" + escape(cfg.database()) + "\nfile="
        + f.file() + "\nlsn=" + f.lsn() + "\ntaken=" + f.taken() + "\n");
  }

  private void forgetState() {
    deleteQuietly(stateDir().resolve(STATE_FILE));
  }

  private static String escape(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      if (c < 0x20 || c > 0x7e || c == '\\' || c == '=' || c == ':' || c == '#' || c == '!' || c == ' ') {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  private Path stateDir() {
    return stateDir;
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // left for the administrator; named in no message because nothing depends on it
    }
  }

  /** A file-name-safe form of a database or logical file name. */
  static String safe(String name) {
    String s = name.replaceAll("[^A-Za-z0-9_.-]", "_");
    return s.isEmpty() || s.startsWith(".") ? "_" + s : s;
  }

  /** Quotes an identifier with brackets. */
  static String ident(String name) {
    return "[" + name.replace("]", "]]") + "]";
  }

  /** Quotes a Unicode string literal; T-SQL has no backslash escapes, only doubled quotes. */
  static String literal(String value) {
    return "N'" + value.replace("'", "''") + "'";
  }
}
