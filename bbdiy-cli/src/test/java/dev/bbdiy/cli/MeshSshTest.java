package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.simulator.BitbucketHomes;
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
  void tearDown() {
    if (nodes != null) {
      nodes.close();
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
    // Every node's provider is inside the phase (it logs the call before its delay): under load, a node's
    // session can be up well before its request arrives, and a node that took nothing has nothing to abort.
    while (!List.of("n1", "n2", "n3").stream().allMatch(n -> calledIn(n, phase)) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(List.of("n1", "n2", "n3")).as("every node's provider is in " + phase)
        .allMatch(n -> calledIn(n, phase));
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

  /** Whether node {@code n}'s scripted provider was called in {@code phase}. */
  private boolean calledIn(String n, String phase) {
    Path log = temp.resolve("nodework").resolve(n).resolve("scripted-calls.log");
    try {
      return Files.exists(log) && Files.readString(log).lines().anyMatch(l -> l.endsWith(" " + phase));
    } catch (java.io.IOException e) {
      return false;
    }
  }

  /** Whether the run is in {@code phase}, from the simulator's lock and the node processes. */
  private boolean inPhase(String phase) throws Exception {
    boolean nodesUp = nodes.nodePids().size() == 3;
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
