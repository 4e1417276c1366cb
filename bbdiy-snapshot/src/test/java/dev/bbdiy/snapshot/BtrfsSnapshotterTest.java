package dev.bbdiy.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.kit.Cancellations;
import dev.bbdiy.kit.TreeWalker;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.TestContexts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The btrfs provider against a real btrfs file system on a loop device (root and btrfs-progs required). */
class BtrfsSnapshotterTest {
  private LoopBtrfs fs;
  private Path home;
  private Path work;

  @BeforeEach
  void setUp() throws IOException {
    fs = LoopBtrfs.create(300);
    home = fs.subvolume("bitbucket/home");
    BitbucketHomes.generate(home, BitbucketHomes.spec().repositories(3).useGit(false));
    work = Files.createTempDirectory("bbdiy-btrfs-work-");
  }

  @AfterEach
  void tearDown() throws IOException {
    try {
      fs.close();
    } finally {
      dev.bbdiy.kit.PrivateFiles.deleteTree(work);
    }
  }

  private HomeSnapshotter create(BitbucketInstance instance, Map<String, String> config) {
    BtrfsProvider p = new BtrfsProvider();
    return p.create(TestContexts.providerContext(p, config, instance, work));
  }

  private BitbucketInstance instance(List<Path> stores, List<String> excluded) {
    return new BitbucketInstance("bitbucket", InstanceType.BITBUCKET, home, stores, excluded, -1, -1);
  }

  /** What an archiver reads: the relative names of the walk over the working copy with the declared sources. */
  private static Set<String> archived(TestContexts.TestRunContext ctx, List<String> paths) throws IOException {
    Set<String> out = new TreeSet<>();
    new TreeWalker(Cancellations.none()).walk(ctx.workDir(), paths, ctx.sources(), (p, rel, meta) -> {
      String text = dev.bbdiy.kit.FileNames.utf8(rel); // raw names: one char per byte
      out.add(text == null ? rel : text);
    });
    return out;
  }

  private static Set<String> tree(Path root, String prefix) throws IOException {
    Set<String> out = new TreeSet<>();
    out.add(prefix);
    try (Stream<Path> s = Files.walk(root)) {
      s.filter(p -> !p.equals(root)).forEach(p -> out.add(prefix + "/" + root.relativize(p)));
    }
    return out;
  }

  @Test
  void is_registered_with_the_service_loader() {
    assertThat(ProviderRegistry.load().home("btrfs")).isInstanceOf(BtrfsProvider.class);
  }

  @Test
  void hands_the_archiver_the_read_only_snapshot_without_excluded_paths_and_releases_it() throws Exception {
    HomeSnapshotter s = create(instance(List.of(), List.of("2")), Map.of());
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    s.prepare(ctx.in(Phase.PREPARE));
    Set<String> expected = tree(home, BackupLayout.HOME);
    CaptureHandle h = s.capture(ctx.in(Phase.CAPTURE));
    Files.writeString(home.resolve("shared/after-the-lock.txt"), "not in the backup");
    Artifact a = s.complete(ctx.in(Phase.COMPLETE), h);

    assertThat(a.paths()).containsExactly(BackupLayout.HOME);
    assertThat(ctx.sources()).hasSize(1);
    Path snapshot = ctx.sources().get(0).directory();
    assertThat(snapshot.getFileName().toString()).isEqualTo(ctx.backupId().value() + ".home");
    assertThat(work.resolve(BackupLayout.HOME)).isEmptyDirectory();
    assertThatThrownBy(() -> Files.writeString(snapshot.resolve("shared/x"), "x")).isInstanceOf(IOException.class);
    Set<String> archived = archived(ctx, a.paths());
    expected.removeIf(rel -> rel.matches("bitbucket-home/(caches|log|tmp|export|search/data|shared/search/data"
        + "|shared/export|shared/data/repositories/2|plugins/\\..*)(/.*)?") || rel.matches(
        "bitbucket-home/(\\.lock|shared/\\.lock|data/db\\..*|shared/data/db\\..*)"));
    assertThat(archived).isEqualTo(expected);
    assertThat(archived).doesNotContain("bitbucket-home/shared/after-the-lock.txt");

    s.close();
    assertThat(snapshot).doesNotExist();
    assertThat(fs.subvolumes()).containsExactly("bitbucket/home");
  }

  @Test
  void snapshots_a_data_store_on_its_own_subvolume_and_reads_one_inside_the_home_from_the_home_snapshot()
      throws Exception {
    Path store = fs.subvolume("stores/one");
    Files.createDirectories(store.resolve("repositories/ab/cd/7"));
    Files.writeString(store.resolve("repositories/ab/cd/7/HEAD"), "ref: refs/heads/master\n");
    Files.createDirectories(store.resolve("repositories/ab/cd/8"));
    Path inner = Files.createDirectories(home.resolve("inner-store"));
    Files.writeString(inner.resolve("marker"), "inner");
    HomeSnapshotter s = create(instance(List.of(store, inner), List.of("8")), Map.of());
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    s.prepare(ctx);
    Artifact a = s.complete(ctx.in(Phase.COMPLETE), s.capture(ctx.in(Phase.CAPTURE)));

    String storePath = BackupLayout.dataStore(store);
    String innerPath = BackupLayout.dataStore(inner);
    assertThat(a.paths()).containsExactly(BackupLayout.HOME, storePath, innerPath);
    Set<String> archived = archived(ctx, a.paths());
    assertThat(archived).contains(storePath + "/repositories/ab/cd/7/HEAD", innerPath + "/marker")
        .doesNotContain(storePath + "/repositories/ab/cd/8");
    assertThat(fs.subvolumes()).hasSize(4);
    s.close();
    assertThat(fs.subvolumes()).containsExactlyInAnyOrder("bitbucket/home", "stores/one");
  }

  /** The snapshot commands armed in prepare, waiting as children of this JVM. */
  private static long armed() {
    return ProcessHandle.current().children().filter(ProcessHandle::isAlive).filter(p -> p.info().arguments()
        .map(a -> String.join(" ", a).contains("subvolume snapshot -r")).orElse(false)).count();
  }

  @Test
  void prepare_arms_the_snapshot_command_so_capture_starts_no_process_and_abort_disarms_it() throws Exception {
    HomeSnapshotter s = create(instance(List.of(), List.of()), Map.of());
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    assertThat(armed()).isZero();
    s.prepare(ctx.in(Phase.PREPARE));
    assertThat(armed()).as("waiting for the capture").isEqualTo(1);

    s.abort(ctx.in(Phase.PREPARE), null);
    s.close();

    for (int i = 0; i < 100 && armed() > 0; i++) {
      Thread.sleep(50);
    }
    assertThat(armed()).as("disarmed").isZero();
    assertThat(fs.subvolumes()).containsExactly("bitbucket/home");
  }

  @Test
  void a_capture_cancelled_while_its_snapshots_run_stops_them_all_so_abort_leaves_none() throws Exception {
    Path store = fs.subvolume("stores/one");
    // The real btrfs, three seconds late for every snapshot: the cancellation comes while both are on their way.
    Path slow = work.resolve("slow-btrfs");
    Files.writeString(slow, "#!/bin/sh\n[ \"$1 $2\" = \"subvolume snapshot\" ] && sleep 3\nexec btrfs \"$@\"\n");
    Files.setPosixFilePermissions(slow, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    HomeSnapshotter s = create(instance(List.of(store), List.of()), Map.of("btrfs.binary", slow.toString()));
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    s.prepare(ctx.in(Phase.PREPARE));
    TestContexts.TestCancellation cancel = new TestContexts.TestCancellation();
    Thread canceller = new Thread(() -> {
      try {
        Thread.sleep(300);
      } catch (InterruptedException e) {
        return;
      }
      cancel.cancel("test: cancelled during the capture");
    });
    canceller.start();

    assertThatThrownBy(() -> s.capture(new TestContexts.TestRunContext(ctx.backupId(), Phase.CAPTURE, work,
        ctx.progress(), cancel, true))).isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERRUPTED));
    s.abort(ctx.in(Phase.CAPTURE), null);
    s.close();
    Thread.sleep(3500); // a snapshot command left running would have made its snapshot by now

    assertThat(fs.subvolumes()).containsExactlyInAnyOrder("bitbucket/home", "stores/one");
  }

  @Test
  void abort_releases_what_the_run_created() throws Exception {
    HomeSnapshotter s = create(instance(List.of(), List.of()), Map.of());
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    s.prepare(ctx);
    CaptureHandle h = s.capture(ctx.in(Phase.CAPTURE));
    assertThat(fs.subvolumes()).hasSize(2);

    s.abort(ctx.in(Phase.COMPLETE), h);
    s.close();

    assertThat(fs.subvolumes()).containsExactly("bitbucket/home");
    assertThat(work.resolve(".bbdiy/providers/btrfs/snapshots")).isEmptyDirectory();
  }

  @Test
  void a_killed_run_leaves_a_record_and_the_next_backup_releases_its_snapshot_before_the_lock() throws Exception {
    // What a SIGKILL after the snapshot leaves: the record (written first) and the snapshot; no abort, no close.
    Path leftover = fs.mount().resolve("bitbucket/.bbdiy-snapshots/bitbucket-20260101-000000.home");
    Files.createDirectories(leftover.getParent());
    LoopBtrfs.run("btrfs", "subvolume", "snapshot", "-r", home.toString(), leftover.toString());
    new SnapshotLedger(work.resolve(".bbdiy/providers/btrfs")).pending(new BackupId("bitbucket-20260101-000000"),
        List.of(new SnapshotLedger.Snap("home", leftover.toString(), "")));
    Path record = work.resolve(".bbdiy/providers/btrfs/snapshots/bitbucket-20260101-000000.pending");
    Files.writeString(record, Files.readString(record).replaceFirst("pid \\d+", "pid 999999999"));

    HomeSnapshotter s = create(instance(List.of(), List.of()), Map.of());
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    assertThat(leftover).as("preflight changes nothing").exists();
    assertThat(ctx.progress().warnings()).anyMatch(w -> w.contains("bitbucket-20260101-000000"));
    s.prepare(ctx.in(Phase.PREPARE));

    assertThat(leftover).doesNotExist();
    assertThat(record).doesNotExist();
    s.close();
  }

  @Test
  void keeps_the_last_local_snapshots_and_retention_deletes_them_with_their_backup() throws Exception {
    Map<String, String> config = Map.of("btrfs.keep-local", "2");
    Artifact first = null;
    for (int i = 0; i < 3; i++) {
      HomeSnapshotter s = create(instance(List.of(), List.of()), config);
      TestContexts.TestRunContext ctx = new TestContexts.TestRunContext(
          BackupId.of("bitbucket", Instant.parse("2026-01-0" + (i + 1) + "T00:00:00Z")), Phase.PREFLIGHT, work,
          new TestContexts.RecordingProgress(), new TestContexts.TestCancellation(), true);
      s.preflight(ctx);
      s.prepare(ctx);
      Artifact a = s.complete(ctx.in(Phase.COMPLETE), s.capture(ctx.in(Phase.CAPTURE)));
      if (i == 1) {
        first = a;
      }
      s.close();
    }
    assertThat(fs.subvolumes()).containsExactly("bitbucket/home",
        "bitbucket/.bbdiy-snapshots/bitbucket-20260102-000000.home",
        "bitbucket/.bbdiy-snapshots/bitbucket-20260103-000000.home");

    HomeSnapshotter s = create(instance(List.of(), List.of()), config);
    s.deleteArtifact(first, TestContexts.run(work, Phase.RETENTION));

    assertThat(fs.subvolumes()).containsExactly("bitbucket/home",
        "bitbucket/.bbdiy-snapshots/bitbucket-20260103-000000.home");
  }

  @Test
  void never_deletes_what_a_tampered_artifact_names() throws Exception {
    HomeSnapshotter s = create(instance(List.of(), List.of()), Map.of());
    Artifact forged = new Artifact("btrfs", Artifact.Kind.HOME, List.of(BackupLayout.HOME),
        Map.of("snapshot.home", home.toString()));
    Artifact renamed = new Artifact("btrfs", Artifact.Kind.HOME, List.of(BackupLayout.HOME),
        Map.of("snapshot.home", fs.mount().resolve("bitbucket/x/../home").toString()));

    assertThatThrownBy(() -> s.deleteArtifact(forged, TestContexts.run(work, Phase.RETENTION)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED));
    assertThatThrownBy(() -> s.deleteArtifact(renamed, TestContexts.run(work, Phase.RETENTION)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED));
    // Named like ours but a plain directory (not a snapshot): refused too.
    Path fake = Files.createDirectories(
        fs.mount().resolve("bitbucket/.bbdiy-snapshots/bitbucket-20260101-000000.home"));
    Files.writeString(fake.resolve("precious"), "data");
    Artifact plain = new Artifact("btrfs", Artifact.Kind.HOME, List.of(BackupLayout.HOME),
        Map.of("snapshot.home", fake.toString()));
    assertThatThrownBy(() -> s.deleteArtifact(plain, TestContexts.run(work, Phase.RETENTION)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED));

    assertThat(home.resolve("shared")).exists();
    assertThat(fake.resolve("precious")).exists();
    assertThat(fs.subvolumes()).containsExactly("bitbucket/home");
  }

  @Test
  void preflight_names_the_fix_when_the_home_is_not_a_subvolume() throws Exception {
    Path plain = Files.createDirectories(fs.mount().resolve("plain-home"));
    BitbucketInstance i = BitbucketInstance.of("bitbucket", plain);
    BtrfsProvider p = new BtrfsProvider();
    HomeSnapshotter s = p.create(TestContexts.providerContext(p, Map.of(), i, work));

    assertThatThrownBy(() -> s.preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining(plain + " is not a btrfs subvolume")
        .hasMessageContaining("btrfs subvolume create");
  }

  @Test
  void preflight_refuses_a_subvolume_nested_in_the_home_that_a_snapshot_would_miss() throws Exception {
    fs.subvolume("bitbucket/home/shared/data/attachments-volume");
    HomeSnapshotter s = create(instance(List.of(), List.of()), Map.of());

    assertThatThrownBy(() -> s.preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("attachments-volume is a btrfs subvolume inside the home");
  }

  @Test
  void preflight_names_the_package_when_btrfs_is_missing() {
    HomeSnapshotter s = create(instance(List.of(), List.of()), Map.of("btrfs.binary", "/nonexistent/btrfs"));

    assertThatThrownBy(() -> s.preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("btrfs-progs");
  }

  @Test
  void preflight_refuses_a_snapshot_directory_inside_the_home() {
    HomeSnapshotter s = create(instance(List.of(), List.of()),
        Map.of("btrfs.snapshot-dir", home.resolve("snaps").toString()));

    assertThatThrownBy(() -> s.preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("inside the home");
  }
}
