package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.simulator.FakeBitbucketServer;
import dev.bbdiy.simulator.Git;
import dev.bbdiy.simulator.Trees;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The mesh provider against three real sshd daemons, each a simulated Mesh node running this build's {@code
 * bbdiy node}, and the Bitbucket simulator: one lock for the cluster and every node.
 */
class MeshSshTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  @TempDir Path temp;

  SshNodes nodes;
  Path config;
  @Nullable Path mounted;

  record Run(int code, String out, String err) {
    String all() {
      return out + err;
    }
  }

  @BeforeEach
  void setUp() throws Exception {
    nodes = new SshNodes(temp.resolve("ssh"), 3);
    BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(2).excludedPaths(false));
    for (SshNodes.Node n : nodes.nodes) {
      BitbucketHomes.generate(n.home(), BitbucketHomes.spec().repositories(2).excludedPaths(false)
          .seed(n.port()));
    }
    Path password = temp.resolve("password");
    Files.writeString(password, "admin\n");
    Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
    config = temp.resolve("bbdiy.properties");
    List<String> lines = new ArrayList<>(List.of(
        "bitbucket.url=" + bitbucket.url(),
        "bitbucket.user=admin",
        "bitbucket.password.file=" + password,
        "instance.home=" + temp.resolve("home"),
        "work.dir=" + temp.resolve("work"),
        "tar.dir=" + temp.resolve("archives"),
        "home.type=mesh"));
    nodes.settings(temp.resolve("nodework"), "copy").forEach((k, v) -> lines.add(k + "=" + v));
    Files.writeString(config, String.join("\n", lines) + "\n");
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (nodes != null) {
      nodes.close();
    }
    if (mounted != null) {
      new ProcessBuilder("umount", "-l", mounted.toString()).inheritIO().start().waitFor();
    }
  }

  Run bbdiy(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--config");
    all.add(config.toString());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), new HashMap<>(), false, all.toArray(new String[0]));
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void three_nodes_are_backed_up_in_one_lock_window_and_verified_as_one_backup() throws Exception {
    Run backup = bbdiy("backup");

    assertThat(backup.code()).as(backup.all()).isZero();
    assertThat(bitbucket.server().lockWindows()).as("one lock for the cluster and every node").hasSize(1);
    for (SshNodes.Node n : nodes.nodes) {
      Path copy = temp.resolve("work/mesh").resolve(n.name()).resolve("bitbucket-home");
      assertThat(Trees.differences(n.home(), copy)).as(n.name()).isEmpty();
      if (Git.available()) {
        Git.run(copy.resolve("shared/data/repositories/1"), "fsck", "--full", "--strict");
      }
    }
    assertThat(nodes.aliveNodeProcesses()).as("every node process ended with the run").isEmpty();
    Run list = bbdiy("list");
    assertThat(list.out().lines().filter(l -> l.contains("bitbucket-"))).hasSize(1);
    Run verify = bbdiy("verify", "latest", "--json");
    assertThat(verify.code()).as(verify.all()).isZero();
    // Every node's files are in the archive and its manifest.
    Path archive;
    try (var s = Files.list(temp.resolve("archives"))) {
      archive = s.filter(p -> p.toString().endsWith(".tar.zst")).findFirst().orElseThrow();
    }
    Process tar = new ProcessBuilder("tar", "--zstd", "-tf", archive.toString()).redirectErrorStream(true).start();
    String entries = new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(tar.waitFor()).isZero();
    for (SshNodes.Node n : nodes.nodes) {
      assertThat(entries).contains("mesh/" + n.name() + "/bitbucket-home/shared/data/repositories/1/");
    }

    // The whole instance: the shared home here, each node's home pushed back over ssh.
    for (SshNodes.Node n : nodes.nodes) {
      Files.move(n.home(), n.home().resolveSibling("home.orig"));
    }
    Run restore = bbdiy("restore", "latest", "--target-home", temp.resolve("restored").toString());
    assertThat(restore.code()).as(restore.all()).isZero();
    assertThat(Trees.differences(temp.resolve("work/bitbucket-home"), temp.resolve("restored"))).isEmpty();
    for (SshNodes.Node n : nodes.nodes) {
      assertThat(Trees.differences(n.home().resolveSibling("home.orig"), n.home())).as(n.name()).isEmpty();
      if (Git.available()) {
        Git.run(n.home().resolve("shared/data/repositories/2"), "fsck", "--full", "--strict");
      }
    }

    // A node whose home is not empty refuses, before anything is extracted anywhere.
    Run again = bbdiy("restore", "latest", "--target-home", temp.resolve("restored2").toString());
    assertThat(again.code()).as(again.all()).isEqualTo(8);
    assertThat(again.err()).contains("not empty", "Mesh node");
    assertThat(temp.resolve("restored2")).doesNotExist();

    // One node alone.
    SshNodes.Node n2 = nodes.nodes.get(1);
    Files.move(n2.home(), n2.home().resolveSibling("home.second"));
    Run one = bbdiy("restore", "latest", "--node", "n2", "--target-home", temp.resolve("scratch").toString());
    assertThat(one.code()).as(one.all()).isZero();
    assertThat(Trees.differences(n2.home().resolveSibling("home.orig"), n2.home())).isEmpty();
    assertThat(nodes.aliveNodeProcesses()).isEmpty();
  }

  @Test
  void a_changed_host_key_stops_the_run_in_preflight_before_the_lock() throws Exception {
    Path other = temp.resolve("other_key");
    SshNodes.keygen(other);
    SshNodes.Node n3 = nodes.nodes.get(2);
    String known = Files.readString(nodes.knownHosts);
    Files.writeString(nodes.knownHosts, known.replace(SshNodes.publicKey(n3.hostKey()), SshNodes.publicKey(other)));

    Run backup = bbdiy("backup");

    assertThat(backup.code()).as(backup.all()).isEqualTo(2);
    assertThat(backup.err()).contains("Mesh node n3", "host key", "CHANGED", "known_hosts");
    assertThat(bitbucket.server().lockWindows()).as("never locked").isEmpty();
    awaitNoNodeProcess();
  }

  @Test
  void a_missing_bbdiy_on_a_node_is_named_in_preflight() throws Exception {
    Run backup = bbdiy("backup", "--set", "mesh.node-command=/nonexistent/bbdiy node");

    assertThat(backup.code()).as(backup.all()).isEqualTo(2);
    assertThat(backup.err()).contains("not installed", "mesh.node-command");
    assertThat(bitbucket.server().lockWindows()).isEmpty();
  }

  @Test
  void a_node_killed_during_capture_aborts_the_run_and_leaves_bitbucket_unlocked() throws Exception {
    // Every part takes 4 s to capture, so the test can kill n2's bbdiy while it captures.
    Thread killer = new Thread(() -> {
      try {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!bitbucket.server().isLocked() && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
        Thread.sleep(1500);
        long pid = nodes.nodePids().get("n2");
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    killer.start();
    Run backup = bbdiy("backup", "--set", "mesh.home-provider=scripted-home", "--set",
        "mesh.home-options=delay-in=capture:4s", "--set", "mesh.nodes=" + nodes.settings(temp.resolve("nodework"),
            "scripted-home").get("mesh.nodes"));
    killer.join();

    assertThat(backup.code()).as(backup.all()).isEqualTo(5);
    assertThat(backup.err()).contains("n2");
    assertThat(bitbucket.server().isLocked()).isFalse();
    assertThat(bitbucket.server().lockWindows()).hasSize(1);
    awaitNoNodeProcess();
    for (String n : List.of("n1", "n3")) {
      assertThat(Files.readString(temp.resolve("nodework").resolve(n).resolve("scripted-calls.log")))
          .as("%s released what it took", n).contains("abort");
    }
    try (var s = Files.list(temp.resolve("archives"))) {
      assertThat(s.filter(p -> p.toString().endsWith(".tar.zst")).toList()).as("no part reported good").isEmpty();
    }
  }

  @Test
  void a_hung_node_is_bounded_by_the_capture_timeout_and_bitbucket_is_unlocked() throws Exception {
    long[] stopped = new long[1];
    Thread freezer = new Thread(() -> {
      try {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!bitbucket.server().isLocked() && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
        stopped[0] = nodes.nodePids().get("n2");
        new ProcessBuilder("kill", "-STOP", Long.toString(stopped[0])).start().waitFor();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    freezer.start();
    Run backup = bbdiy("backup", "--set", "mesh.home-provider=scripted-home", "--set",
        "mesh.home-options=delay-in=capture:1s", "--set", "mesh.capture-timeout=3s", "--set", "mesh.nodes="
            + nodes.settings(temp.resolve("nodework"), "scripted-home").get("mesh.nodes"));
    freezer.join();
    new ProcessBuilder("kill", "-CONT", Long.toString(stopped[0])).start().waitFor();

    assertThat(backup.code()).as(backup.all()).isEqualTo(5);
    assertThat(backup.err()).contains("n2", "did not answer within 3s", "mesh.capture-timeout");
    assertThat(bitbucket.server().isLocked()).isFalse();
    assertThat(bitbucket.server().lockWindows()).hasSize(1);
    assertThat(bitbucket.server().lockWindows().get(0)).as("the hang is bounded").isLessThan(Duration.ofSeconds(10));
    awaitNoNodeProcess();
  }

  @ParameterizedTest(name = "SIGTERM of the coordinator in {0} leaves no node process and Bitbucket unlocked")
  @ValueSource(strings = {"prepare", "capture", "complete"})
  void sigterm_of_the_coordinator_leaves_no_node_process_and_bitbucket_unlocked(String phase) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "--add-opens", "java.base/sun.nio.fs=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
        Main.class.getName(), "backup", "--config", config.toString(), "--set", "mesh.home-provider=scripted-home",
        "--set", "mesh.home-options=delay-in=" + phase + ":20s", "--set", "mesh.nodes=" + nodes.settings(
            temp.resolve("nodework"), "scripted-home").get("mesh.nodes")));
    Process coordinator = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(temp.resolve("coordinator.log").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!inPhase(phase) && System.nanoTime() < deadline && coordinator.isAlive()) {
      Thread.sleep(20);
    }
    assertThat(inPhase(phase)).as(Files.readString(temp.resolve("coordinator.log"))).isTrue();
    Thread.sleep(1000);
    assertThat(nodes.aliveNodeProcesses()).as("every node is in " + phase).hasSize(3);

    coordinator.destroy(); // SIGTERM

    assertThat(coordinator.waitFor(90, TimeUnit.SECONDS)).isTrue();
    assertThat(coordinator.exitValue()).as(Files.readString(temp.resolve("coordinator.log"))).isEqualTo(143);
    assertThat(bitbucket.server().isLocked()).isFalse();
    awaitNoNodeProcess();
    for (String n : List.of("n1", "n2", "n3")) {
      assertThat(Files.readString(temp.resolve("nodework").resolve(n).resolve("scripted-calls.log")))
          .as("%s released what it took", n).contains("abort");
    }
  }

  @Test
  void pushes_on_the_nodes_during_the_live_phase_are_restored_whole_up_to_the_lock() throws Exception {
    assertThat(Git.available()).as("this test needs git (scripts/test.sh installs it)").isTrue();
    // One clone per bare repository of every node's Mesh home; a thread pushes to them round-robin.
    Map<Path, Path> clones = new java.util.LinkedHashMap<>();
    for (SshNodes.Node n : nodes.nodes) {
      for (Path repo : Git.repositories(n.home().resolve("shared/data/repositories"))) {
        Path clone = temp.resolve("clones").resolve(n.name() + "-" + repo.getFileName());
        Files.createDirectories(clone.getParent());
        Git.run(clone.getParent(), "clone", "-q", repo.toString(), clone.toString());
        clones.put(repo, clone);
      }
    }
    assertThat(clones).hasSize(6);
    Map<Path, List<String>> pushed = new java.util.concurrent.ConcurrentHashMap<>();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger pushes = new AtomicInteger();
    ReentrantLock inFlight = new ReentrantLock();
    List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    // Bitbucket drains running pushes before it grants the lock and refuses new ones until the unlock: the
    // simulator's listener runs before the lock is answered, so it waits for the push in flight.
    bitbucket.server().onEvent(e -> {
      if (e.type() == FakeBitbucketServer.EventType.LOCKED) {
        stop.set(true);
        inFlight.lock();
        inFlight.unlock();
      }
    });
    Thread pusher = new Thread(() -> {
      try {
        for (int i = 0; ; i++) {
          for (Map.Entry<Path, Path> c : clones.entrySet()) {
            inFlight.lock();
            try {
              if (stop.get()) {
                return;
              }
              Path clone = c.getValue();
              Files.writeString(clone.resolve("live.txt"), "push " + i + "\n", StandardCharsets.UTF_8);
              Git.run(clone, "add", "live.txt");
              Git.run(clone, "-c", "user.name=Live", "-c", "user.email=live@example.com", "commit", "-q", "-m",
                  "live " + i);
              Git.run(clone, "push", "-q", "origin", "HEAD:refs/heads/live");
              pushed.computeIfAbsent(c.getKey(), k -> new java.util.concurrent.CopyOnWriteArrayList<>())
                  .add(Git.run(clone, "rev-parse", "HEAD").strip());
              pushes.incrementAndGet();
            } finally {
              inFlight.unlock();
            }
          }
        }
      } catch (Throwable t) {
        failures.add(t);
      }
    });
    pusher.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (pushes.get() < clones.size() && System.nanoTime() < deadline && pusher.isAlive()) {
      Thread.sleep(20);
    }
    int beforeBackup = pushes.get();

    Run backup;
    try {
      backup = bbdiy("backup");
    } finally {
      stop.set(true);
      pusher.join(60_000);
    }

    assertThat(failures).as("every push succeeded").isEmpty();
    assertThat(backup.code()).as(backup.all()).isZero();
    assertThat(bitbucket.server().lockWindows()).hasSize(1);
    assertThat(beforeBackup).as("pushes ran before the backup").isGreaterThanOrEqualTo(clones.size());
    assertThat(pushes.get()).as("pushes ran during the backup's live phase").isGreaterThan(beforeBackup);
    awaitNoNodeProcess();

    for (SshNodes.Node n : nodes.nodes) {
      Files.move(n.home(), n.home().resolveSibling("home.orig"));
    }
    Run restore = bbdiy("restore", "latest", "--target-home", temp.resolve("restored").toString());
    assertThat(restore.code()).as(restore.all()).isZero();
    for (SshNodes.Node n : nodes.nodes) {
      List<Path> repos = Git.repositories(n.home().resolve("shared/data/repositories"));
      assertThat(repos).as(n.name()).hasSize(2);
      for (Path repo : repos) {
        assertThat(Git.fsck(repo)).as("git fsck of %s", repo).isEmpty();
        // restored where it was: the pushes were keyed by this path
        List<String> commits = pushed.getOrDefault(repo, List.of());
        assertThat(commits).as("pushes reached %s", repo).isNotEmpty();
        for (String sha : commits) {
          Git.run(repo, "cat-file", "-e", sha + "^{commit}");
        }
        assertThat(Git.run(repo, "rev-parse", "refs/heads/live").strip()).as("%s's live branch", repo)
            .isEqualTo(commits.get(commits.size() - 1));
      }
    }
  }

  @Test
  void a_node_whose_disk_fills_up_fails_the_run_names_the_node_and_disk_and_leaves_nothing() throws Exception {
    // 65 MiB passes preflight (which wants 64 MiB free); n2's Mesh home holds 70 MiB, so its copy fills the disk.
    SshNodes.Node n2 = nodes.nodes.get(1);
    Path small = mountTmpfs(temp.resolve("nodework").resolve(n2.name()), "65m");
    byte[] noise = new byte[70 << 20];
    new java.util.Random(17).nextBytes(noise);
    Files.write(Files.createDirectories(n2.home().resolve("shared/data/attachments")).resolve("large.bin"), noise);
    noise = null;

    Run backup = bbdiy("backup");

    assertThat(backup.code()).as(backup.all()).isNotZero();
    assertThat(backup.err()).as(backup.all()).contains("Mesh node n2", small.toString()).containsIgnoringCase(
        "no space left");
    assertThat(bitbucket.server().isLocked()).as("Bitbucket is left unlocked").isFalse();
    awaitNoNodeProcess();
    assertNothingStored();
    // The copy provider's working copy is a mirror kept for the next pass: whole files of the home only, and the
    // file cut off by the full disk is gone, so the disk is not left full.
    for (SshNodes.Node n : nodes.nodes) {
      Path mirror = temp.resolve("nodework").resolve(n.name()).resolve("bitbucket-home");
      for (Path f : leftovers(temp.resolve("nodework").resolve(n.name()))) {
        assertThat(f).as("%s holds only its mirror", n.name()).startsWith(mirror);
        Path source = n.home().resolve(mirror.relativize(f).toString());
        assertThat(Files.size(f)).as("%s is a whole file", f).isEqualTo(Files.size(source));
      }
    }
    assertThat(Files.getFileStore(small).getUsableSpace()).as("the full disk was freed").isGreaterThan(60L << 20);
  }

  @Test
  void a_node_whose_disk_is_too_small_is_refused_in_preflight_before_the_lock() throws Exception {
    SshNodes.Node n2 = nodes.nodes.get(1);
    Path small = mountTmpfs(temp.resolve("nodework").resolve(n2.name()), "2m");

    Run backup = bbdiy("backup");

    assertThat(backup.code()).as(backup.all()).isEqualTo(2);
    assertThat(backup.err()).contains("Mesh node n2", "preflight", "MiB are free in " + small);
    assertThat(bitbucket.server().lockWindows()).as("never locked").isEmpty();
    awaitNoNodeProcess();
    assertNothingStored();
  }

  @Test
  void a_restore_onto_a_node_whose_disk_fills_up_names_the_node_and_tar_s_reason() throws Exception {
    SshNodes.Node n2 = nodes.nodes.get(1);
    byte[] noise = new byte[3 << 20];
    new java.util.Random(17).nextBytes(noise);
    Files.write(Files.createDirectories(n2.home().resolve("shared/data/attachments")).resolve("large.bin"), noise);
    Run backup = bbdiy("backup");
    assertThat(backup.code()).as(backup.all()).isZero();
    for (SshNodes.Node n : nodes.nodes) {
      Files.move(n.home(), n.home().resolveSibling("home.orig"));
    }
    mountTmpfs(n2.home(), "1m");

    Run restore = bbdiy("restore", "latest", "--target-home", temp.resolve("restored").toString());

    assertThat(restore.code()).as(restore.all()).isNotZero();
    assertThat(restore.err()).as(restore.all()).contains("Mesh node n2", "extracting into " + n2.home(),
        "its file system is full", "remove " + n2.home() + " before retrying")
        .doesNotContain("cut off");
    awaitNoNodeProcess();
  }

  private Path mountTmpfs(Path dir, String size) throws Exception {
    Files.createDirectories(dir);
    Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir.toString())
        .redirectErrorStream(true).start();
    String out = new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(mount.waitFor()).as("this test mounts a tmpfs and needs root: " + out).isZero();
    mounted = dir;
    return dir;
  }

  private void assertNothingStored() throws Exception {
    if (Files.isDirectory(temp.resolve("archives"))) {
      try (var s = Files.list(temp.resolve("archives"))) {
        assertThat(s.filter(p -> p.toString().endsWith(".tar.zst")).toList()).as("nothing stored").isEmpty();
      }
    }
    Run list = bbdiy("list");
    assertThat(list.out().lines().filter(l -> l.contains("bitbucket-"))).as(list.all()).isEmpty();
  }

  /** Returns the files under {@code dir} outside bbdiy's own state directory. */
  private static List<Path> leftovers(Path dir) throws Exception {
    if (!Files.exists(dir)) {
      return List.of();
    }
    try (var s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).filter(p -> !dir.relativize(p).startsWith(".bbdiy")).toList();
    }
  }

  /** Whether the run is in {@code phase}, from the simulator's lock and the node processes. */
  private boolean inPhase(String phase) throws Exception {
    boolean nodesUp = nodes.nodePids().size() == 3;
    // Every node has entered the phase (its scripted provider logs each call): node processes up is not enough,
    // under load a node can still be in preflight and then has nothing to abort.
    for (String n : List.of("n1", "n2", "n3")) {
      Path calls = temp.resolve("nodework").resolve(n).resolve("scripted-calls.log");
      nodesUp &= Files.exists(calls) && Files.readString(calls).contains(phase);
    }
    switch (phase) {
      case "prepare":
        return nodesUp && bitbucket.server().lockWindows().isEmpty() && !bitbucket.server().isLocked();
      case "capture":
        return nodesUp && bitbucket.server().isLocked();
      default:
        return nodesUp && bitbucket.server().lockWindows().size() == 1 && !bitbucket.server().isLocked();
    }
  }

  private void awaitNoNodeProcess() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!nodes.aliveNodeProcesses().isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(nodes.aliveNodeProcesses()).as("no node process is left running").isEmpty();
  }

}
