package dev.bbdiy.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real SIGKILLs: a btrfs backup in a child JVM is killed in a phase, on a loop-mounted btrfs; what it leaves (the
 * record, a snapshot, the armed snapshot commands) is found and released by the next backup, and nothing else is
 * touched.
 */
class BtrfsKillTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  private LoopBtrfs fs;
  private Path home;
  private Path temp;
  private final List<String> lines = Collections.synchronizedList(new ArrayList<>());

  @BeforeEach
  void setUp() throws IOException {
    fs = LoopBtrfs.create(300);
    home = fs.subvolume("bitbucket/home");
    BitbucketHomes.generate(home, BitbucketHomes.spec().repositories(2).useGit(false));
    temp = Files.createTempDirectory("bbdiy-btrfs-kill-");
  }

  @AfterEach
  void tearDown() throws IOException {
    try {
      fs.close();
    } finally {
      dev.bbdiy.kit.PrivateFiles.deleteTree(temp);
    }
  }

  private Process start(String phase) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
        BtrfsBackupChild.class.getName(), bitbucket.url(), home.toString(), temp.resolve("work").toString(),
        temp.resolve("archives").toString(), phase).redirectErrorStream(true).start();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          lines.add(line);
        }
      } catch (IOException ignored) {
        // the child died
      }
    });
    reader.setDaemon(true);
    reader.start();
    return p;
  }

  /** The shells armed with a snapshot command, whoever started them. */
  private static long armedShells() {
    return ProcessHandle.allProcesses().filter(ProcessHandle::isAlive).filter(p -> p.info().arguments()
        .map(a -> String.join(" ", a).contains("subvolume snapshot -r")).orElse(false)).count();
  }

  private BackupEngine engine() {
    return BackupEngine.builder()
        .instance(new BitbucketInstance("bitbucket", InstanceType.BITBUCKET, home, List.of(), List.of(), -1, -1))
        .workDir(temp.resolve("work"))
        .bitbucket(MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
            .pollInterval(Duration.ofMillis(20)).build())
        .home(new BtrfsProvider())
        .database(null)
        .archiver(new TarArchiverProvider())
        .configuration(Map.of("tar.dir", temp.resolve("archives").toString()))
        .build();
  }

  @Test
  void unlock_recover_releases_the_snapshot_a_run_killed_after_its_capture_left() throws Exception {
    killAt("COMPLETE");
    assertThat(fs.subvolumes()).hasSize(2);

    // What 'bbdiy unlock --recover' does: the lock (none left here), then the providers' leftovers.
    BackupEngine.recover(temp.resolve("work"), MaintenanceClient.builder(bitbucket.url())
        .credentials("admin", Secret.of("admin")).build());
    int released = engine().releaseLeftovers();

    assertThat(released).isEqualTo(1);
    assertThat(fs.subvolumes()).containsExactly("bitbucket/home");
    assertThat(temp.resolve("work/.bbdiy/providers/btrfs/snapshots")).isEmptyDirectory();
    assertThat(engine().releaseLeftovers()).as("nothing twice").isZero();
  }

  @ParameterizedTest(name = "SIGKILL at the start of {0}")
  @ValueSource(strings = {"LOCK", "COMPLETE", "ARCHIVE"})
  void what_a_killed_run_leaves_is_released_by_the_next_backup(String phase) throws Exception {
    killAt(phase);
    assertThat(fs.subvolumes()).as("what the killed run left").hasSize(phase.equals("LOCK") ? 1 : 2);

    engine().backup();

    assertThat(fs.subvolumes()).as("only the home is left").containsExactly("bitbucket/home");
    assertThat(temp.resolve("work/.bbdiy/providers/btrfs/snapshots")).isEmptyDirectory();
  }

  /** Runs a backup in a child JVM and SIGKILLs it at the start of {@code phase}; checks what it leaves. */
  private void killAt(String phase) throws Exception {
    Process child = start(phase);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!lines.contains("AT " + phase)) {
      assertThat(System.nanoTime()).as("child never reached %s: %s", phase, lines).isLessThan(deadline);
      Thread.sleep(20);
    }
    assertThat(armedShells()).as("armed in prepare").isEqualTo(phase.equals("LOCK") ? 1 : 0);
    child.toHandle().destroyForcibly(); // SIGKILL: no abort, no close, no hook
    assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();

    Path records = temp.resolve("work/.bbdiy/providers/btrfs/snapshots");
    try (var r = Files.list(records)) {
      assertThat(r.map(p -> p.getFileName().toString())).as("the record").singleElement()
          .satisfies(n -> assertThat(n).endsWith(".pending"));
    }
    for (int i = 0; i < 100 && armedShells() > 0; i++) {
      Thread.sleep(50);
    }
    assertThat(armedShells()).as("the armed shell read end-of-file and exited").isZero();
  }
}
