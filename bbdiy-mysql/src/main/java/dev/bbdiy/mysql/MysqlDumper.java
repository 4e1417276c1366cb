package dev.bbdiy.mysql;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.kit.ChildProcess;
import dev.bbdiy.kit.PrivateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** One run of the {@code mysql} provider. */
final class MysqlDumper implements DatabaseDumper {
  /**
   * What mysqldump writes to its verbose standard error right after {@code START TRANSACTION WITH CONSISTENT
   * SNAPSHOT} returned and before it reads a row (both MySQL's and MariaDB's; only with --single-transaction).
   */
  static final String SNAPSHOT_TAKEN = "-- Setting savepoint";
  static final String DUMP_FILE = "dump.sql";
  private static final String ROWS = "rows.";
  private static final Pattern CHARSET = Pattern.compile("[A-Za-z0-9_]{1,64}");

  private final MysqlConfig cfg;
  private final Path workDir;
  private String dumpVersion = "unknown";
  private String serverVersion = "unknown";
  private String charset = "";
  private String collation = "";
  /** Tables whose engine keeps no snapshot (MyISAM, Aria, MEMORY): their presence makes the dump run in the lock. */
  private List<String> nonTransactional = List.of();
  private @Nullable Path optionFile;
  private final MysqlClient client;

  MysqlDumper(MysqlConfig cfg, Path workDir, Path stateDir) {
    this.cfg = cfg;
    this.workDir = workDir;
    this.client = new MysqlClient(cfg, stateDir);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Backup

  @Override
  public void preflight(RunContext ctx) {
    client.removeStaleOptionFiles(ctx.progress());
    dumpVersion = client.version(cfg.dumpTool());
    client.version(cfg.clientTool());
    Path file = client.writeOptionFile();
    try {
      List<String[]> r = client.query(file, null, "SELECT VERSION(), s.DEFAULT_CHARACTER_SET_NAME,"
          + " s.DEFAULT_COLLATION_NAME, (SELECT COALESCE(SUM(t.DATA_LENGTH + t.INDEX_LENGTH), 0)"
          + " FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = s.SCHEMA_NAME)"
          + " FROM information_schema.SCHEMATA s WHERE s.SCHEMA_NAME = " + MysqlClient.literal(cfg.database()), ctx);
      if (r.isEmpty()) {
        throw BbdiyException.configuration("Database " + cfg.database() + " does not exist on " + cfg.host() + ":"
            + cfg.port() + " (or " + cfg.user() + " may not see it). Check mysql.database (BITBUCKET_DB) and the"
            + " user's grants");
      }
      serverVersion = r.get(0)[0];
      charset = r.get(0)[1];
      collation = r.get(0)[2];
      long size = MysqlClient.parseLong(r.get(0)[3]);
      long usable = Files.getFileStore(Files.createDirectories(workDir)).getUsableSpace();
      if (usable < size) {
        ctx.progress().warning("the database holds " + (size >> 20) + " MiB but only " + (usable >> 20)
            + " MiB are free in " + workDir + "; the dump may not fit");
      }
      List<String> other = new ArrayList<>();
      for (String[] row : client.query(file, null, "SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES"
          + " WHERE TABLE_SCHEMA = " + MysqlClient.literal(cfg.database()) + " AND TABLE_TYPE = 'BASE TABLE'"
          + " AND ENGINE NOT IN ('InnoDB', 'XtraDB')", ctx)) {
        other.add(row[0] + " (" + (row.length > 1 ? row[1] : "?") + ")");
      }
      nonTransactional = List.copyOf(other);
    } catch (IOException e) {
      throw BbdiyException.configuration("cannot use the working directory " + workDir + ": " + e.getMessage());
    } finally {
      MysqlClient.deleteOptionFile(file);
    }
  }

  @Override
  public void prepare(RunContext ctx) {
    // Everything the capture needs but the dump itself: a fresh partial directory and the option file.
    try {
      PrivateFiles.deleteTree(partialDir());
      PrivateFiles.createPrivateDirectories(partialDir());
    } catch (IOException e) {
      throw BbdiyException.provider("mysql", "cannot prepare " + partialDir() + ": " + e.getMessage(), e);
    }
    optionFile = client.writeOptionFile();
  }

  /** What the capture started: a dump that holds its snapshot and goes on, or one already finished. */
  private static final class Capture implements CaptureHandle {
    final @Nullable Thread thread;
    final CompletableFuture<ChildProcess.Result> finished;
    final String mode;

    Capture(@Nullable Thread thread, CompletableFuture<ChildProcess.Result> finished, String mode) {
      this.thread = thread;
      this.finished = finished;
      this.mode = mode;
    }

    /** Stops the dump if it still runs, and waits until it has exited. */
    @Override
    public void close() {
      if (thread != null && thread.isAlive()) {
        thread.interrupt();
        boolean interrupted = false;
        while (thread.isAlive()) {
          try {
            thread.join(30_000);
            break;
          } catch (InterruptedException e) {
            interrupted = true;
          }
        }
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  @Override
  public CaptureHandle capture(RunContext ctx) {
    if (optionFile == null) {
      prepare(ctx);
    }
    if (cfg.inLock()) {
      return new Capture(null, CompletableFuture.completedFuture(dumpProcess(ctx, null).run()), "in-lock");
    }
    if (!nonTransactional.isEmpty()) {
      ctx.progress().warning("tables of " + cfg.database() + " are not InnoDB, so no snapshot covers them: "
          + String.join(", ", nonTransactional.subList(0, Math.min(5, nonTransactional.size())))
          + (nonTransactional.size() > 5 ? " and " + (nonTransactional.size() - 5) + " more" : "") + ". Dumping"
          + " inside the lock instead, so this lock window grows with the database; convert them (ALTER TABLE"
          + " ... ENGINE=InnoDB) to dump after the unlock");
      return new Capture(null, CompletableFuture.completedFuture(dumpProcess(ctx, null).run()),
          "in-lock (tables that are not InnoDB)");
    }
    CompletableFuture<Void> snapshot = new CompletableFuture<>();
    CompletableFuture<ChildProcess.Result> finished = new CompletableFuture<>();
    ChildProcess dump = dumpProcess(ctx, snapshot);
    Thread t = new Thread(() -> {
      try {
        finished.complete(dump.run());
      } catch (Throwable e) {
        finished.completeExceptionally(e);
      }
    }, "bbdiy-mysql-dump");
    t.setDaemon(true);
    t.start();
    Capture capture = new Capture(t, finished, "snapshot");
    try {
      CompletableFuture.anyOf(snapshot, finished).get();
    } catch (InterruptedException e) {
      capture.close();
      Thread.currentThread().interrupt();
      throw new BbdiyException(ErrorCode.INTERRUPTED, "interrupted while mysqldump took its snapshot", e);
    } catch (ExecutionException e) {
      capture.close();
      throw failure(e.getCause());
    }
    if (snapshot.isDone()) {
      ctx.progress().message("mysqldump holds its consistent snapshot of " + cfg.database()
          + "; it dumps it after the unlock");
      return capture;
    }
    ChildProcess.Result r = finished.join();
    if (!r.succeeded()) {
      return capture; // complete reports the failure with the dump's own message
    }
    // Finished without the savepoint line: an old or changed mysqldump. What it wrote was all read in the lock.
    ctx.progress().warning("mysqldump finished without reporting its snapshot (" + SNAPSHOT_TAKEN + "...), so"
        + " it ran entirely inside the lock");
    return new Capture(null, finished, "in-lock (no snapshot signal)");
  }

  /** Builds the mysqldump run; {@code snapshot}, if given, completes when the dump's snapshot exists. */
  private ChildProcess dumpProcess(RunContext ctx, @Nullable CompletableFuture<Void> snapshot) {
    Path file = java.util.Objects.requireNonNull(optionFile);
    List<String> cmd = new ArrayList<>();
    cmd.add(cfg.dumpTool());
    cmd.add("--defaults-extra-file=" + file); // must come first
    cmd.add("--hex-blob"); // binary columns as hex: no character set conversion can touch them
    cmd.addAll(cfg.options());
    cmd.add("--single-transaction");
    cmd.add("--quick");
    cmd.add("--verbose");
    cmd.add("--result-file=" + partialDir().resolve(DUMP_FILE));
    cmd.add("--");
    cmd.add(cfg.database());
    return ChildProcess.builder(cmd).name("mysqldump").cancellation(ctx.cancellation())
        .stderr(line -> {
          if (snapshot != null && line.startsWith(SNAPSHOT_TAKEN)) {
            snapshot.complete(null);
          }
        }).build();
  }

  private RuntimeException failure(@Nullable Throwable t) {
    if (t instanceof BbdiyException) {
      return (BbdiyException) t;
    }
    return BbdiyException.provider("mysql", "mysqldump of " + cfg.where() + " failed: " + t, t);
  }

  @Override
  public Artifact complete(RunContext ctx, CaptureHandle handle) {
    Capture capture = (Capture) handle;
    ChildProcess.Result r;
    // This phase's cancellation stops the dump that capture started (it watched capture's signal only).
    try (var stop = ctx.cancellation().onCancel(capture::close)) {
      r = capture.finished.get();
      ctx.cancellation().throwIfCancelled();
    } catch (InterruptedException e) {
      capture.close();
      Thread.currentThread().interrupt();
      throw new BbdiyException(ErrorCode.INTERRUPTED, "interrupted while mysqldump ran", e);
    } catch (ExecutionException e) {
      throw failure(e.getCause());
    } finally {
      MysqlClient.deleteOptionFile(optionFile);
      optionFile = null;
    }
    if (!r.succeeded()) {
      throw dumpFailed(r);
    }
    Map<String, String> props = new LinkedHashMap<>();
    props.put("database", cfg.database());
    props.put("mode", capture.mode);
    props.put("server.version", serverVersion);
    props.put("mysqldump.version", dumpVersion);
    props.put("charset", charset);
    props.put("collation", collation);
    Path finalDir = workDir.resolve(BackupLayout.DATABASE);
    try {
      if (cfg.countRows()) {
        Map<String, Long> rows = DumpRows.count(partialDir().resolve(DUMP_FILE));
        rows.forEach((table, n) -> props.put(ROWS + table, Long.toString(n)));
        props.put("tables", Integer.toString(rows.size()));
        ctx.progress().message("counted the rows of " + rows.size() + " tables in the dump");
      } else {
        props.put("rows", "not counted (mysql.count-rows=false)");
      }
      PrivateFiles.replaceDirectory(finalDir, partialDir());
    } catch (IOException e) {
      throw BbdiyException.provider("mysql", "cannot keep the dump in " + finalDir + ": " + e.getMessage(), e);
    }
    return new Artifact("mysql", Artifact.Kind.DATABASE, List.of(BackupLayout.DATABASE), props);
  }

  private BbdiyException dumpFailed(ChildProcess.Result r) {
    String err = String.join("\n  ", r.stderrTail().stream().filter(l -> !l.startsWith("-- ")).toList());
    BbdiyException known = client.known(err, cfg.database());
    if (known != null) {
      return known;
    }
    return BbdiyException.provider("mysql", "mysqldump of " + cfg.where() + " failed (exit " + r.exitCode() + "):\n  "
        + err + "\nThe previous dump in " + workDir.resolve(BackupLayout.DATABASE) + " was kept.", null);
  }

  @Override
  public void abort(RunContext ctx, @Nullable CaptureHandle capture) {
    if (capture != null) {
      capture.close();
    }
    MysqlClient.deleteOptionFile(optionFile);
    optionFile = null;
    try {
      PrivateFiles.deleteTree(partialDir());
    } catch (IOException e) {
      ctx.progress().warning("could not remove the partial dump " + partialDir() + ": " + e.getMessage());
    }
  }

  /** The dump being written: beside {@code bitbucket-db}, on its file system, so that it can be renamed into place. */
  private Path partialDir() {
    return workDir.resolve(".bbdiy").resolve("mysql-dump.partial");
  }

  // ---------------------------------------------------------------------------------------------------------
  // Restore

  private String target(RestoreContext ctx) {
    String t = ctx.targetDatabase() != null ? ctx.targetDatabase() : cfg.database();
    MysqlConfig.checkName(t, "The target database");
    return t;
  }

  @Override
  public void preflightRestore(RestoreContext ctx) {
    client.removeStaleOptionFiles(ctx.progress());
    client.version(cfg.clientTool());
    String target = target(ctx);
    Path file = client.writeOptionFile();
    try {
      if (exists(file, target)) {
        throw BbdiyException.refused("Database " + target + " already exists on " + cfg.host() + ":" + cfg.port()
            + ". A restore never overwrites: drop or rename it first, or restore under another name"
            + " (--target-database " + target + "_restored).");
      }
    } finally {
      MysqlClient.deleteOptionFile(file);
    }
  }

  private boolean exists(Path file, String database) {
    return !client.query(file, null, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = "
        + MysqlClient.literal(database), null).isEmpty();
  }

  @Override
  public RestoreOutcome restore(RestoreContext ctx) {
    Path source = ctx.source();
    Path dump = source == null ? null : source.resolve(DUMP_FILE);
    if (dump == null || !Files.isRegularFile(dump, LinkOption.NOFOLLOW_LINKS)) {
      throw BbdiyException.provider("mysql", "the backup holds no mysqldump file (no " + DUMP_FILE + " in "
          + source + ")", null);
    }
    preflightRestore(ctx);
    String target = target(ctx);
    Path file = client.writeOptionFile();
    boolean created = false;
    boolean ok = false;
    try {
      String create = "CREATE DATABASE " + MysqlClient.ident(target) + charsetClause(ctx.artifact());
      client.query(file, null, create, null); // fails if it exists meanwhile: never into someone else's database
      created = true;
      List<String> cmd = new ArrayList<>();
      cmd.add(cfg.clientTool());
      cmd.add("--defaults-extra-file=" + file);
      // No client commands from the file (\! runs a shell): --binary-mode parses none but DELIMITER, --sandbox
      // (MariaDB) refuses those that reach the file system. --one-database ignores statements for other databases.
      cmd.add("--binary-mode");
      if (supportsSandbox()) {
        cmd.add("--sandbox");
      }
      cmd.add("--one-database");
      cmd.add("--batch");
      cmd.add("--"); // --one-database only knows the database given as the argument, not as --database
      cmd.add(target);
      ctx.progress().message("loading the dump into " + target);
      ChildProcess.Result r = ChildProcess.builder(cmd).name("mysql").stdin(dump)
          .cancellation(ctx.cancellation()).build().run();
      if (!r.succeeded()) {
        throw BbdiyException.provider("mysql", "loading the dump into " + target + " failed (exit " + r.exitCode()
            + "):\n  " + String.join("\n  ", r.stderrTail()), null);
      }
      String checked = verifyRowCounts(file, target, ctx);
      ctx.awaitSourceVerified();
      ok = true;
      return RestoreOutcome.database(target, "database " + target + " on " + cfg.host() + ":" + cfg.port(),
          checked == null ? List.of() : List.of(checked));
    } finally {
      if (created && !ok) {
        String why = drop(file, target);
        if (why == null) {
          ctx.progress().warning("the database " + target + " this restore created was dropped again");
        } else {
          ctx.progress().warning("The database " + target + " this restore created could not be dropped again ("
              + why + "): it is incomplete. Drop it: DROP DATABASE " + MysqlClient.ident(target) + ";");
        }
      }
      MysqlClient.deleteOptionFile(file);
    }
  }

  private static String charsetClause(Artifact a) {
    String cs = a.property("charset");
    String co = a.property("collation");
    StringBuilder b = new StringBuilder();
    if (cs != null && CHARSET.matcher(cs).matches()) {
      b.append(" CHARACTER SET ").append(cs);
      if (co != null && CHARSET.matcher(co).matches()) {
        b.append(" COLLATE ").append(co);
      }
    }
    return b.toString();
  }

  /** Returns whether the client has MariaDB's {@code --sandbox} (10.5.25, 10.6.18, 10.11.8 and later). */
  private boolean supportsSandbox() {
    java.util.concurrent.atomic.AtomicBoolean seen = new java.util.concurrent.atomic.AtomicBoolean();
    try {
      ChildProcess.builder(cfg.clientTool(), "--help").name("mysql")
          .stdout(line -> seen.compareAndSet(false, line.trim().startsWith("--sandbox"))).build().run();
    } catch (BbdiyException e) {
      return false;
    }
    return seen.get();
  }

  /**
   * Drops the database a failed restore created. Runs also when the run was cancelled.
   *
   * @return null once it is gone, or why not
   */
  private @Nullable String drop(Path file, String database) {
    boolean interrupted = Thread.interrupted();
    try {
      client.query(file, null, "DROP DATABASE IF EXISTS " + MysqlClient.ident(database), null);
      return null;
    } catch (BbdiyException e) {
      return e.getMessage();
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Compares every table's row count with the dump's. */
  private @Nullable String verifyRowCounts(Path file, String target, RestoreContext ctx) {
    List<Map.Entry<String, String>> expected = new ArrayList<>();
    ctx.artifact().properties().forEach((k, v) -> {
      if (k.startsWith(ROWS)) {
        expected.add(Map.entry(k.substring(ROWS.length()), v));
      }
    });
    if (expected.isEmpty()) {
      ctx.progress().warning("the backup recorded no row counts; the restored database was not compared");
      return null;
    }
    List<String> problems = new ArrayList<>();
    Map<Integer, Long> counts = new LinkedHashMap<>();
    // Tables are named by their index in the query, so no table name has to be read back from the client.
    for (int from = 0; from < expected.size(); from += 200) {
      StringBuilder sql = new StringBuilder();
      for (int i = from; i < Math.min(expected.size(), from + 200); i++) {
        if (sql.length() > 0) {
          sql.append(" UNION ALL ");
        }
        sql.append("SELECT ").append(i).append(", COUNT(*) FROM ").append(MysqlClient.ident(target)).append('.')
            .append(MysqlClient.ident(expected.get(i).getKey()));
      }
      try {
        for (String[] row : client.query(file, null, sql.toString(), null)) {
          counts.put(Integer.parseInt(row[0]), MysqlClient.parseLong(row[1]));
        }
      } catch (BbdiyException e) {
        throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "The restored database " + target + " lacks tables"
            + " of the backup or cannot be counted: " + e.getMessage());
      }
    }
    for (int i = 0; i < expected.size(); i++) {
      String want = expected.get(i).getValue();
      Long got = counts.get(i);
      if (!want.matches("\\d{1,19}") || got == null || got != Long.parseLong(want)) {
        problems.add(expected.get(i).getKey() + ": " + got + " rows, " + want + " in the dump");
      }
    }
    if (!problems.isEmpty()) {
      throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "The restored database " + target + " differs from"
          + " the backup: " + String.join("; ", problems.subList(0, Math.min(10, problems.size()))));
    }
    String checked = "row counts of " + expected.size() + " tables match the dump";
    ctx.progress().message(checked);
    return checked;
  }
}
