package dev.bbdiy.examples.sqlite;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.CancellationSignal;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** One operation of the {@code sqlite} provider. */
final class SqliteDumper implements DatabaseDumper {
  private static final String PROVIDER = "sqlite";
  /** The file name in {@code bitbucket-db}. */
  static final String DUMP = "database.sqlite";

  private final Path file;
  private final String sqlite3;
  private final Path state;

  SqliteDumper(Path file, String sqlite3, Path state) {
    this.file = file;
    this.sqlite3 = sqlite3;
    this.state = state;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Backup

  @Override
  public void preflight(RunContext ctx) {
    requireTool(ctx.cancellation());
    if (!Files.isRegularFile(file)) {
      throw BbdiyException.configuration("sqlite.file: " + file + " is not a file. Point sqlite.file at the"
          + " database to back up.");
    }
  }

  /** What capture took: a consistent copy of the database in the state directory. */
  private record Copy(Path dir) implements CaptureHandle {}

  private Path partial() {
    return state.resolve("capture.partial");
  }

  @Override
  public CaptureHandle capture(RunContext ctx) {
    Path dir = partial();
    try {
      PrivateFiles.deleteTree(dir);
      PrivateFiles.createPrivateDirectories(dir);
    } catch (IOException e) {
      throw BbdiyException.provider(PROVIDER, "cannot prepare " + dir + ": " + e.getMessage(), e);
    }
    // sqlite3's online backup: a consistent copy even while others write. The target is a plain name in the
    // working directory of sqlite3, so that no path needs quoting inside the dot-command.
    sqlite3(ctx.cancellation(), dir, file.toString(), ".backup main " + DUMP).orThrow(PROVIDER,
        "sqlite3 .backup of " + file);
    return new Copy(dir);
  }

  @Override
  public Artifact complete(RunContext ctx, CaptureHandle capture) {
    Path dir = ((Copy) capture).dir();
    Path copy = dir.resolve(DUMP);
    Map<String, String> props = new LinkedHashMap<>();
    props.put("file", file.toString());
    props.put("integrity_check", check(copy, ctx.cancellation()));
    props.put("tables", tables(copy, ctx.cancellation()));
    try {
      props.put("bytes", Long.toString(Files.size(copy)));
      Files.setPosixFilePermissions(copy, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      // This run's dump replaces the last one whole: nothing of an earlier run stays in bitbucket-db.
      PrivateFiles.replaceDirectory(ctx.databaseCopy(), dir);
    } catch (IOException e) {
      throw BbdiyException.provider(PROVIDER, "cannot place the copy in " + ctx.databaseCopy() + ": "
          + e.getMessage(), e);
    }
    return new Artifact(PROVIDER, Artifact.Kind.DATABASE, List.of(BackupLayout.DATABASE), props);
  }

  @Override
  public void abort(RunContext ctx, @Nullable CaptureHandle capture) {
    try {
      PrivateFiles.deleteTree(partial());
    } catch (IOException e) {
      ctx.progress().warning("could not remove " + partial() + ": " + e.getMessage());
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Restore

  /** Resolves {@code --target-database}: a path, relative to the configured file's directory; or that file. */
  private Path target(RestoreContext ctx) {
    String name = ctx.targetDatabase();
    return name == null ? file : file.resolveSibling(name).toAbsolutePath().normalize();
  }

  @Override
  public void preflightRestore(RestoreContext ctx) {
    requireTool(ctx.cancellation());
    Path target = target(ctx);
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      throw BbdiyException.refused("SQLite database " + target + " already exists. A restore never overwrites:"
          + " move it away, or restore under another name (--target-database " + target.getFileName()
          + ".restored).");
    }
    if (!Files.isDirectory(target.getParent())) {
      throw BbdiyException.configuration("Cannot restore into " + target + ": " + target.getParent()
          + " is not a directory.");
    }
  }

  @Override
  public RestoreOutcome restore(RestoreContext ctx) {
    preflightRestore(ctx);
    Path source = ctx.source() == null ? null : ctx.source().resolve(DUMP);
    // Whatever the archive holds is checked: a link named like the dump would make us copy its target.
    if (source == null || !Files.isRegularFile(source, LinkOption.NOFOLLOW_LINKS)) {
      throw BbdiyException.provider(PROVIDER, "the backup holds no " + DUMP + " (a regular file) in "
          + ctx.source(), null);
    }
    Path target = target(ctx);
    Path temp = target.resolveSibling("." + target.getFileName() + ".bbdiy-partial-" + ProcessHandle.current().pid());
    try {
      PrivateFiles.deleteTree(temp);
      Files.copy(source, temp);
      Files.setPosixFilePermissions(temp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      String integrity = check(temp, ctx.cancellation());
      String tables = tables(temp, ctx.cancellation());
      ctx.awaitSourceVerified();
      // A hard link fails if the target appeared meanwhile: the restore never replaces a file.
      Files.createLink(target, temp);
      String recorded = ctx.artifact().property("tables");
      return RestoreOutcome.database(target.toString(), "SQLite database " + target,
          List.of("integrity_check: " + integrity, tables + " tables (" + (tables.equals(recorded)
              ? "as at backup time" : "the backup recorded " + recorded) + ")"));
    } catch (java.nio.file.FileAlreadyExistsException e) {
      throw BbdiyException.refused("SQLite database " + target + " appeared during the restore; it was left as it"
          + " is. Restore under another name.");
    } catch (IOException e) {
      throw BbdiyException.provider(PROVIDER, "cannot restore into " + target + ": " + e.getMessage(), e);
    } finally {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException e) {
        ctx.progress().warning("could not remove " + temp + ": " + e.getMessage());
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // sqlite3

  private void requireTool(CancellationSignal cancellation) {
    ChildProcess.Result r;
    try {
      r = ChildProcess.builder(sqlite3, "-version").name("sqlite3").cancellation(cancellation).build().run();
    } catch (BbdiyException e) {
      if (e.code() == dev.bbdiy.api.ErrorCode.INTERRUPTED) {
        throw e;
      }
      throw BbdiyException.configuration(sqlite3 + " cannot be run (" + e.getMessage() + "). Install it"
          + " (apt-get install sqlite3) or set sqlite.sqlite3 to the program.");
    }
    if (!r.succeeded()) {
      throw BbdiyException.configuration(sqlite3 + " -version failed (exit " + r.exitCode() + "): "
          + String.join(" ", r.stderrTail()) + ". Install sqlite3 or set sqlite.sqlite3.");
    }
  }

  private ChildProcess.Result sqlite3(CancellationSignal cancellation, @Nullable Path dir, String database,
      String command) {
    // -bail: stop at the first error; the database is an absolute path, so never read as an option or a URI.
    ChildProcess.Builder b = ChildProcess.builder(sqlite3, "-bail", "-batch", database, command).name("sqlite3")
        .cancellation(cancellation);
    if (dir != null) {
      b.directory(dir);
    }
    return b.build().run();
  }

  /** Runs PRAGMA integrity_check on {@code db}; returns "ok" or throws with what it found. */
  private String check(Path db, CancellationSignal cancellation) {
    ChildProcess.Result r = sqlite3(cancellation, null, db.toString(), "PRAGMA integrity_check;")
        .orThrow(PROVIDER, "sqlite3 integrity_check of " + db);
    String out = String.join("\n", r.stdoutTail()).strip();
    if (!out.equals("ok")) {
      throw BbdiyException.provider(PROVIDER, "the copy " + db + " is damaged: " + out, null);
    }
    return out;
  }

  /** Returns the number of tables in {@code db}. */
  private String tables(Path db, CancellationSignal cancellation) {
    ChildProcess.Result r = sqlite3(cancellation, null, db.toString(),
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table';").orThrow(PROVIDER, "sqlite3 on " + db);
    String out = String.join("", r.stdoutTail()).strip();
    if (!out.matches("\\d{1,9}")) {
      throw BbdiyException.provider(PROVIDER, "sqlite3 answered '" + out + "' when asked for the tables of " + db,
          null);
    }
    return out;
  }
}
