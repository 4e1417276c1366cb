package dev.bbdiy.testkit;

import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.simulator.Git;
import dev.bbdiy.simulator.Trees;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract of a file-copying {@link HomeSnapshotter}: after {@code prepare} and {@code capture}, the working
 * copy equals the home and data stores, minus exactly the paths Atlassian's lists exclude, with modes, times and
 * links kept, deletions mirrored, and the excluded repositories absent; {@code capture} and {@code complete} on
 * different threads; a run that fails or is cancelled in any phase, and is then aborted, leaves a working copy the
 * next backup completes; restore reports the home it restored into. Extend it with the provider under test.
 */
public abstract class HomeSnapshotterContract {
  /** What a Bitbucket home backup must leave out, written out independently of any implementation. */
  private static final Set<String> BITBUCKET_EXCLUDED = Set.of("caches", "data/db.h2.db", "shared/data/db.mv.db",
      "search/data", "shared/search/data", "export", "shared/export", "log", "plugins/.osgi-plugins", "tmp",
      ".lock", "shared/.lock");
  private static final Set<String> MESH_EXCLUDED = Set.of("caches", "log", "tmp", ".lock");

  @TempDir protected Path temp;

  /** Returns the provider under test. */
  protected abstract HomeSnapshotterProvider provider();

  /** Returns the provider's configuration, full keys. */
  protected Map<String, String> configuration() {
    return Map.of();
  }

  @SuppressWarnings("NullAway.Init") // set before each test
  protected Path work;

  private HomeSnapshotter create(BitbucketInstance instance) {
    work = temp.resolve("work");
    return provider().create(TestContexts.providerContext(provider(), configuration(), instance, work));
  }

  /**
   * Runs preflight, prepare, capture and complete; {@code between} runs after prepare. Complete runs on another
   * thread than capture, as in the engine.
   */
  protected Artifact backup(BitbucketInstance instance, Runnable between) {
    HomeSnapshotter s = create(instance);
    try {
      TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
      s.preflight(ctx);
      s.prepare(ctx.in(Phase.PREPARE));
      between.run();
      CaptureHandle h = s.capture(ctx.in(Phase.CAPTURE));
      try {
        return onOtherThread(() -> s.complete(ctx.in(Phase.COMPLETE), h));
      } finally {
        h.close();
      }
    } finally {
      s.close();
    }
  }

  private static <T> T onOtherThread(java.util.concurrent.Callable<T> task) {
    java.util.concurrent.ExecutorService e = java.util.concurrent.Executors.newSingleThreadExecutor();
    try {
      return e.submit(task).get(5, java.util.concurrent.TimeUnit.MINUTES);
    } catch (java.util.concurrent.ExecutionException ex) {
      if (ex.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException(ex.getCause());
    } catch (Exception ex) {
      throw new IllegalStateException(ex);
    } finally {
      e.shutdownNow();
    }
  }

  protected BitbucketInstance instance(Path home, InstanceType type, List<Path> stores, List<String> excluded) {
    return new BitbucketInstance("bitbucket", type, home, stores, excluded, -1, -1);
  }

  private static Predicate<String> excluded(Set<String> paths, List<String> repoIds) {
    return rel -> {
      for (String p : paths) {
        if (rel.equals(p) || rel.startsWith(p + "/")) {
          return true;
        }
      }
      for (String id : repoIds) {
        String repo = "shared/data/repositories/" + id;
        if (rel.equals(repo) || rel.startsWith(repo + "/")) {
          return true;
        }
      }
      return false;
    };
  }

  @Test
  void mirrors_the_home_without_the_excluded_paths_and_repositories() throws Exception {
    BitbucketHomes.Home home = BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(3));

    Artifact a = backup(instance(home.home(), InstanceType.BITBUCKET, List.of(), List.of("2")), () -> {});

    Path copy = work.resolve(BackupLayout.HOME);
    assertThat(Trees.differences(home.home(), copy, excluded(BITBUCKET_EXCLUDED, List.of("2")), Trees.Check.MODE,
        Trees.Check.MTIME, Trees.Check.DIRECTORY_MTIME)).isEmpty();
    for (String p : BitbucketHomes.EXCLUDED_PATHS) {
      assertThat(copy.resolve(p)).as(p).doesNotExist();
    }
    assertThat(copy.resolve("shared/data/repositories/2")).doesNotExist();
    assertThat(copy.resolve("shared/data/repositories/1/HEAD")).exists();
    assertThat(copy.resolve("plugins")).as("only the hidden plugin caches are excluded").isEmptyDirectory();
    assertThat(a.kind()).isEqualTo(Artifact.Kind.HOME);
    assertThat(a.paths()).containsExactly(BackupLayout.HOME);
  }

  @Test
  void a_mesh_home_gets_the_short_list() throws Exception {
    BitbucketHomes.Home home = BitbucketHomes.generate(temp.resolve("mesh"), BitbucketHomes.spec().repositories(1)
        .useGit(false));

    backup(instance(home.home(), InstanceType.MESH, List.of(), List.of()), () -> {});

    Path copy = work.resolve(BackupLayout.HOME);
    assertThat(Trees.differences(home.home(), copy, excluded(MESH_EXCLUDED, List.of()))).isEmpty();
    assertThat(copy.resolve("data/db.h2.db")).exists();
    assertThat(copy.resolve("caches")).doesNotExist();
  }

  @Test
  void copies_data_stores_into_the_atlassian_layout_without_excluded_repositories() throws Exception {
    BitbucketHomes.Home home = BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(1)
        .useGit(false));
    Path store = temp.resolve("data store one");
    for (String id : List.of("7", "8")) {
      Path repo = Files.createDirectories(store.resolve("repositories/ab/cd/" + id));
      Files.writeString(repo.resolve("HEAD"), "ref: refs/heads/master\n");
    }
    Files.writeString(store.resolve("marker.txt"), "store");

    Artifact a = backup(instance(home.home(), InstanceType.BITBUCKET, List.of(store), List.of("8")), () -> {});

    Path copy = work.resolve(BackupLayout.dataStore(store));
    assertThat(copy.toString()).contains("bitbucket-data-stores" + store);
    assertThat(copy.resolve("marker.txt")).hasContent("store");
    assertThat(copy.resolve("repositories/ab/cd/7/HEAD")).exists();
    assertThat(copy.resolve("repositories/ab/cd/8")).doesNotExist();
    assertThat(a.paths()).containsExactly(BackupLayout.HOME, BackupLayout.dataStore(store));
  }

  @Test
  void mirrors_every_change_made_between_prepare_and_capture() throws Exception {
    BitbucketHomes.Home home = BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(2)
        .useGit(false));
    Path h = home.home();

    backup(instance(h, InstanceType.BITBUCKET, List.of(), List.of()), () -> {
      try {
        Files.writeString(h.resolve("shared/bitbucket.properties"), "changed=true\n");
        Files.delete(h.resolve("shared/plugins/installed-plugins/plugin-0.jar"));
        Files.move(h.resolve("shared/data/repositories/2"), h.resolve("shared/data/repositories/3"));
        Files.writeString(h.resolve("shared/data/new-file.txt"), "new");
        Files.setPosixFilePermissions(h.resolve("shared/config/ssh-server-keys/ssh-server-key.pem"),
            PosixFilePermissions.fromString("rw-------"));
        Path link = h.resolve("shared/data/attachments/odd names/link-to-properties");
        Files.delete(link);
        Files.createSymbolicLink(link, Path.of("../elsewhere"));
        Path att = h.resolve("shared/data/attachments/1");
        try (var s = Files.list(att)) {
          Path first = s.findFirst().orElseThrow();
          Files.delete(first);
          Files.createDirectories(first).resolve("now-a-directory.txt");
        }
        // Written moments ago and rewritten with the same size and time: the "racily clean" case a quick
        // size+time check misses (git refs are always 41 bytes).
        Path props = h.resolve("shared/data/repositories/1/description");
        FileTime t = Files.getLastModifiedTime(props);
        Files.writeString(props, "Unnamed repository; edit this file to NAME it.\n");
        Files.setLastModifiedTime(props, t);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });

    assertThat(Trees.differences(h, work.resolve(BackupLayout.HOME), excluded(BITBUCKET_EXCLUDED, List.of()),
        Trees.Check.MODE, Trees.Check.MTIME, Trees.Check.DIRECTORY_MTIME)).isEmpty();
  }

  @Test
  void deletes_excluded_paths_left_in_the_working_copy() throws Exception {
    BitbucketHomes.Home home = BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(1)
        .useGit(false));
    Path stale = temp.resolve("work").resolve(BackupLayout.HOME).resolve("caches/stale.bin");
    Files.createDirectories(stale.getParent());
    Files.writeString(stale, "from an older configuration");

    backup(instance(home.home(), InstanceType.BITBUCKET, List.of(), List.of()), () -> {});

    assertThat(stale.getParent()).doesNotExist();
  }

  @Test
  void works_with_a_trailing_slash_and_spaces_in_the_home_path() throws Exception {
    Path dir = temp.resolve("a home with spaces");
    BitbucketHomes.generate(dir, BitbucketHomes.spec().repositories(1).useGit(false));

    backup(instance(Path.of(dir + "/"), InstanceType.BITBUCKET, List.of(), List.of()), () -> {});

    assertThat(Trees.differences(dir, work.resolve(BackupLayout.HOME), excluded(BITBUCKET_EXCLUDED, List.of())))
        .isEmpty();
    assertThat(work.resolve(BackupLayout.HOME).resolve("shared")).exists();
  }

  @Test
  void pushes_during_prepare_are_captured_consistently() throws Exception {
    if (!Git.available()) {
      throw new AssertionError("git is required for this test; run the project's test script, which installs it");
    }
    BitbucketHomes.Home home = BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(3)
        .blobSize(512).filesPerCommit(2));
    List<Path> clones = new ArrayList<>();
    for (String id : home.repositoryIds()) {
      Path clone = temp.resolve("clone-" + id);
      Git.run(temp, "clone", "-q", home.repository(id).toString(), clone.toString());
      clones.add(clone);
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger pushes = new AtomicInteger();
    Thread pusher = new Thread(() -> {
      int n = 0;
      while (!stop.get()) {
        Path clone = clones.get(n % clones.size());
        try {
          Files.writeString(clone.resolve("push-" + n + ".txt"), "push " + n + " " + Instant.now());
          Git.run(clone, "add", "-A");
          Git.run(clone, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "push " + n);
          Git.run(clone, "push", "-q", "origin", "HEAD:master");
          if (n % 5 == 4) {
            Git.run(home.repository(home.repositoryIds().get(n % clones.size())), "gc", "-q");
          }
          pushes.incrementAndGet();
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
        n++;
      }
    });

    HomeSnapshotter s = create(instance(home.home(), InstanceType.BITBUCKET, List.of(), List.of()));
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREPARE);
    s.preflight(ctx);
    pusher.start();
    while (pushes.get() < 2) {
      Thread.sleep(20);
    }
    s.prepare(ctx);
    stop.set(true);
    pusher.join();
    CaptureHandle h = s.capture(ctx.in(Phase.CAPTURE)); // quiet: as while Bitbucket is drained
    s.complete(ctx.in(Phase.COMPLETE), h);

    assertThat(pushes.get()).isGreaterThanOrEqualTo(2);
    assertThat(Trees.differences(home.home(), work.resolve(BackupLayout.HOME),
        excluded(BITBUCKET_EXCLUDED, List.of()), Trees.Check.MODE, Trees.Check.MTIME)).isEmpty();
    for (Path repo : Git.repositories(work.resolve(BackupLayout.HOME).resolve("shared/data/repositories"))) {
      assertThat(Git.fsck(repo)).as("git fsck " + repo).isEmpty();
    }
  }

  @Test
  void preflight_rejects_a_missing_home() {
    HomeSnapshotter s = create(instance(temp.resolve("nowhere"), InstanceType.BITBUCKET, List.of(), List.of()));

    assertThatThrownBy(() -> s.preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOf(BbdiyException.class)
        .hasMessageContaining("nowhere");
  }

  @Test
  void a_second_backup_copies_only_what_changed() throws Exception {
    BitbucketHomes.Home home = BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(2)
        .useGit(false));
    BitbucketInstance instance = instance(home.home(), InstanceType.BITBUCKET, List.of(), List.of());
    // Written long ago: a file written moments before a pass is copied again on purpose ("racily clean").
    Files.setLastModifiedTime(home.home().resolve("shared/bitbucket.properties"),
        FileTime.from(Instant.now().minusSeconds(3600)));
    backup(instance, () -> {});
    Path unchanged = work.resolve(BackupLayout.HOME).resolve("shared/bitbucket.properties");
    Object inode = Files.getAttribute(unchanged, "unix:ino");
    Files.writeString(home.home().resolve("shared/data/second.txt"), "second");

    backup(instance, () -> {});

    assertThat(Files.getAttribute(unchanged, "unix:ino")).as("unchanged files are not rewritten").isEqualTo(inode);
    assertThat(work.resolve(BackupLayout.HOME).resolve("shared/data/second.txt")).hasContent("second");
  }

  @Test
  void a_run_aborted_after_a_failure_in_any_phase_leaves_a_working_copy_the_next_backup_completes()
      throws Exception {
    BitbucketHomes.Home home = BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(2)
        .useGit(false));
    BitbucketInstance instance = instance(home.home(), InstanceType.BITBUCKET, List.of(), List.of());
    for (Phase failedIn : List.of(Phase.PREFLIGHT, Phase.PREPARE, Phase.CAPTURE, Phase.COMPLETE)) {
      Files.writeString(home.home().resolve("shared/data/changed-before-" + failedIn + ".txt"), failedIn.name());
      HomeSnapshotter s = create(instance);
      TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
      CaptureHandle h = null;
      try {
        s.preflight(ctx);
        if (failedIn != Phase.PREFLIGHT) {
          s.prepare(ctx.in(Phase.PREPARE));
        }
        if (failedIn == Phase.CAPTURE || failedIn == Phase.COMPLETE) {
          h = s.capture(ctx.in(Phase.CAPTURE));
        }
        if (failedIn == Phase.COMPLETE) {
          s.complete(ctx.in(Phase.COMPLETE), java.util.Objects.requireNonNull(h));
        }
        // Another provider, or the archive, failed here: the engine aborts this one and closes its handle.
        s.abort(ctx.in(failedIn), h);
      } finally {
        if (h != null) {
          h.close();
        }
        s.close();
      }
    }

    backup(instance, () -> {});

    assertThat(Trees.differences(home.home(), work.resolve(BackupLayout.HOME), excluded(BITBUCKET_EXCLUDED,
        List.of()), Trees.Check.MODE, Trees.Check.MTIME)).isEmpty();
  }

  @Test
  void cancellation_during_prepare_and_capture_stops_them_and_the_next_backup_is_complete() throws Exception {
    BitbucketHomes.Home home = BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(3)
        .useGit(false));
    BitbucketInstance instance = instance(home.home(), InstanceType.BITBUCKET, List.of(), List.of());
    for (Phase cancelledIn : List.of(Phase.PREPARE, Phase.CAPTURE)) {
      HomeSnapshotter s = create(instance);
      TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
      CancelDuring cancel = new CancelDuring();
      TestContexts.TestRunContext cancelled = new TestContexts.TestRunContext(ctx.backupId(), cancelledIn, work,
          ctx.progress(), cancel.signal(), true);
      try {
        s.preflight(ctx);
        if (cancelledIn == Phase.CAPTURE) {
          s.prepare(ctx.in(Phase.PREPARE));
          Files.writeString(home.home().resolve("shared/data/written-before-capture.txt"), "late");
        }
        Throwable thrown = cancel.during(() -> cancelledIn == Phase.PREPARE ? nothing(() -> s.prepare(cancelled))
            : s.capture(cancelled));
        CancelDuring.assertInterrupted(thrown, cancelledIn.name().toLowerCase(java.util.Locale.ROOT));
        s.abort(ctx.in(cancelledIn), null);
      } finally {
        s.close();
      }
    }

    backup(instance, () -> {});

    assertThat(Trees.differences(home.home(), work.resolve(BackupLayout.HOME), excluded(BITBUCKET_EXCLUDED,
        List.of()), Trees.Check.MODE, Trees.Check.MTIME)).isEmpty();
  }

  private static Object nothing(Runnable r) {
    r.run();
    return "";
  }

  @Test
  void restore_reports_the_home_it_restored_into_and_changes_nothing_else() throws Exception {
    BitbucketHomes.Home home = BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(1)
        .useGit(false));
    BitbucketInstance instance = instance(home.home(), InstanceType.BITBUCKET, List.of(), List.of());
    Artifact a = backup(instance, () -> {});
    // The engine has extracted and verified the files into the target when it calls restore.
    Path target = work.resolve(BackupLayout.HOME);
    Map<String, String> before = DatabaseDumperContract.files(temp);

    HomeSnapshotter s = create(instance);
    dev.bbdiy.api.spi.RestoreOutcome outcome;
    try {
      dev.bbdiy.api.spi.RestoreContext ctx = TestContexts.restore(dev.bbdiy.api.BackupId.of("bitbucket",
          Instant.now()), a, target, target, Map.of(), null);
      s.preflightRestore(ctx);
      outcome = s.restore(ctx);
    } finally {
      s.close();
    }

    assertThat(outcome.database()).as("a home provider restores no database").isNull();
    assertThat(outcome.target()).contains(target.toString());
    assertThat(DatabaseDumperContract.files(temp)).as("restore writes nothing: the engine placed the files")
        .isEqualTo(before);
  }

  @Test
  void deleting_an_artifact_in_the_archive_touches_nothing() throws Exception {
    BitbucketHomes.Home home = BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(1)
        .useGit(false));
    BitbucketInstance instance = instance(home.home(), InstanceType.BITBUCKET, List.of(), List.of());
    Artifact a = backup(instance, () -> {});

    HomeSnapshotter s = create(instance);
    try {
      s.deleteArtifact(a, TestContexts.run(work, Phase.RETENTION));
    } finally {
      s.close();
    }

    assertThat(Trees.differences(home.home(), work.resolve(BackupLayout.HOME), excluded(BITBUCKET_EXCLUDED,
        List.of()))).isEmpty();
  }
}
