package dev.bbdiy.copy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.simulator.Git;
import dev.bbdiy.simulator.Trees;
import dev.bbdiy.testkit.TestContexts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pass inside the lock copies only what the change journal saw, so it must see everything: files created,
 * rewritten in place (same size, same time: the racy case), renamed over, deleted; directories created, renamed
 * and deleted; modes changed; git pushes and {@code git gc}; during the live pass and after it. Each scenario is
 * run with the journal and without it (the full comparison it falls back to), and the working copy must equal the
 * source either way.
 */
class ChangeJournalTest {
  @TempDir Path temp;
  Path home;
  Path work;

  void tree(int dirs, int files) throws IOException {
    home = Files.createDirectories(temp.resolve("home"));
    work = Files.createDirectories(temp.resolve("work"));
    for (int d = 0; d < dirs; d++) {
      Path dir = Files.createDirectories(home.resolve("shared/data/d" + d));
      for (int f = 0; f < files; f++) {
        Files.writeString(dir.resolve("f" + f), "content " + d + "/" + f);
      }
    }
  }

  HomeSnapshotter snapshotter(boolean journal) {
    CopyProvider p = new CopyProvider();
    return p.create(TestContexts.providerContext(p, Map.of("copy.journal", Boolean.toString(journal)),
        BitbucketInstance.of("bitbucket", home), work));
  }

  /** Runs prepare (with {@code during} running meanwhile), then {@code between}, then capture and complete. */
  Artifact backup(boolean journal, Mutation during, Mutation between) throws Exception {
    HomeSnapshotter s = snapshotter(journal);
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREPARE);
    s.preflight(ctx.in(Phase.PREFLIGHT));
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger rounds = new AtomicInteger();
    Thread mutator = new Thread(() -> {
      Random random = new Random(1);
      while (!stop.get()) {
        try {
          during.apply(random, rounds.getAndIncrement());
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      }
    });
    mutator.start();
    while (rounds.get() < 3) {
      Thread.sleep(5);
    }
    s.prepare(ctx);
    stop.set(true);
    mutator.join();
    between.apply(new Random(2), 0);
    CaptureHandle h = s.capture(ctx.in(Phase.CAPTURE));
    Artifact a = s.complete(ctx.in(Phase.COMPLETE), h);
    s.close();
    return a;
  }

  interface Mutation {
    void apply(Random random, int round) throws IOException;
  }

  static final Mutation NOTHING = (r, n) -> {};

  /** Every kind of change, spread over the tree. */
  Mutation everything() {
    return (random, round) -> {
      Path dir = home.resolve("shared/data/d" + random.nextInt(20));
      Path file = dir.resolve("f" + random.nextInt(20));
      switch (round % 9) {
        case 0:
          Files.writeString(dir.resolve("new-" + round), "created " + round);
          break;
        case 1:
          if (Files.exists(file)) {
            // Rewritten in place with the same size and time: only an event or the content tells.
            FileTime t = Files.getLastModifiedTime(file);
            String old = Files.readString(file);
            Files.writeString(file, old.replace('c', 'C'));
            Files.setLastModifiedTime(file, t);
          }
          break;
        case 2: {
          Path tmp = dir.resolve(".tmp-" + round);
          Files.writeString(tmp, "renamed over " + round);
          Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
          break;
        }
        case 3:
          Files.deleteIfExists(file);
          break;
        case 4: {
          Path sub = Files.createDirectories(dir.resolve("sub-" + round + "/deeper"));
          Files.writeString(sub.resolve("x"), "in a new directory");
          break;
        }
        case 5: {
          Path from = dir.resolve("sub-" + (round - 1));
          if (Files.isDirectory(from)) {
            Files.move(from, dir.resolve("moved-" + round), StandardCopyOption.ATOMIC_MOVE);
          }
          break;
        }
        case 6: {
          Path gone = home.resolve("shared/data/d" + (20 + round % 5));
          if (Files.isDirectory(gone)) {
            deleteTree(gone);
          }
          break;
        }
        case 7:
          if (Files.exists(file)) {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(round % 2 == 0 ? "rw-------"
                : "rw-r-----"));
          }
          break;
        default:
          Files.writeString(dir.resolve("appended"), "more " + round + "\n", java.nio.file.StandardOpenOption.CREATE,
              java.nio.file.StandardOpenOption.APPEND);
      }
    };
  }

  void assertMirrors() throws IOException {
    assertThat(Trees.differences(home, work.resolve(BackupLayout.HOME), Trees.Check.MODE, Trees.Check.MTIME))
        .isEmpty();
  }

  @Test
  void every_kind_of_change_is_captured_through_the_journal() throws Exception {
    tree(30, 40);
    Mutation after = (random, n) -> {
      for (int i = 0; i < 60; i++) {
        everything().apply(random, i);
      }
    };

    Artifact a = backup(true, everything(), after);

    assertMirrors();
    assertThat(a.property("capture.journal")).as("the journal was used").matches("\\d+ changes");
    long changes = Long.parseLong(a.property("capture.journal").split(" ")[0]);
    assertThat(changes).isPositive();
    assertThat(Long.parseLong(a.property("capture.entries"))).as("the locked pass touched only what changed")
        .isLessThan(30 * 40);
  }

  @Test
  void every_kind_of_change_is_captured_without_the_journal() throws Exception {
    tree(30, 40);
    Mutation after = (random, n) -> {
      for (int i = 0; i < 60; i++) {
        everything().apply(random, i);
      }
    };

    Artifact a = backup(false, everything(), after);

    assertMirrors();
    assertThat(a.property("capture.journal")).startsWith("not used: copy.journal=false");
  }

  @Test
  void pushes_and_gc_before_the_lock_are_consistent_through_the_journal() throws Exception {
    if (!Git.available()) {
      throw new AssertionError("git is required for this test; run the project's test script, which installs it");
    }
    BitbucketHomes.Home h = BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(2)
        .blobSize(256).filesPerCommit(2));
    home = h.home();
    work = Files.createDirectories(temp.resolve("work"));
    Path clone = temp.resolve("clone");
    Git.run(temp, "clone", "-q", h.repository(h.repositoryIds().get(0)).toString(), clone.toString());
    Mutation push = (random, n) -> {
      Files.writeString(clone.resolve("push-" + n + ".txt"), "push " + n + " " + Instant.now());
      Git.run(clone, "add", "-A");
      Git.run(clone, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "push " + n);
      Git.run(clone, "push", "-q", "origin", "HEAD:master");
      if (n % 3 == 2) {
        Git.run(h.repository(h.repositoryIds().get(0)), "gc", "-q");
      }
    };
    Mutation afterwards = (random, n) -> {
      for (int i = 100; i < 103; i++) {
        push.apply(random, i);
      }
    };

    Artifact a = backup(true, push, afterwards);

    assertThat(a.property("capture.journal")).matches("\\d+ changes");
    Path copied = work.resolve(BackupLayout.HOME).resolve(h.repository(h.repositoryIds().get(0)).toString()
        .substring(home.toString().length() + 1));
    Git.run(copied, "fsck", "--full", "--strict");
    assertThat(Git.run(copied, "rev-parse", "master")).isEqualTo(Git.run(h.repository(h.repositoryIds()
        .get(0)), "rev-parse", "master"));
    assertThat(Trees.differences(h.repository(h.repositoryIds().get(0)), copied, Trees.Check.MODE,
        Trees.Check.MTIME)).isEmpty();
  }

  @Test
  void lost_events_are_detected_and_the_locked_pass_compares_everything() throws Exception {
    tree(5, 10);
    HomeSnapshotter s = snapshotter(true);
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREPARE);
    s.preflight(ctx.in(Phase.PREFLIGHT));
    s.prepare(ctx);
    ChangeJournal.holdDraining(true);
    try {
      // More events on one directory than the JDK keeps for it before it drops them and reports OVERFLOW.
      for (int i = 0; i < 700; i++) {
        Files.writeString(home.resolve("shared/data/d0/burst-" + i), "b" + i);
      }
      Thread.sleep(300);
    } finally {
      ChangeJournal.holdDraining(false);
    }
    Artifact a = s.complete(ctx.in(Phase.COMPLETE), s.capture(ctx.in(Phase.CAPTURE)));
    s.close();

    assertThat(a.property("capture.journal")).startsWith("not used:").contains("dropped change events");
    assertThat(ctx.progress().warnings()).anySatisfy(w -> assertThat(w).contains("compares every entry"));
    assertMirrors();
  }

  @Test
  void the_watch_limit_reached_falls_back_to_comparing_everything() throws Exception {
    tree(40, 2);
    ChangeJournal.watchLimitForTests(10);
    try {
      Artifact a = backup(true, NOTHING, (r, n) -> Files.writeString(home.resolve("shared/data/d39/late"), "x"));
      assertThat(a.property("capture.journal")).startsWith("not used:").contains("watch limit");
    } finally {
      ChangeJournal.watchLimitForTests(Integer.MAX_VALUE);
    }
    assertMirrors();
  }

  @Test
  void network_file_systems_are_never_trusted() {
    for (String fs : List.of("nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", "ceph", "glusterfs")) {
      assertThat(ChangeJournal.trusted(fs)).as(fs).isFalse();
    }
    for (String fs : List.of("ext4", "xfs", "btrfs", "zfs", "tmpfs")) {
      assertThat(ChangeJournal.trusted(fs)).as(fs).isTrue();
    }
  }

  static void deleteTree(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
