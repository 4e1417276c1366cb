package dev.bbdiy.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Real OpenSSH daemons for mesh tests: one {@code /usr/sbin/sshd} per simulated Mesh node on a free loopback
 * port, each with its own host key and home, all accepting one test client key; a known_hosts file with their
 * keys; a node command that runs this build's {@code bbdiy node} and records its pid.
 */
final class SshNodes implements AutoCloseable {
  final Path dir;
  final Path clientKey;
  final Path knownHosts;
  final Path nodeCommand;
  final Path pids;
  final List<Node> nodes = new ArrayList<>();

  /** One daemon. */
  record Node(String name, int port, Path home, Path hostKey, Process sshd) {}

  SshNodes(Path dir, int count) throws Exception {
    this.dir = Files.createDirectories(dir);
    if (!Files.isExecutable(Path.of("/usr/sbin/sshd"))) {
      throw new AssertionError("these tests need OpenSSH's sshd: apt-get install openssh-server (scripts/test.sh"
          + " installs it)");
    }
    Files.createDirectories(Path.of("/run/sshd")); // sshd's privilege separation directory
    clientKey = dir.resolve("client_key");
    keygen(clientKey);
    knownHosts = dir.resolve("known_hosts");
    pids = Files.createDirectories(dir.resolve("pids"));
    nodeCommand = dir.resolve("bbdiy-node");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Files.writeString(nodeCommand, "#!/bin/sh\necho $$ > '" + pids + "'/\"$MESH_NODE\"\nexec '" + java
        + "' -Xmx192m -XX:TieredStopAtLevel=1 --add-opens java.base/sun.nio.fs=ALL-UNNAMED -cp '"
        + System.getProperty("java.class.path") + "' " + Main.class.getName() + " node\n");
    Files.setPosixFilePermissions(nodeCommand, PosixFilePermissions.fromString("rwx------"));
    StringBuilder known = new StringBuilder();
    for (int i = 1; i <= count; i++) {
      String name = "n" + i;
      Path nodeDir = Files.createDirectories(dir.resolve(name));
      Path hostKey = nodeDir.resolve("host_key");
      keygen(hostKey);
      int port;
      try (ServerSocket s = new ServerSocket(0)) {
        port = s.getLocalPort();
      }
      Path config = nodeDir.resolve("sshd_config");
      Files.writeString(config, String.join("\n",
          "Port " + port, "ListenAddress 127.0.0.1", "HostKey " + hostKey, "PidFile " + nodeDir.resolve("sshd.pid"),
          "AuthorizedKeysFile " + clientKey + ".pub", "StrictModes no", "PasswordAuthentication no",
          "KbdInteractiveAuthentication no", "UsePAM no", "PermitRootLogin prohibit-password",
          "SetEnv MESH_NODE=" + name, "LogLevel ERROR", ""));
      Process sshd = new ProcessBuilder("/usr/sbin/sshd", "-D", "-e", "-f", config.toString())
          .redirectErrorStream(true).redirectOutput(nodeDir.resolve("sshd.log").toFile()).start();
      awaitPort(port, sshd, nodeDir);
      known.append("[127.0.0.1]:").append(port).append(' ').append(publicKey(hostKey)).append('\n');
      nodes.add(new Node(name, port, Files.createDirectories(nodeDir.resolve("home")), hostKey, sshd));
    }
    Files.writeString(knownHosts, known.toString());
  }

  static void keygen(Path key) throws Exception {
    Process p = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bbdiy-test", "-f",
        key.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new AssertionError("ssh-keygen failed: " + out);
    }
  }

  static String publicKey(Path key) throws IOException {
    String[] parts = Files.readString(Path.of(key + ".pub")).strip().split(" ");
    return parts[0] + " " + parts[1];
  }

  private static void awaitPort(int port, Process sshd, Path nodeDir) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (!sshd.isAlive()) {
        throw new AssertionError("sshd exited: " + Files.readString(nodeDir.resolve("sshd.log")));
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException e) {
        Thread.sleep(50);
      }
    }
    throw new AssertionError("sshd did not listen on " + port);
  }

  /** Returns the mesh.* settings that reach these nodes. */
  Map<String, String> settings(Path nodeWorkDir, String provider) {
    List<String> specs = new ArrayList<>();
    for (Node n : nodes) {
      specs.add(n.name() + "=root@127.0.0.1:" + n.port() + ":" + n.home() + ":" + provider);
    }
    return Map.of(
        "mesh.nodes", String.join(",", specs),
        "mesh.ssh-options", "-i " + clientKey + " -o IdentitiesOnly=yes -o UserKnownHostsFile=" + knownHosts
            + " -o GlobalKnownHostsFile=" + knownHosts,
        "mesh.node-command", nodeCommand.toString(),
        "mesh.node-work-dir", nodeWorkDir.toString());
  }

  /** Returns the pids the node command recorded, by node name. */
  Map<String, Long> nodePids() throws IOException {
    Map<String, Long> out = new java.util.TreeMap<>();
    try (var s = Files.list(pids)) {
      for (Path p : s.toList()) {
        String pid = Files.readString(p).strip();
        if (!pid.isEmpty()) { // empty while the node command is still writing it
          out.put(p.getFileName().toString(), Long.parseLong(pid));
        }
      }
    }
    return out;
  }

  /** Returns whether any recorded node process is still alive. */
  List<String> aliveNodeProcesses() throws IOException {
    List<String> alive = new ArrayList<>();
    for (Map.Entry<String, Long> e : nodePids().entrySet()) {
      if (ProcessHandle.of(e.getValue()).map(ProcessHandle::isAlive).orElse(false)) {
        alive.add(e.getKey() + " (pid " + e.getValue() + ")");
      }
    }
    return alive;
  }

  @Override
  public void close() {
    for (Node n : nodes) {
      n.sshd().destroy();
    }
    for (Node n : nodes) {
      try {
        n.sshd().waitFor(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      n.sshd().destroyForcibly();
    }
  }
}
