package dev.bbdiy.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.RestoreResult;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.RestoreRequest;
import dev.bbdiy.restic.ResticArchiverProvider;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.simulator.Git;
import dev.bbdiy.simulator.Trees;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The {@code btrfs} home provider with the {@code restic} archiver, end to end on a loop-mounted btrfs and real
 * restic: the home is read in place from the read-only snapshot (no staging copy), stored in Atlassian's layout,
 * and restored to the same tree.
 */
class BtrfsResticTest {
  @RegisterExtension final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create();

  private LoopBtrfs fs;
  private Path temp;
  private BitbucketHomes.Home home;

  @BeforeEach
  void setUp() throws IOException {
    if (!Git.available()) {
      throw new AssertionError("git is required for this test; scripts/test.sh installs it");
    }
    try {
      new ProcessBuilder("restic", "version").start().waitFor();
    } catch (IOException | InterruptedException e) {
      throw new AssertionError("restic is not installed: apt-get install restic (scripts/test.sh installs it)", e);
    }
    fs = LoopBtrfs.create(400);
    Path h = fs.subvolume("bitbucket/home");
    home = BitbucketHomes.generate(h, BitbucketHomes.spec().repositories(3).blobSize(512).filesPerCommit(2));
    temp = Files.createTempDirectory("bbdiy-btrfs-restic-");
  }

  @AfterEach
  void tearDown() throws IOException {
    try {
      fs.close();
    } finally {
      dev.bbdiy.kit.PrivateFiles.deleteTree(temp);
    }
  }

  private BackupEngine.Builder engine() throws IOException {
    Path password = temp.resolve("restic-password");
    if (!Files.exists(password)) {
      Files.writeString(password, "correct horse battery staple\n");
      Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
    }
    return BackupEngine.builder()
        .instance(new BitbucketInstance("bitbucket", InstanceType.BITBUCKET, home.home(), java.util.List.of(),
            java.util.List.of(), -1, -1))
        .workDir(temp.resolve("work"))
        .bitbucket(MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
            .pollInterval(Duration.ofMillis(20)).build())
        .home(new BtrfsProvider())
        .database(null)
        .archiver(new ResticArchiverProvider())
        .configuration(Map.of("restic.repository", temp.resolve("repo").toString(), "restic.password-file",
            password.toString(), "restic.init", "true"));
  }

  @Test
  void backs_up_the_snapshot_in_place_twice_and_restores_the_same_tree() throws Exception {
    BackupResult first = engine().build().backup();
    Files.writeString(home.home().resolve("shared/changed-between-backups.txt"), "second backup only");
    // A subvolume made now takes the device number the first snapshot freed, so the second is on another device.
    fs.subvolume("holds-a-device");
    List<BackupEvent> events = new CopyOnWriteArrayList<>();
    BackupResult second = engine().listener(events::add).build().backup();

    assertThat(second.stored().id()).isNotEqualTo(first.stored().id());
    // The second snapshot is a new subvolume (a new device): the unchanged files' digests are still reused.
    assertThat(events).filteredOn(BackupEvent.Progress.class::isInstance).map(e -> ((BackupEvent.Progress) e)
        .message()).anySatisfy(m -> assertThat(m).matches("restic: (\\d+) of \\d+ files unchanged since the last"
            + " backup.*"));
    assertThat(fs.subvolumes()).as("the snapshots are released").containsExactlyInAnyOrder("bitbucket/home",
        "holds-a-device");
    assertThat(temp.resolve("work/bitbucket-home")).as("no staging copy").isEmptyDirectory();
    Path target = temp.resolve("restored");
    RestoreResult restored = engine().build().restore(RestoreRequest.builder(second.stored().id())
        .targetHome(target).homeOnly().build());
    assertThat(restored.verified()).isTrue();
    assertThat(Trees.differences(home.home(), target, rel -> rel.matches("(caches|log|tmp|export|search/data"
        + "|shared/search/data|shared/export|plugins/\\..*)(/.*)?|\\.lock|shared/\\.lock|data/db\\..*"
        + "|shared/data/db\\..*"), Trees.Check.MODE)).isEmpty();
    assertThat(target.resolve("shared/changed-between-backups.txt")).hasContent("second backup only");
    for (Path repo : Git.repositories(target.resolve("shared/data/repositories"))) {
      assertThat(Git.fsck(repo)).as("git fsck " + repo).isEmpty();
    }
  }
}
