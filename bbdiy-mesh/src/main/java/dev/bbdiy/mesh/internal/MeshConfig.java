package dev.bbdiy.mesh.internal;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.mesh.MeshProvider;
import dev.bbdiy.mesh.NodeSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The validated settings of a mesh run.
 *
 * @param nodes the Mesh nodes
 * @param homeProvider the provider of the shared home
 * @param homeOptions settings for the home providers, without prefix
 * @param ssh the ssh client and the arguments that precede the destination
 * @param nodeCommand the remote command
 * @param nodeWorkDir the parent of each node's working directory
 * @param connectTimeout the bound of connecting plus hello
 * @param captureTimeout the bound of a capture
 * @param timeout the bound of every other call
 * @param restoreNodes the nodes a restore pushes to; empty: every node of the backup
 */
public record MeshConfig(List<NodeSpec> nodes, String homeProvider, Map<String, String> homeOptions,
    List<String> ssh, String nodeCommand, Path nodeWorkDir, Duration connectTimeout, Duration captureTimeout,
    Duration timeout, List<String> restoreNodes) {

  private static List<String> restoreNodes(Settings s, List<NodeSpec> nodes) {
    List<String> out = new ArrayList<>();
    for (String name : s.list(MeshProvider.RESTORE_NODES)) {
      if (nodes.stream().noneMatch(n -> n.name().equals(name))) {
        throw BbdiyException.configuration("mesh.restore-nodes names '" + name + "', which mesh.nodes does not"
            + " list");
      }
      out.add(name);
    }
    return List.copyOf(out);
  }

  /** Reads and checks the settings. */
  public static MeshConfig from(Settings s) {
    List<NodeSpec> nodes = NodeSpec.parseAll(s.string(MeshProvider.NODES));
    Map<String, String> options = new LinkedHashMap<>();
    for (String kv : s.list(MeshProvider.HOME_OPTIONS)) {
      int eq = kv.indexOf('=');
      if (eq <= 0 || !kv.substring(0, eq).matches("[a-z][a-z0-9.-]*")) {
        throw BbdiyException.configuration("mesh.home-options entry '" + kv + "' is not key=value (e.g."
            + " journal=false)");
      }
      options.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    List<String> ssh = new ArrayList<>();
    ssh.add(s.string(MeshProvider.SSH).strip());
    for (String arg : s.string(MeshProvider.SSH_OPTIONS).strip().split("\\s+")) {
      if (arg.isEmpty()) {
        continue;
      }
      String lower = arg.toLowerCase(Locale.ROOT);
      if (lower.contains("stricthostkeychecking") || lower.contains("knownhostscommand")
          || lower.contains("knownhostsfile") && lower.contains("/dev/null") || lower.contains("batchmode")) {
        throw BbdiyException.configuration("mesh.ssh-options must not change host key checking or batch mode ("
            + arg + "): bbdiy always runs ssh with BatchMode=yes and StrictHostKeyChecking=yes. Put the nodes'"
            + " host keys in known_hosts (ssh-keyscan, checked with each node's administrator) instead.");
      }
      ssh.add(arg);
    }
    String command = s.string(MeshProvider.NODE_COMMAND).strip();
    if (command.isEmpty() || command.chars().anyMatch(c -> c < 0x20)) {
      throw BbdiyException.configuration("mesh.node-command must be one line, e.g. 'bbdiy node'");
    }
    String dir = s.string(MeshProvider.NODE_WORK_DIR).strip();
    Path workDir = Path.of(dir);
    if (!workDir.isAbsolute() || !workDir.normalize().toString().equals(dir) || dir.equals("/")) {
      throw BbdiyException.configuration("mesh.node-work-dir must be an absolute, normalized path other than /,"
          + " not '" + dir + "'");
    }
    return new MeshConfig(nodes, s.string(MeshProvider.HOME_PROVIDER).strip(), Map.copyOf(options), List.copyOf(ssh),
        command, workDir, s.duration(MeshProvider.CONNECT_TIMEOUT), s.duration(MeshProvider.CAPTURE_TIMEOUT),
        s.duration(MeshProvider.TIMEOUT), restoreNodes(s, nodes));
  }
}
