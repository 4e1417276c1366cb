package dev.bbdiy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract of a {@link DatabaseDumper}, for provider authors to extend with their provider and a real database
 * (testcontainers' {@code AbstractJDBCDriverTest} style). It drives the dumper as the engine does, phase by phase,
 * and checks what the SPI Javadoc promises:
 *
 * <ul>
 *   <li>the dump holds the database as it was at {@code capture}: rows written after it are absent from the restore;
 *   <li>{@code capture} and {@code complete} run on different threads (the capture's thread has ended by then);
 *   <li>{@code complete} owns {@code bitbucket-db}: no file of an earlier run is left in it;
 *   <li>a restore goes into a new database, reported in its {@link RestoreOutcome}, and a database that exists is
 *       refused ({@link ErrorCode#REFUSED}) and left as it was, whether it is named or the configured one;
 *   <li>{@code abort} after a failure in any phase leaves no file of this run and holds nothing
 *       ({@link #assertNothingHeld});
 *   <li>cancellation while {@code complete} or {@code restore} runs ends it with {@link ErrorCode#INTERRUPTED},
 *       keeps the previous dump, and leaves no half-restored database;
 *   <li>a missing tool is a {@link ErrorCode#CONFIGURATION} error in {@code preflight} and {@code preflightRestore};
 *   <li>a provider declaring {@link Capability#RESTORES_WHILE_EXTRACTING} drops what it loaded when {@link
 *       RestoreContext#awaitSourceVerified()} throws.
 * </ul>
 *
 * <p>The suite knows the database only through the hooks: a table of text values the subclass creates in the source
 * database ({@link #createSource}), adds to ({@link #insert}) and reads back from any database by name ({@link
 * #rows}). Database names are what users pass as {@code --target-database}. The subclass drops what it created
 * after each test (the suite's restores use only names from {@link #newDatabaseName}).
 *
 * <p>Cancellation is triggered from inside the phase: the suite's signal cancels itself when the provider first
 * registers an {@link CancellationSignal#onCancel} action (as {@code ChildProcess} does once its process runs), or
 * at its second look at the signal for a provider that only polls it.
 */
public abstract class DatabaseDumperContract {
  /** A temporary directory; the working directory is {@code work/} below it. */
  @TempDir protected Path temp;

  /** The working directory ({@code BITBUCKET_BACKUP_ROOT}); it exists before {@code preflight}. */
  protected Path work;

  /** Returns the provider under test. */
  protected abstract DatabaseDumperProvider provider();

  /** Returns the provider's configuration (full keys), pointing at the source database {@link #createSource} made. */
  protected abstract Map<String, String> configuration();

  /**
   * Returns a configuration under which the provider's tool cannot be found (a tool directory or path setting
   * pointing at nothing), otherwise as {@link #configuration()}; or {@code null} for a provider that runs no tool
   * (a cloud API), whose missing-tool case is then skipped, visibly.
   */
  protected abstract @Nullable Map<String, String> configurationWithoutTool();

  /** Creates the source database with a table holding {@code values}; called before each test. */
  protected abstract void createSource(List<String> values) throws Exception;

  /** Adds {@code value} to the source database's table, committed, as Bitbucket writing would. */
  protected abstract void insert(String value) throws Exception;

  /** Returns the values of the table in database {@code database}, in any order. */
  protected abstract List<String> rows(String database) throws Exception;

  /** Returns whether database {@code database} exists. */
  protected abstract boolean exists(String database) throws Exception;

  /**
   * Returns a name for a restore target that does not exist, as users pass it with {@code --target-database}.
   * Each call returns another; the subclass removes them after the test.
   */
  protected abstract String newDatabaseName();

  /** Returns the name of the source database (the configured one), as {@code --target-database} would name it. */
  protected abstract String sourceDatabase();

  /**
   * Returns whether a restore without {@code --target-database} goes into the source database (which exists, so it
   * must be refused). The default is true; a provider whose default target is a new name of its own (amazon-rds
   * restores as {@code <id>-restored-<time>}) returns false, and that case is not tried.
   */
  protected boolean restoresIntoTheSourceByDefault() {
    return true;
  }

  /**
   * Checks that the dumper holds nothing after {@code abort} and the handle's close: no open transaction or
   * exported snapshot, no session, no child process. The default checks nothing.
   */
  protected void assertNothingHeld() throws Exception {}

  private static final List<String> INITIAL = List.of("alpha", "beta", "gamma", "delta with spaces", "épsilon");

  @BeforeEach
  void setUpSource() throws Exception {
    work = Files.createDirectories(temp.resolve("work"));
    createSource(INITIAL);
  }

  private int runs;

  /**
   * Returns the context of a new run, with a backup id of its own: ids have a resolution of one second, and
   * providers name what they create after them (snapshot ids).
   */
  protected TestContexts.TestRunContext run(Phase phase) {
    return new TestContexts.TestRunContext(BackupId.of("bitbucket", Instant.now().plusSeconds(runs++)), phase, work,
        new TestContexts.RecordingProgress(), new TestContexts.TestCancellation(), true);
  }

  /** Returns a new dumper, as the engine creates one per operation. */
  protected DatabaseDumper dumper() {
    return dumper(configuration());
  }

  private DatabaseDumper dumper(Map<String, String> configuration) {
    DatabaseDumperProvider p = provider();
    return p.create(TestContexts.providerContext(p, configuration, BitbucketInstance.of("bitbucket", null), work));
  }

  /** A backup's outcome: the artifact and the run it belongs to. */
  protected record Backup(Artifact artifact, TestContexts.TestRunContext run) {}

  /**
   * Runs preflight, prepare and capture on one thread, which then ends, {@code afterCapture}, and complete on
   * another thread; closes the handle as the engine does.
   */
  protected Backup backup(DatabaseDumper d, Callable<?> afterCapture) throws Exception {
    TestContexts.TestRunContext ctx = run(Phase.PREFLIGHT);
    AtomicReference<@Nullable Thread> captureThread = new AtomicReference<>();
    CaptureHandle h = onNewThread(() -> {
      captureThread.set(Thread.currentThread());
      d.preflight(ctx);
      d.prepare(ctx.in(Phase.PREPARE));
      return d.capture(ctx.in(Phase.CAPTURE));
    });
    try {
      afterCapture.call();
      Artifact a = onNewThread(() -> {
        assertThat(Thread.currentThread()).isNotSameAs(captureThread.get());
        return d.complete(ctx.in(Phase.COMPLETE), h);
      });
      return new Backup(a, ctx);
    } finally {
      h.close();
    }
  }

  /** Runs {@code task} on a thread of its own, which has ended when this returns. */
  private static <T> T onNewThread(Callable<T> task) throws Exception {
    ExecutorService e = Executors.newSingleThreadExecutor(r -> new Thread(r, "bbdiy-contract"));
    try {
      return e.submit(task).get(5, TimeUnit.MINUTES);
    } catch (ExecutionException ex) {
      if (ex.getCause() instanceof Exception c) {
        throw c;
      }
      throw ex;
    } finally {
      e.shutdown();
      assertThat(e.awaitTermination(1, TimeUnit.MINUTES)).isTrue();
    }
  }

  /** Copies what the dumper produced where the engine would extract it, as the engine does before a restore. */
  protected @Nullable Path extracted(Artifact a) throws IOException {
    if (!provider().capabilities().contains(Capability.FILE_OUTPUT)) {
      return null;
    }
    Path dir = temp.resolve("extracted-" + System.nanoTime());
    copyTree(work.resolve(BackupLayout.DATABASE), dir);
    return dir;
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : s.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }

  private DumperRestoreContext restoreContext(Backup b, @Nullable String target) throws IOException {
    return new DumperRestoreContext(b.artifact(), extracted(b.artifact()), target, new TestContexts.TestCancellation(),
        () -> {});
  }

  // ---------------------------------------------------------------------------------------------------------
  // The happy path

  @Test
  void backs_up_the_database_as_it_was_at_capture_and_restores_it_into_a_new_database() throws Exception {
    DatabaseDumper d = dumper();
    Backup b;
    try {
      b = backup(d, () -> {
        // Bitbucket is unlocked once capture returned and writes again.
        insert("written after the capture");
        return null;
      });
    } finally {
      d.close();
    }

    assertThat(b.artifact().kind()).isEqualTo(Artifact.Kind.DATABASE);
    assertThat(b.artifact().provider()).isEqualTo(provider().name());
    if (provider().capabilities().contains(Capability.FILE_OUTPUT)) {
      assertThat(b.artifact().paths()).as("a FILE_OUTPUT provider lists what it wrote").isNotEmpty();
      for (String p : b.artifact().paths()) {
        assertThat(work.resolve(p)).as(p).exists();
      }
    } else {
      assertThat(b.artifact().paths()).as("only FILE_OUTPUT providers list paths").isEmpty();
    }

    String target = newDatabaseName();
    DatabaseDumper r = dumper();
    RestoreOutcome outcome;
    try {
      DumperRestoreContext ctx = restoreContext(b, target);
      r.preflightRestore(ctx);
      outcome = r.restore(ctx);
    } finally {
      r.close();
    }

    assertThat(outcome.database()).as("the outcome names the database restored into").isEqualTo(target);
    assertThat(rows(target)).containsExactlyInAnyOrderElementsOf(INITIAL);
    assertThat(rows(sourceDatabase())).contains("written after the capture");
  }

  @Test
  void complete_leaves_only_this_runs_files_in_bitbucket_db() throws Exception {
    Assumptions.assumeTrue(provider().capabilities().contains(Capability.FILE_OUTPUT),
        "only providers that write files own bitbucket-db");
    Path stale = work.resolve(BackupLayout.DATABASE).resolve("left-by-an-earlier-run.dat");
    Files.createDirectories(stale.getParent());
    Files.writeString(stale, "an older dump's file");

    DatabaseDumper d = dumper();
    try {
      backup(d, () -> null);
    } finally {
      d.close();
    }

    assertThat(stale).as("complete owns bitbucket-db").doesNotExist();
    assertThat(work.resolve(BackupLayout.DATABASE)).isNotEmptyDirectory();
  }

  @Test
  void preflight_changes_nothing() throws Exception {
    Map<String, String> before = files(work);
    DatabaseDumper d = dumper();
    try {
      d.preflight(run(Phase.PREFLIGHT));
    } finally {
      d.close();
    }
    assertThat(files(work)).isEqualTo(before);
    assertThat(rows(sourceDatabase())).containsExactlyInAnyOrderElementsOf(INITIAL);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Restore refuses to overwrite

  @Test
  void a_restore_into_a_database_that_exists_is_refused_and_leaves_it_as_it_was() throws Exception {
    Backup b = completedBackup();
    String first = newDatabaseName();
    DatabaseDumper r = dumper();
    try {
      r.restore(restoreContext(b, first));
    } finally {
      r.close();
    }
    insert("only in the source");

    List<@Nullable String> existingTargets = new ArrayList<>(java.util.Arrays.asList(first, sourceDatabase()));
    if (restoresIntoTheSourceByDefault()) {
      existingTargets.add(null);
    }
    for (@Nullable String existing : existingTargets) {
      DatabaseDumper again = dumper();
      try {
        assertThatThrownBy(() -> again.preflightRestore(restoreContext(b, existing)))
            .as("preflightRestore into %s", existing == null ? "the configured database" : existing)
            .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED));
        assertThatThrownBy(() -> again.restore(restoreContext(b, existing)))
            .as("restore into %s", existing == null ? "the configured database" : existing)
            .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED));
      } finally {
        again.close();
      }
    }

    assertThat(rows(first)).containsExactlyInAnyOrderElementsOf(INITIAL);
    assertThat(rows(sourceDatabase())).contains("only in the source").hasSize(INITIAL.size() + 1);
  }

  @Test
  void a_restore_whose_source_fails_verification_leaves_no_database() throws Exception {
    Assumptions.assumeTrue(provider().capabilities().contains(Capability.RESTORES_WHILE_EXTRACTING),
        "only providers that restore while extracting are asked before the verification ends");
    Backup b = completedBackup();
    String target = newDatabaseName();
    AtomicBoolean asked = new AtomicBoolean();
    DumperRestoreContext ctx = new DumperRestoreContext(b.artifact(), extracted(b.artifact()), target,
        new TestContexts.TestCancellation(), () -> {
          asked.set(true);
          throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "bitbucket-home/x: content changed");
        });

    DatabaseDumper r = dumper();
    try {
      assertThatThrownBy(() -> r.restore(ctx))
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED));
    } finally {
      r.close();
    }

    assertThat(asked).as("restore asks whether its source was verified before it reports success").isTrue();
    assertThat(exists(target)).as("the database loaded from an unverified archive is dropped").isFalse();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Abort

  @Test
  void abort_after_preflight_or_prepare_leaves_nothing() throws Exception {
    for (Phase failedIn : List.of(Phase.PREFLIGHT, Phase.PREPARE)) {
      Map<String, String> before = files(work);
      DatabaseDumper d = dumper();
      TestContexts.TestRunContext ctx = run(Phase.PREFLIGHT);
      try {
        d.preflight(ctx);
        if (failedIn == Phase.PREPARE) {
          d.prepare(ctx.in(Phase.PREPARE));
        }
        d.abort(ctx.in(failedIn), null);
      } finally {
        d.close();
      }
      assertThat(files(work)).as("after a failure in %s", failedIn).isEqualTo(before);
      assertNothingHeld();
    }
  }

  @Test
  void abort_after_capture_leaves_nothing_and_keeps_the_previous_dump() throws Exception {
    completedBackup();
    Map<String, String> before = files(work);

    DatabaseDumper d = dumper();
    TestContexts.TestRunContext ctx = run(Phase.PREFLIGHT);
    try {
      d.preflight(ctx);
      d.prepare(ctx.in(Phase.PREPARE));
      CaptureHandle h = d.capture(ctx.in(Phase.CAPTURE));
      try {
        // Another provider failed while Bitbucket was locked: this one is aborted, then its handle closed.
        onNewThread(() -> {
          d.abort(ctx.in(Phase.CAPTURE), h);
          return null;
        });
      } finally {
        h.close();
      }
    } finally {
      d.close();
    }

    assertThat(files(work)).isEqualTo(before);
    assertNothingHeld();
  }

  @Test
  void abort_after_a_failed_complete_keeps_the_previous_dump() throws Exception {
    completedBackup();
    Map<String, String> before = files(work);

    DatabaseDumper d = dumper();
    TestContexts.TestRunContext ctx = run(Phase.PREFLIGHT);
    try {
      d.preflight(ctx);
      d.prepare(ctx.in(Phase.PREPARE));
      CaptureHandle h = d.capture(ctx.in(Phase.CAPTURE));
      try {
        TestContexts.TestRunContext failing = ctx.in(Phase.COMPLETE);
        failing.cancellation().cancel("another provider failed");
        assertThatThrownBy(() -> d.complete(failing, h)).isInstanceOf(BbdiyException.class);
        d.abort(ctx.in(Phase.COMPLETE), h);
      } finally {
        h.close();
      }
    } finally {
      d.close();
    }

    assertThat(files(work)).isEqualTo(before);
    assertNothingHeld();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Cancellation

  @Test
  void cancellation_during_complete_stops_it_and_keeps_the_previous_dump() throws Exception {
    completedBackup();
    Map<String, String> before = files(work);

    DatabaseDumper d = dumper();
    TestContexts.TestRunContext ctx = run(Phase.PREFLIGHT);
    CancelDuring cancel = new CancelDuring();
    try {
      d.preflight(ctx);
      d.prepare(ctx.in(Phase.PREPARE));
      CaptureHandle h = d.capture(ctx.in(Phase.CAPTURE));
      try {
        TestContexts.TestRunContext completing = new TestContexts.TestRunContext(ctx.backupId(), Phase.COMPLETE,
            work, ctx.progress(), cancel.signal(), true);
        Throwable thrown = cancel.during(() -> d.complete(completing, h));
        CancelDuring.assertInterrupted(thrown, "complete");
        d.abort(ctx.in(Phase.COMPLETE), h);
      } finally {
        h.close();
      }
    } finally {
      d.close();
    }

    assertThat(files(work)).as("the previous dump is kept, nothing partial left").isEqualTo(before);
    assertNothingHeld();
  }

  @Test
  void cancellation_during_restore_stops_it_and_leaves_no_database() throws Exception {
    Backup b = completedBackup();
    String target = newDatabaseName();
    CancelDuring cancel = new CancelDuring();
    DumperRestoreContext ctx = new DumperRestoreContext(b.artifact(), extracted(b.artifact()), target,
        cancel.signal(), () -> {});

    DatabaseDumper r = dumper();
    try {
      r.preflightRestore(ctx);
      Throwable thrown = cancel.during(() -> r.restore(ctx));
      CancelDuring.assertInterrupted(thrown, "restore");
    } finally {
      r.close();
    }

    assertThat(exists(target)).as("a cancelled restore removes the database it created").isFalse();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Configuration errors

  @Test
  void a_missing_tool_is_a_configuration_error() throws Exception {
    Map<String, String> maybe = configurationWithoutTool();
    Assumptions.assumeTrue(maybe != null, "the provider runs no tool");
    Map<String, String> withoutTool = java.util.Objects.requireNonNull(maybe);
    DatabaseDumper d = dumper(withoutTool);
    try {
      assertThatThrownBy(() -> d.preflight(run(Phase.PREFLIGHT)))
          .as("preflight without the tool")
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION));
    } finally {
      d.close();
    }

    Backup b = completedBackup();
    DatabaseDumper r = dumper(withoutTool);
    try {
      DumperRestoreContext ctx = restoreContext(b, newDatabaseName());
      assertThatThrownBy(() -> r.preflightRestore(ctx))
          .as("preflightRestore without the tool")
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION));
    } finally {
      r.close();
    }
  }

  @Test
  void deleting_an_artifact_in_the_archive_touches_nothing() throws Exception {
    Backup b = completedBackup();
    Assumptions.assumeFalse(provider().capabilities().contains(Capability.EXTERNAL_ARTIFACTS),
        "a provider with external artifacts deletes them: its own tests check what it deletes");
    Map<String, String> before = files(work);

    DatabaseDumper d = dumper();
    try {
      d.deleteArtifact(b.artifact(), run(Phase.RETENTION));
    } finally {
      d.close();
    }

    assertThat(files(work)).isEqualTo(before);
    assertThat(rows(sourceDatabase())).containsExactlyInAnyOrderElementsOf(INITIAL);
  }

  /** Runs a whole backup, as a previous run would have. */
  protected Backup completedBackup() throws Exception {
    DatabaseDumper d = dumper();
    try {
      return backup(d, () -> null);
    } finally {
      d.close();
    }
  }

  /**
   * Returns every regular file and link below {@code root} (relative path to size and modification time):
   * what a run left behind. Directories are left out: a state directory created on first use is no leftover.
   */
  protected static Map<String, String> files(Path root) throws IOException {
    Map<String, String> out = new TreeMap<>();
    List<Path> all = new ArrayList<>();
    try (Stream<Path> s = Files.walk(root)) {
      s.filter(p -> !Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).forEach(all::add);
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    for (Path p : all) {
      out.put(root.relativize(p).toString(), Files.size(p) + " bytes, modified "
          + Files.getLastModifiedTime(p, java.nio.file.LinkOption.NOFOLLOW_LINKS));
    }
    return out;
  }
}
