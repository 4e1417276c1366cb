package dev.bbdiy.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.SnapshotHomeContract;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** {@code btrfs} runs the testkit's snapshot-home contract for real, on a loop-mounted btrfs image. */
class BtrfsSnapshotHomeContractTest extends SnapshotHomeContract {
  private LoopBtrfs fs;
  private Path home;

  @BeforeEach
  void createFileSystem() throws IOException {
    fs = LoopBtrfs.create(300);
    home = fs.subvolume("bitbucket/home");
    BitbucketHomes.generate(home, BitbucketHomes.spec().repositories(2).useGit(false));
  }

  @AfterEach
  void removeFileSystem() throws IOException {
    fs.close();
  }

  @Override
  protected HomeSnapshotterProvider provider() {
    return new BtrfsProvider();
  }

  @Override
  protected Map<String, String> configuration() {
    return Map.of("btrfs.keep-local", "100");
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
    Set<String> out = new TreeSet<>();
    try {
      for (String rel : fs.subvolumes()) {
        if (!rel.equals("bitbucket/home")) {
          out.add(fs.mount().resolve(rel).toString());
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out;
  }

  @Override
  protected void assertRestored(Artifact artifact, RestoreOutcome outcome) {
    // Restored from the archive by the engine: the outcome names the target home.
    assertThat(outcome.target()).isEqualTo(home.toString());
  }
}
