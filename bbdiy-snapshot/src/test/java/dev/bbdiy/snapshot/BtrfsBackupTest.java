package dev.bbdiy.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.RestoreResult;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.RestoreRequest;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.simulator.Git;
import dev.bbdiy.simulator.Trees;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A whole backup and restore through the engine with the simulator, the btrfs provider on a loop-mounted btrfs and
 * the tar archiver: pushes and {@code git gc} while Bitbucket is live, {@code git fsck} of the restored home.
 */
class BtrfsBackupTest {
  @RegisterExtension final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create();

  private LoopBtrfs fs;
  private Path temp;
  private BitbucketHomes.Home home;

  @BeforeEach
  void setUp() throws IOException {
    if (!Git.available()) {
      throw new AssertionError("git is required for this test; scripts/test.sh installs it");
    }
    fs = LoopBtrfs.create(400);
    Path h = fs.subvolume("bitbucket/home");
    home = BitbucketHomes.generate(h, BitbucketHomes.spec().repositories(3).blobSize(512).filesPerCommit(2));
    temp = Files.createTempDirectory("bbdiy-btrfs-e2e-");
  }

  @AfterEach
  void tearDown() throws IOException {
    try {
      fs.close();
    } finally {
      dev.bbdiy.kit.PrivateFiles.deleteTree(temp);
    }
  }

  private BackupEngine.Builder engine(List<BackupEvent> events) {
    return BackupEngine.builder()
        .instance(new BitbucketInstance("bitbucket", InstanceType.BITBUCKET, home.home(), List.of(), List.of(), -1,
            -1))
        .workDir(temp.resolve("work"))
        .bitbucket(MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
            .pollInterval(Duration.ofMillis(20)).build())
        .home(new BtrfsProvider())
        .database(null)
        .archiver(new TarArchiverProvider())
        .configuration(Map.of("tar.dir", temp.resolve("archives").toString()))
        .listener(events::add);
  }

  @Test
  void backs_up_while_pushed_to_and_restores_a_home_git_fsck_accepts() throws Exception {
    List<Path> clones = new ArrayList<>();
    for (String id : home.repositoryIds()) {
      Path clone = temp.resolve("clone-" + id);
      Git.run(temp, "clone", "-q", home.repository(id).toString(), clone.toString());
      clones.add(clone);
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger pushes = new AtomicInteger();
    Thread pusher = new Thread(() -> {
      for (int n = 0; !stop.get(); n++) {
        Path clone = clones.get(n % clones.size());
        try {
          Files.writeString(clone.resolve("push-" + n + ".txt"), "push " + n + " " + Instant.now());
          Git.run(clone, "add", "-A");
          Git.run(clone, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "p" + n);
          Git.run(clone, "push", "-q", "origin", "HEAD:master");
          if (n % 3 == 2) {
            Git.run(home.repository(home.repositoryIds().get(n % clones.size())), "gc", "-q");
          }
          pushes.incrementAndGet();
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      }
    });
    List<BackupEvent> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    pusher.start();
    while (pushes.get() < 2) {
      Thread.sleep(20);
    }
    BackupResult result;
    try {
      // Bitbucket drains git operations before the lock is reported: the pushes stop when the lock phase starts.
      result = engine(events).listener(e -> {
        events.add(e);
        if (e instanceof BackupEvent.PhaseStarted p && p.phase() == Phase.LOCK) {
          stop.set(true);
          try {
            pusher.join();
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
          }
        }
      }).build().backup();
    } finally {
      stop.set(true);
      pusher.join();
    }

    assertThat(result.lockWindow()).isNotNull();
    assertThat(fs.subvolumes()).as("the snapshot is released once verified").containsExactly("bitbucket/home");
    Path target = temp.resolve("restored");
    RestoreResult restored = engine(new ArrayList<>()).build().restore(RestoreRequest.builder(result.stored().id())
        .targetHome(target).homeOnly().build());
    assertThat(restored.verified()).isTrue();
    assertThat(Trees.differences(home.home(), target, rel -> rel.matches("(caches|log|tmp|export|search/data"
        + "|shared/search/data|shared/export|plugins/\\..*)(/.*)?|\\.lock|shared/\\.lock|data/db\\..*"
        + "|shared/data/db\\..*"), Trees.Check.MODE, Trees.Check.MTIME)).isEmpty();
    for (Path repo : Git.repositories(target.resolve("shared/data/repositories"))) {
      assertThat(Git.fsck(repo)).as("git fsck " + repo).isEmpty();
    }
    assertThat(temp.resolve("work/bitbucket-home")).isEmptyDirectory();
  }

  @Test
  void restores_from_the_kept_snapshot_into_an_empty_target_only_and_refuses_once_it_is_gone() throws Exception {
    Map<String, String> keep = Map.of("tar.dir", temp.resolve("archives").toString(), "btrfs.keep-local", "1");
    BackupResult first = engine(new ArrayList<>()).configuration(keep).build().backup();
    Files.writeString(home.home().resolve("shared/after-the-backup.txt"), "not in the backup");
    Path cache = Files.createDirectories(home.home().resolve("caches/x"));
    Files.writeString(cache.resolve("c"), "excluded");
    assertThat(fs.subvolumes()).as("kept").hasSize(2);

    Path occupied = Files.createDirectories(temp.resolve("occupied"));
    Files.writeString(occupied.resolve("keep-me"), "mine");
    assertThatThrownBy(() -> engine(new ArrayList<>()).configuration(keep).build().restore(RestoreRequest
        .builder(first.stored().id()).targetHome(occupied).homeOnly().fromLocalSnapshot(true).build()))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.getMessage()).contains("not empty"));
    assertThat(Files.readString(occupied.resolve("keep-me"))).isEqualTo("mine");

    Path target = temp.resolve("from-snapshot");
    RestoreResult restored = engine(new ArrayList<>()).configuration(keep).build().restore(RestoreRequest
        .builder(first.stored().id()).targetHome(target).homeOnly().fromLocalSnapshot(true).build());

    assertThat(restored.files()).as("nothing extracted from the archive").isZero();
    assertThat(restored.checks()).anySatisfy(c -> assertThat(c).contains("copied from the read-only snapshot"));
    assertThat(target.resolve("shared/after-the-backup.txt")).doesNotExist();
    assertThat(Trees.differences(home.home(), target, rel -> rel.matches("(caches|log|tmp|export|search/data"
        + "|shared/search/data|shared/export|plugins/\\..*)(/.*)?|\\.lock|shared/\\.lock|data/db\\..*"
        + "|shared/data/db\\..*|shared/after-the-backup.txt"), Trees.Check.MODE, Trees.Check.MTIME)).isEmpty();
    for (Path repo : Git.repositories(target.resolve("shared/data/repositories"))) {
      assertThat(Git.fsck(repo)).as("git fsck " + repo).isEmpty();
    }

    // A second backup keeps only its own snapshot (keep-local 1): the first one's is gone. Backup ids name the
    // second a backup starts, so this one waits for the next second; in the same second prepare refuses.
    assertThatThrownBy(() -> engine(new ArrayList<>()).configuration(keep).clock(java.time.Clock.fixed(
        first.summary().startedAt(), java.time.ZoneOffset.UTC)).build().backup())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.getMessage()).contains("exist already"));
    assertThat(fs.subvolumes()).as("the refused backup took no snapshot").hasSize(2);
    Thread.sleep(1_100);
    engine(new ArrayList<>()).configuration(keep).build().backup();
    assertThatThrownBy(() -> engine(new ArrayList<>()).configuration(keep).build().restore(RestoreRequest
        .builder(first.stored().id()).targetHome(temp.resolve("too-late")).homeOnly().fromLocalSnapshot(true)
        .build())).isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.getMessage())
            .contains("not on this machine any more").contains("without --from-snapshot"));
    assertThat(temp.resolve("too-late")).doesNotExist();
  }

  @Test
  void a_run_cancelled_after_the_snapshot_leaves_no_snapshot_and_bitbucket_unlocked() throws Exception {
    for (Phase phase : List.of(Phase.COMPLETE, Phase.ARCHIVE, Phase.VERIFY)) {
      java.util.concurrent.atomic.AtomicReference<BackupEngine> engine =
          new java.util.concurrent.atomic.AtomicReference<>();
      AtomicInteger subvolumesSeen = new AtomicInteger();
      engine.set(engine(new ArrayList<>()).listener(e -> {
        if (e instanceof BackupEvent.PhaseStarted p && p.phase() == phase) {
          try {
            subvolumesSeen.set(fs.subvolumes().size());
          } catch (IOException ex) {
            throw new IllegalStateException(ex);
          }
          engine.get().cancel("test: cancelled in " + phase);
        }
      }).build());

      assertThatThrownBy(() -> engine.get().backup()).as(phase.name()).isInstanceOf(BbdiyException.class);

      assertThat(subvolumesSeen.get()).as("the snapshot existed in " + phase).isEqualTo(2);
      assertThat(fs.subvolumes()).as(phase.name()).containsExactly("bitbucket/home");
      assertThat(temp.resolve("work/.bbdiy/providers/btrfs/snapshots")).as(phase.name()).isEmptyDirectory();
    }
  }
}
