package dev.bbdiy.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.TestContexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lvm provider against fake lvcreate, lvremove, lvs, vgs, mount, umount and findmnt (this machine's kernel has no
 * device-mapper snapshot target): exact arguments, free space, mounts, failures on demand.
 */
class LvmSnapshotterTest {
  private static final List<String> TOOLS = List.of("lvcreate", "lvremove", "lvs", "vgs", "mount", "umount", "findmnt");
  @TempDir Path temp;
  private FakeTools fake;
  private Path fsRoot;
  private Path home;
  private Path work;

  @BeforeEach
  void setUp() throws Exception {
    fsRoot = Files.createDirectories(temp.resolve("var-atlassian"));
    home = fsRoot.resolve("bitbucket");
    BitbucketHomes.generate(home, BitbucketHomes.spec().repositories(2).useGit(false));
    fake = FakeTools.install(temp.resolve("fake"), "lvm-tools.sh", TOOLS, Map.of("M", fsRoot));
    fake.set("free", Long.toString(10L << 30));
    fake.set("fstype", "xfs");
    fake.set("expect-mount-options", "ro,nouuid");
    work = Files.createDirectories(temp.resolve("work"));
  }

  private HomeSnapshotter create(Map<String, String> extra) {
    Map<String, String> config = new HashMap<>(extra);
    config.put("lvm.bin-dir", fake.bin.toString());
    config.put("lvm.mount-dir", temp.resolve("mnt").toString());
    LvmProvider p = new LvmProvider();
    return p.create(TestContexts.providerContext(p, config, BitbucketInstance.of("bitbucket", home), work));
  }

  @Test
  void is_registered_with_the_service_loader() {
    assertThat(ProviderRegistry.load().home("lvm")).isInstanceOf(LvmProvider.class);
  }

  @Test
  void snapshots_in_the_lock_mounts_read_only_after_and_removes_once_verified() throws Exception {
    HomeSnapshotter s = create(Map.of());
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    s.prepare(ctx.in(Phase.PREPARE));
    int before = fake.log().size();
    CaptureHandle h = s.capture(ctx.in(Phase.CAPTURE));
    String name = "bbdiy-" + ctx.backupId().value() + ".home";

    assertThat(fake.log().subList(before, fake.log().size())).as("inside the lock: only the snapshot")
        .containsExactly("lvcreate --snapshot --size " + (5L << 30) + "b --name " + name + " vg0/home");
    Files.writeString(home.resolve("shared/after-the-lock.txt"), "later");
    Artifact a = s.complete(ctx.in(Phase.COMPLETE), h);
    assertThat(fake.log()).contains("mount -o ro,nouuid /dev/vg0/" + name + " " + temp.resolve("mnt").resolve(name));
    assertThat(ctx.sources()).singleElement().satisfies(src ->
        assertThat(src.directory()).isEqualTo(temp.resolve("mnt").resolve(name).resolve("bitbucket")));
    Set<String> expected = Walks.tree(home, BackupLayout.HOME);
    expected.remove("bitbucket-home/shared/after-the-lock.txt");
    expected.removeIf(rel -> rel.matches("bitbucket-home/(caches|log|tmp|export|search/data|shared/search/data"
        + "|shared/export|plugins/\\..*)(/.*)?") || rel.matches("bitbucket-home/(\\.lock|shared/\\.lock|data/db\\..*"
        + "|shared/data/db\\..*)"));
    assertThat(Walks.archived(ctx, a.paths())).isEqualTo(expected);

    s.close();
    assertThat(fake.lines("mounted")).isEmpty();
    assertThat(fake.state.resolve("lv/vg0/" + name)).doesNotExist();
    assertThat(fake.lines("free")).containsExactly(Long.toString(10L << 30));
  }

  @Test
  void preflight_refuses_a_volume_group_without_room_and_names_the_fix() throws Exception {
    fake.set("free", Long.toString(100L << 20));
    HomeSnapshotter s = create(Map.of());

    assertThatThrownBy(() -> s.preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("vg0 has 100 MiB free")
        .hasMessageContaining("vgextend");
    HomeSnapshotter tooBig = create(Map.of("lvm.snapshot-size", "20G"));
    fake.set("free", Long.toString(10L << 30));
    assertThatThrownBy(() -> tooBig.preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .hasMessageContaining("lvm.snapshot-size");
  }

  @Test
  void a_failed_mount_is_aborted_without_leaving_a_snapshot() throws Exception {
    HomeSnapshotter s = create(Map.of("lvm.snapshot-size", "1G"));
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    s.prepare(ctx);
    CaptureHandle h = s.capture(ctx.in(Phase.CAPTURE));
    fake.set("fail-mount", "");

    assertThatThrownBy(() -> s.complete(ctx.in(Phase.COMPLETE), h)).hasMessageContaining("simulated failure");
    s.abort(ctx.in(Phase.COMPLETE), h);
    s.close();

    assertThat(fake.log()).anyMatch(l -> l.startsWith("lvremove -f vg0/bbdiy-"));
    try (var files = Files.list(fake.state.resolve("lv/vg0"))) {
      assertThat(files).isEmpty();
    }
    assertThat(temp.resolve("work/.bbdiy/providers/lvm/snapshots")).isEmptyDirectory();
  }

  @Test
  void a_failed_lvcreate_inside_the_lock_fails_the_capture_and_leaves_nothing() throws Exception {
    HomeSnapshotter s = create(Map.of());
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    s.prepare(ctx);
    fake.set("fail-lvcreate", "");

    assertThatThrownBy(() -> s.capture(ctx.in(Phase.CAPTURE)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED));
    s.abort(ctx.in(Phase.COMPLETE), null);

    assertThat(temp.resolve("work/.bbdiy/providers/lvm/snapshots")).isEmptyDirectory();
  }

  @Test
  void an_ext4_snapshot_is_mounted_without_nouuid_and_a_home_off_lvm_is_refused() throws Exception {
    fake.set("fstype", "ext4");
    fake.set("expect-mount-options", "ro");
    HomeSnapshotter s = create(Map.of());
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    s.prepare(ctx);
    s.complete(ctx.in(Phase.COMPLETE), s.capture(ctx.in(Phase.CAPTURE)));
    s.close();
    assertThat(fake.log()).anyMatch(l -> l.startsWith("mount -o ro /dev/vg0/"));

    LvmProvider p = new LvmProvider();
    HomeSnapshotter off = p.create(TestContexts.providerContext(p, Map.of("lvm.bin-dir", fake.bin.toString()),
        BitbucketInstance.of("bitbucket", Files.createDirectories(temp.resolve("elsewhere"))), work));
    assertThatThrownBy(() -> off.preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION));
  }

  @Test
  void never_removes_a_volume_a_tampered_artifact_names() throws Exception {
    HomeSnapshotter s = create(Map.of());
    Artifact forged = new Artifact("lvm", Artifact.Kind.HOME, List.of(BackupLayout.HOME),
        Map.of("snapshot.home", "vg0/home"));

    assertThatThrownBy(() -> s.deleteArtifact(forged, TestContexts.run(work, Phase.RETENTION)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED));
    assertThat(fake.log()).noneMatch(l -> l.startsWith("lvremove"));
  }
}
