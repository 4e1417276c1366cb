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
 * {@code zfs} runs the testkit's snapshot-home contract against the fake {@code zfs} (no ZFS module on this
 * machine), which keeps the snapshots that exist and their {@code .zfs/snapshot} directories.
 */
class ZfsSnapshotHomeContractTest extends SnapshotHomeContract {
  private FakeTools fake;
  private Path home;

  @BeforeEach
  void createDataset() throws IOException {
    Path dataset = Files.createDirectories(temp.resolve("tank/bitbucket"));
    home = dataset.resolve("home");
    BitbucketHomes.generate(home, BitbucketHomes.spec().repositories(2).useGit(false));
    fake = FakeTools.install(temp.resolve("fake"), "zfs.sh", List.of("zfs"), Map.of());
    fake.set("datasets", "tank/bitbucket\t" + dataset + "\n");
    fake.set("available", Long.toString(50L << 30));
    fake.set("snapshots", "");
  }

  @Override
  protected HomeSnapshotterProvider provider() {
    return new ZfsProvider();
  }

  @Override
  protected Map<String, String> configuration() {
    return Map.of("zfs.bin-dir", fake.bin.toString(), "zfs.keep-local", "100");
  }

  @Override
  protected boolean readInPlace() {
    return true;
  }

  @Override
  protected Path home() {
    return home;
  }

  @Override
  protected Set<String> snapshots() {
    try {
      return new TreeSet<>(fake.lines("snapshots"));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Override
  protected void assertRestored(Artifact artifact, RestoreOutcome outcome) {
    assertThat(outcome.target()).isEqualTo(home.toString());
  }
}
