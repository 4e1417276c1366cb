package dev.bbdiy.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract of a snapshot-style {@link dev.bbdiy.api.spi.HomeSnapshotter} (cloud volumes, LVM, ZFS, btrfs): it
 * copies no file. Its capture starts a snapshot, its artifact references that snapshot and lists no path, and
 * everything this run created is deleted by {@code abort}, whatever phase failed, while snapshots of earlier
 * backups stay. Retention's {@code deleteArtifact} deletes exactly the artifact's snapshots; a restore reports
 * where it placed them. Extend it with the provider and a stateful fake of what holds the snapshots.
 *
 * <p>The suite sees the snapshots only through {@link #snapshots()}: the ids that exist now.
 */
public abstract class SnapshotHomeContract {
  /** A temporary directory; the working directory is {@code work/} below it. */
  @TempDir protected Path temp;

  /** The working directory; it exists before {@code preflight}. */
  protected Path work;

  /** Returns the provider under test. */
  protected abstract HomeSnapshotterProvider provider();

  /** Returns the provider's configuration, full keys. */
  protected abstract Map<String, String> configuration();

  /** Returns the home directory the provider snapshots (a mount point of the fake volume). */
  protected abstract Path home();

  /** Returns the ids of the snapshots that exist now, in the fake. */
  protected abstract Set<String> snapshots();

  /**
   * Checks that {@code outcome} is what a restore of {@code artifact} did: the snapshots it references are in
   * place, and the outcome says where.
   */
  protected abstract void assertRestored(Artifact artifact, RestoreOutcome outcome) throws Exception;

  /**
   * Returns whether the provider hands its snapshots to the archiver to read in place (btrfs, LVM, ZFS) instead of
   * keeping them as the backup (cloud volumes): it then also declares {@link Capability#FILE_OUTPUT}, and its
   * artifact lists the layout paths it is read as, each an empty placeholder directory in the working directory.
   * Its configuration must keep the last snapshots locally, so that the suite sees them after a backup.
   */
  protected boolean readInPlace() {
    return false;
  }

  /**
   * Returns whether a backup's snapshots outlive it (the backup itself, or kept locally for fast restores). A
   * provider that releases them once the backup is verified (LVM) returns {@code false}: the suite then looks at
   * them just before the backup's provider is closed, and checks that closing released them.
   */
  protected boolean keepsSnapshots() {
    return true;
  }

  /** The snapshots that existed just before the last {@link #backup()} closed its provider. */
  private Set<String> beforeClose = Set.of();

  @BeforeEach
  void setUpWork() throws Exception {
    work = Files.createDirectories(temp.resolve("work"));
  }

  private HomeSnapshotter create() {
    HomeSnapshotterProvider p = provider();
    return p.create(TestContexts.providerContext(p, configuration(), BitbucketInstance.of("bitbucket", home()),
        work));
  }

  /** Runs a whole backup: capture on one thread, complete on another, as the engine does. */
  protected Artifact backup() throws Exception {
    HomeSnapshotter s = create();
    try {
      TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
      CaptureHandle h = onNewThread(() -> {
        s.preflight(ctx);
        s.prepare(ctx.in(Phase.PREPARE));
        return s.capture(ctx.in(Phase.CAPTURE));
      });
      try {
        Artifact a = onNewThread(() -> s.complete(ctx.in(Phase.COMPLETE), h));
        beforeClose = snapshots();
        return a;
      } finally {
        h.close();
      }
    } finally {
      s.close();
    }
  }

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
      e.shutdownNow();
    }
  }

  private Set<String> created(Set<String> before) {
    Set<String> now = new HashSet<>(snapshots());
    now.removeAll(before);
    return now;
  }

  @Test
  void declares_external_artifacts() {
    assertThat(provider().capabilities()).contains(Capability.EXTERNAL_ARTIFACTS);
    assertThat(provider().capabilities().contains(Capability.FILE_OUTPUT)).isEqualTo(readInPlace());
  }

  @Test
  void a_backup_writes_no_file_and_its_artifact_references_the_snapshots_it_made() throws Exception {
    Set<String> before = snapshots();
    Map<String, String> files = DatabaseDumperContract.files(work);
    Map<String, String> homeFiles = DatabaseDumperContract.files(home());

    Artifact a = backup();

    Set<String> made = created(before);
    if (!keepsSnapshots()) {
      assertThat(made).as("released once the backup is verified").isEmpty();
      made = new HashSet<>(beforeClose);
      made.removeAll(before);
    }
    assertThat(made).as("the backup made snapshots").isNotEmpty();
    assertThat(a.kind()).isEqualTo(Artifact.Kind.HOME);
    assertThat(a.provider()).isEqualTo(provider().name());
    if (readInPlace()) {
      assertThat(a.paths()).as("the layout paths read from the snapshots").isNotEmpty()
          .allSatisfy(p -> assertThat(work.resolve(p)).as("placeholder").isEmptyDirectory());
    } else {
      assertThat(a.paths()).as("a snapshot is no file in the archive").isEmpty();
    }
    assertThat(a.properties().values()).as("the artifact references every snapshot it made").containsAll(made);
    Map<String, String> after = DatabaseDumperContract.files(work);
    for (Map<String, String> m : List.of(files, after)) {
      m.keySet().removeIf(f -> f.startsWith(".bbdiy/")); // the providers' state directories are their own
    }
    assertThat(after).as("nothing written in the working directory").isEqualTo(files);
    assertThat(DatabaseDumperContract.files(home())).as("the home is left as it was").isEqualTo(homeFiles);
  }

  /**
   * Capture runs while Bitbucket is locked, so it must only start snapshots, never read file data. A named pipe in
   * the home proves it: opening one to read blocks until something writes, forever here. A capture that reads (or
   * even opens) the files it snapshots hangs on it; one that does not returns at once.
   */
  @Test
  void capture_reads_no_file_data() throws Exception {
    Set<String> before = snapshots();
    HomeSnapshotter s = create();
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    Path pipe = home().resolve("bbdiy-contract-" + ProcessHandle.current().pid() + ".fifo");
    try {
      s.preflight(ctx);
      s.prepare(ctx.in(Phase.PREPARE));
      mkfifo(pipe);
      ExecutorService e = Executors.newSingleThreadExecutor(r -> new Thread(r, "bbdiy-contract-capture"));
      CaptureHandle h;
      try {
        java.util.concurrent.Future<CaptureHandle> capture = e.submit(() -> s.capture(ctx.in(Phase.CAPTURE)));
        try {
          h = capture.get(CAPTURE_BOUND_SECONDS, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException timeout) {
          unblock(pipe);
          throw new AssertionError("capture did not return within " + CAPTURE_BOUND_SECONDS + " s with a named pipe"
              + " in the home: it reads file data while Bitbucket is locked (it opened " + pipe + ")");
        }
      } finally {
        e.shutdownNow();
      }
      Files.delete(pipe);
      try {
        onNewThread(() -> s.complete(ctx.in(Phase.COMPLETE), h));
        s.abort(ctx.in(Phase.COMPLETE), h); // as after a failed archive: the snapshots go again
      } finally {
        h.close();
      }
    } finally {
      s.close();
      Files.deleteIfExists(pipe);
    }
    assertThat(snapshots()).isEqualTo(before);
  }

  /** How long a capture that reads no file data may take, even on a loaded machine. */
  private static final int CAPTURE_BOUND_SECONDS = 30;

  private static void mkfifo(Path pipe) throws Exception {
    Process p = new ProcessBuilder("mkfifo", "-m", "600", pipe.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (p.waitFor() != 0 || !Files.exists(pipe)) {
      throw new AssertionError("mkfifo " + pipe + " failed (coreutils' mkfifo is needed): " + out);
    }
  }

  /** Opens the pipe to write, which releases a reader blocked on it; gives up quietly when there is none. */
  private static void unblock(Path pipe) {
    Thread t = new Thread(() -> {
      try (java.io.OutputStream out = Files.newOutputStream(pipe)) {
        out.flush();
      } catch (java.io.IOException ignored) {
        // nobody was reading
      }
    }, "bbdiy-contract-unblock");
    t.setDaemon(true);
    t.start();
  }

  @Test
  void abort_after_a_failure_in_any_phase_deletes_only_this_runs_snapshots() throws Exception {
    backup(); // an earlier backup's snapshots, which no abort may touch
    Set<String> before = snapshots();

    for (Phase failedIn : List.of(Phase.PREFLIGHT, Phase.PREPARE, Phase.CAPTURE, Phase.COMPLETE)) {
      HomeSnapshotter s = create();
      TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
      CaptureHandle h = null;
      try {
        s.preflight(ctx);
        if (failedIn != Phase.PREFLIGHT) {
          s.prepare(ctx.in(Phase.PREPARE));
        }
        if (failedIn == Phase.CAPTURE || failedIn == Phase.COMPLETE) {
          h = s.capture(ctx.in(Phase.CAPTURE));
          assertThat(created(before)).as("capture started a snapshot").isNotEmpty();
        }
        if (failedIn == Phase.COMPLETE) {
          s.complete(ctx.in(Phase.COMPLETE), java.util.Objects.requireNonNull(h)); // the archive failed afterwards
        }
        CaptureHandle handle = h;
        onNewThread(() -> {
          s.abort(ctx.in(failedIn), handle);
          return null;
        });
      } finally {
        if (h != null) {
          h.close();
        }
        s.close();
      }
      assertThat(snapshots()).as("after a failure in %s", failedIn).isEqualTo(before);
    }
  }

  @Test
  void cancellation_during_complete_stops_it_and_abort_deletes_the_snapshot() throws Exception {
    Set<String> before = snapshots();
    HomeSnapshotter s = create();
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    try {
      s.preflight(ctx);
      s.prepare(ctx.in(Phase.PREPARE));
      CaptureHandle h = s.capture(ctx.in(Phase.CAPTURE));
      try {
        CancelDuring cancel = new CancelDuring();
        TestContexts.TestRunContext completing = new TestContexts.TestRunContext(ctx.backupId(), Phase.COMPLETE,
            work, ctx.progress(), cancel.signal(), true);
        CancelDuring.assertInterrupted(cancel.during(() -> s.complete(completing, h)), "complete");
        // The engine's abort runs while the run is cancelled, with a signal that is not.
        s.abort(ctx.in(Phase.COMPLETE), h);
      } finally {
        h.close();
      }
    } finally {
      s.close();
    }

    assertThat(snapshots()).isEqualTo(before);
  }

  @Test
  void deleting_an_artifact_deletes_its_snapshots_and_no_other() throws Exception {
    Set<String> before = snapshots();
    Artifact older = backup();
    Set<String> olderMade = created(before);
    Artifact newer = backup();
    Set<String> expected = new HashSet<>(snapshots());
    expected.removeAll(olderMade);

    HomeSnapshotter s = create();
    try {
      s.deleteArtifact(older, TestContexts.run(work, Phase.RETENTION));
    } finally {
      s.close();
    }

    assertThat(snapshots()).isEqualTo(expected);
    assertThat(expected).containsAll(snapshotsOf(newer));
    if (keepsSnapshots()) {
      assertThat(snapshotsOf(newer)).isNotEmpty();
    }
  }

  @Test
  void restore_places_the_snapshots_and_says_where() throws Exception {
    Artifact a = backup();
    HomeSnapshotter s = create();
    RestoreOutcome outcome;
    try {
      RestoreContext ctx = TestContexts.restore(BackupId.of("bitbucket", Instant.now()), a, null, home(), Map.of(),
          null);
      s.preflightRestore(ctx);
      outcome = s.restore(ctx);
    } finally {
      s.close();
    }

    assertThat(outcome.database()).as("a home provider restores no database").isNull();
    assertThat(outcome.target()).isNotBlank();
    assertRestored(a, outcome);
    assertThat(snapshots()).as("the backup's snapshots are kept").containsAll(snapshotsOf(a));
  }

  private Set<String> snapshotsOf(Artifact a) {
    Set<String> out = new HashSet<>();
    for (@Nullable String v : a.properties().values()) {
      if (v != null && snapshots().contains(v)) {
        out.add(v);
      }
    }
    return out;
  }
}
