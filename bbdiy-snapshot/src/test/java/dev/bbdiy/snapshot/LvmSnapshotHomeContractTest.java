package dev.bbdiy.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.SnapshotHomeContract;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeEach;

/**
 * {@code lvm} runs the testkit's snapshot-home contract against the fake LVM and mount tools (this kernel has no
 * device-mapper snapshot target). LVM keeps no snapshot after a verified backup, so the suite looks at them before
 * the backup ends.
 */
class LvmSnapshotHomeContractTest extends SnapshotHomeContract {
  private FakeTools fake;
  private Path home;

  @BeforeEach
  void createVolume() throws IOException {
    Path fsRoot = Files.createDirectories(temp.resolve("var-atlassian"));
    home = fsRoot.resolve("bitbucket");
    BitbucketHomes.generate(home, BitbucketHomes.spec().repositories(2).useGit(false));
    fake = FakeTools.install(temp.resolve("fake"), "lvm-tools.sh",
        List.of("lvcreate", "lvremove", "lvs", "vgs", "mount", "umount", "findmnt"), Map.of("M", fsRoot));
    fake.set("free", Long.toString(10L << 30));
    fake.set("fstype", "xfs");
    fake.set("expect-mount-options", "ro,nouuid");
  }

  @Override
  protected HomeSnapshotterProvider provider() {
    return new LvmProvider();
  }

  @Override
  protected Map<String, String> configuration() {
    return Map.of("lvm.bin-dir", fake.bin.toString(), "lvm.mount-dir", temp.resolve("mnt").toString());
  }

  @Override
  protected boolean readInPlace() {
    return true;
  }

  @Override
  protected boolean keepsSnapshots() {
    return false;
  }

  @Override
  protected Path home() {
    return home;
  }

  @Override
  protected Set<String> snapshots() {
    Set<String> out = new TreeSet<>();
    try (var files = Files.list(fake.state.resolve("lv/vg0"))) {
      files.forEach(f -> out.add("vg0/" + f.getFileName()));
    } catch (java.nio.file.NoSuchFileException none) {
      return out;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out;
  }

  @Override
  protected void assertRestored(Artifact artifact, RestoreOutcome outcome) {
    assertThat(outcome.target()).isEqualTo(home.toString());
  }
}
