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
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.TestContexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The zfs provider against a fake zfs (no ZFS module on this machine): exact arguments, state, failures on demand. */
class ZfsSnapshotterTest {
  @TempDir Path temp;
  private FakeTools fake;
  private Path dataset;
  private Path storeDataset;
  private Path home;
  private Path store;
  private Path work;

  @BeforeEach
  void setUp() throws Exception {
    dataset = Files.createDirectories(temp.resolve("tank/bitbucket"));
    storeDataset = Files.createDirectories(temp.resolve("tank/store"));
    home = dataset.resolve("home");
    BitbucketHomes.generate(home, BitbucketHomes.spec().repositories(2).useGit(false));
    store = Files.createDirectories(storeDataset.resolve("repositories/ab/cd/7"));
    Files.writeString(store.resolve("HEAD"), "ref: refs/heads/master\n");
    store = storeDataset;
    fake = FakeTools.install(temp.resolve("fake"), "zfs.sh", List.of("zfs"), Map.of());
    fake.set("datasets", "tank/bitbucket\t" + dataset + "\ntank/store\t" + storeDataset + "\n");
    fake.set("available", Long.toString(50L << 30));
    fake.set("snapshots", "");
    work = Files.createDirectories(temp.resolve("work"));
  }

  private HomeSnapshotter create(Map<String, String> extra) {
    Map<String, String> config = new HashMap<>(extra);
    config.put("zfs.bin-dir", fake.bin.toString());
    ZfsProvider p = new ZfsProvider();
    return p.create(TestContexts.providerContext(p, config, new BitbucketInstance("bitbucket",
        InstanceType.BITBUCKET, home, List.of(store), List.of(), -1, -1), work));
  }

  @Test
  void is_registered_with_the_service_loader() {
    assertThat(ProviderRegistry.load().home("zfs")).isInstanceOf(ZfsProvider.class);
  }

  @Test
  void snapshots_every_dataset_in_one_command_and_reads_them_in_place() throws Exception {
    HomeSnapshotter s = create(Map.of());
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    s.prepare(ctx);
    int before = fake.log().size();
    CaptureHandle h = s.capture(ctx.in(Phase.CAPTURE));
    String snap = "bbdiy-" + ctx.backupId().value();

    assertThat(fake.log().subList(before, fake.log().size())).as("one atomic command inside the lock")
        .containsExactly("zfs snapshot tank/bitbucket@" + snap + " tank/store@" + snap);
    Artifact a = s.complete(ctx.in(Phase.COMPLETE), h);
    assertThat(a.paths()).containsExactly(BackupLayout.HOME, BackupLayout.dataStore(store));
    assertThat(ctx.sources()).extracting(src -> src.directory()).containsExactly(
        dataset.resolve(".zfs/snapshot/" + snap + "/home"), storeDataset.resolve(".zfs/snapshot/" + snap));
    assertThat(Walks.archived(ctx, a.paths())).contains("bitbucket-home/shared/bitbucket.properties",
        BackupLayout.dataStore(store) + "/repositories/ab/cd/7/HEAD").doesNotContain("bitbucket-home/caches");

    s.close();
    assertThat(fake.lines("snapshots")).isEmpty();
    assertThat(fake.log()).contains("zfs destroy tank/bitbucket@" + snap, "zfs destroy tank/store@" + snap);
  }

  @Test
  void keeps_the_last_snapshot_locally_and_destroys_the_older_one() throws Exception {
    for (int i = 1; i <= 2; i++) {
      HomeSnapshotter s = create(Map.of("zfs.keep-local", "1"));
      TestContexts.TestRunContext ctx = new TestContexts.TestRunContext(
          BackupId.of("bitbucket", Instant.parse("2026-01-0" + i + "T00:00:00Z")), Phase.PREFLIGHT, work,
          new TestContexts.RecordingProgress(), new TestContexts.TestCancellation(), true);
      s.preflight(ctx);
      s.prepare(ctx);
      s.complete(ctx.in(Phase.COMPLETE), s.capture(ctx.in(Phase.CAPTURE)));
      s.close();
    }

    assertThat(fake.lines("snapshots")).containsExactly("tank/bitbucket@bbdiy-bitbucket-20260102-000000",
        "tank/store@bbdiy-bitbucket-20260102-000000");
  }

  /** A restore context asking for the kept local snapshot. */
  private static dev.bbdiy.api.spi.RestoreContext fromSnapshot(Artifact a, Path targetHome,
      Map<Path, Path> stores) {
    dev.bbdiy.api.spi.RestoreContext d = TestContexts.restore(BackupId.of("bitbucket", Instant.now()), a, null,
        targetHome, stores, null);
    return (dev.bbdiy.api.spi.RestoreContext) java.lang.reflect.Proxy.newProxyInstance(
        ZfsSnapshotterTest.class.getClassLoader(), new Class<?>[] {dev.bbdiy.api.spi.RestoreContext.class},
        (proxy, m, args) -> m.getName().equals("fromLocalSnapshot") ? Boolean.TRUE : m.invoke(d, args));
  }

  @Test
  void restores_from_the_kept_snapshot_minus_the_excludes_and_refuses_a_forged_or_gone_one() throws Exception {
    Files.createDirectories(home.resolve("caches/x"));
    Files.writeString(home.resolve("caches/x/c"), "excluded");
    HomeSnapshotter s = create(Map.of("zfs.keep-local", "1"));
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    s.prepare(ctx);
    Artifact a = s.complete(ctx.in(Phase.COMPLETE), s.capture(ctx.in(Phase.CAPTURE)));
    s.close();
    Files.writeString(home.resolve("shared/after-the-backup.txt"), "later");

    Path targetHome = temp.resolve("restored-home");
    Path targetStore = temp.resolve("restored-store");
    dev.bbdiy.api.spi.RestoreContext rc = fromSnapshot(a, targetHome, Map.of(store, targetStore));
    HomeSnapshotter r = create(Map.of());
    r.preflightRestore(rc);
    dev.bbdiy.api.spi.RestoreOutcome outcome = r.restore(rc);

    assertThat(outcome.checks()).hasSize(2);
    assertThat(targetHome.resolve("shared/bitbucket.properties")).hasSameTextualContentAs(
        home.resolve("shared/bitbucket.properties"));
    assertThat(targetHome.resolve("caches")).doesNotExist();
    assertThat(targetHome.resolve("shared/after-the-backup.txt")).doesNotExist();
    assertThat(targetStore.resolve("repositories/ab/cd/7/HEAD")).hasContent("ref: refs/heads/master");
    assertThat(targetStore.resolve(".zfs")).doesNotExist();

    // A forged artifact pointing elsewhere, and a snapshot destroyed since: refused before anything is written.
    Map<String, String> forged = new HashMap<>(a.properties());
    forged.put("snapshot-dir.home", home.toString());
    Path elsewhere = temp.resolve("elsewhere");
    assertThatThrownBy(() -> create(Map.of()).preflightRestore(fromSnapshot(new Artifact("zfs", Artifact.Kind.HOME,
        a.paths(), forged), elsewhere, Map.of(store, temp.resolve("s2"))))).isInstanceOfSatisfying(
            BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED));
    fake.set("snapshots", "");
    assertThatThrownBy(() -> create(Map.of()).preflightRestore(fromSnapshot(a, elsewhere,
        Map.of(store, temp.resolve("s2"))))).hasMessageContaining("not on this machine any more");
    assertThat(elsewhere).doesNotExist();
  }

  @Test
  void a_failed_snapshot_leaves_nothing_and_abort_succeeds() throws Exception {
    HomeSnapshotter s = create(Map.of());
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    s.prepare(ctx);
    fake.set("fail-zfs-snapshot", "");

    assertThatThrownBy(() -> s.capture(ctx.in(Phase.CAPTURE)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED));
    s.abort(ctx.in(Phase.COMPLETE), null);

    assertThat(fake.lines("snapshots")).isEmpty();
    assertThat(temp.resolve("work/.bbdiy/providers/zfs/snapshots")).isEmptyDirectory();
  }

  @Test
  void preflight_refuses_a_child_dataset_inside_the_home_and_a_home_off_zfs() throws Exception {
    Path child = Files.createDirectories(home.resolve("shared/data/attachments"));
    fake.set("datasets", "tank/bitbucket\t" + dataset + "\ntank/bitbucket/attachments\t" + child
        + "\ntank/store\t" + storeDataset + "\n");
    assertThatThrownBy(() -> create(Map.of()).preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("tank/bitbucket/attachments is mounted inside the home");

    fake.set("datasets", "tank/store\t" + storeDataset + "\n");
    assertThatThrownBy(() -> create(Map.of()).preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .hasMessageContaining("is not on a ZFS dataset");
  }

  @Test
  void preflight_refuses_a_pool_without_room() throws Exception {
    fake.set("available", Long.toString(1L << 20));

    assertThatThrownBy(() -> create(Map.of()).preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("1 MiB available");
  }

  @Test
  void never_destroys_what_a_tampered_artifact_names() throws Exception {
    fake.set("snapshots", "tank/bitbucket@precious\n");
    Artifact forged = new Artifact("zfs", Artifact.Kind.HOME, List.of(BackupLayout.HOME),
        Map.of("snapshot.home", "tank/bitbucket@precious"));
    Artifact dataset = new Artifact("zfs", Artifact.Kind.HOME, List.of(BackupLayout.HOME),
        Map.of("snapshot.home", "tank/bitbucket"));

    for (Artifact a : List.of(forged, dataset)) {
      assertThatThrownBy(() -> create(Map.of()).deleteArtifact(a, TestContexts.run(work, Phase.RETENTION)))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED));
    }
    assertThat(fake.log()).noneMatch(l -> l.startsWith("zfs destroy"));
  }
}
