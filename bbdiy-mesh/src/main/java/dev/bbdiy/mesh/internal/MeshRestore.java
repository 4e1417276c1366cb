package dev.bbdiy.mesh.internal;

import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.kit.Reasons;
import dev.bbdiy.mesh.MeshProvider;
import dev.bbdiy.mesh.NodeSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Restores a mesh backup: the shared home through its provider (the engine extracted it), and each Mesh node's
 * part, which the engine staged ({@link RestoreContext#parts()}), pushed over ssh to the node's configured Mesh
 * home, which the node itself checks is absent or empty. {@code mesh.restore-nodes} limits the nodes restored.
 */
final class MeshRestore {
  private MeshRestore() {}

  /** The nodes this restore pushes to: those of the backup, limited by mesh.restore-nodes, each configured. */
  static List<NodeSpec> nodes(RestoreContext ctx, MeshConfig config) {
    List<NodeSpec> out = new ArrayList<>();
    for (String name : backupNodes(ctx)) {
      if (!config.restoreNodes().isEmpty() && !config.restoreNodes().contains(name)) {
        continue;
      }
      NodeSpec spec = config.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow(
          () -> BbdiyException.configuration("Backup " + ctx.backupId() + " holds Mesh node " + name + ", which"
              + " mesh.nodes does not list: add it (where it is restored to), or leave it out with"
              + " mesh.restore-nodes"));
      out.add(spec);
    }
    for (String asked : config.restoreNodes()) {
      if (!backupNodes(ctx).contains(asked)) {
        throw BbdiyException.configuration("Backup " + ctx.backupId() + " holds no Mesh node " + asked + " (it holds "
            + backupNodes(ctx) + "): check mesh.restore-nodes");
      }
    }
    return out;
  }

  private static List<String> backupNodes(RestoreContext ctx) {
    List<String> names = new ArrayList<>();
    String prefix = BackupLayout.MESH + "/";
    for (String p : ctx.artifact().paths()) {
      if (p.startsWith(prefix) && p.indexOf('/', prefix.length()) < 0) {
        String name = p.substring(prefix.length());
        if (!name.matches("[a-z0-9][a-z0-9-]{0,31}")) {
          throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "Backup " + ctx.backupId() + " names a Mesh node '"
              + Frames.shorten(name) + "' that no configuration could: the manifest was altered");
        }
        names.add(name);
      }
    }
    return names;
  }

  /** Checks on every node, before anything is extracted, that its target is absent or empty. */
  static void preflight(RestoreContext ctx, MeshConfig config) {
    List<Parallel.Task> tasks = new ArrayList<>();
    for (NodeSpec node : nodes(ctx, config)) {
      tasks.add(new Parallel.Task(node.name(), () -> {
        try (NodeSession s = NodeSession.open(node, config, ctx.progress(), ctx.cancellation())) {
          s.call("restore", Map.of("target", node.home().toString(), "check", Boolean.TRUE), config.timeout(),
              ctx.cancellation(), null);
        }
      }));
    }
    Parallel.run(tasks);
  }

  static RestoreOutcome restore(RestoreContext ctx, MeshConfig config, HomeSnapshotter inner) {
    List<NodeSpec> nodes = nodes(ctx, config);
    List<String> checks = new ArrayList<>();
    if (ctx.targetHome() != null) {
      checks.addAll(inner.restore(ctx).checks());
    }
    Map<String, String> done = new ConcurrentHashMap<>();
    List<Parallel.Task> tasks = new ArrayList<>();
    for (NodeSpec node : nodes) {
      Path part = ctx.parts().get(BackupLayout.MESH + "/" + node.name());
      if (part == null || !Files.isDirectory(part.resolve(BackupLayout.HOME), LinkOption.NOFOLLOW_LINKS)) {
        throw BbdiyException.provider(MeshProvider.NAME, "the engine did not extract Mesh node " + node.name()
            + "'s part of the backup", null);
      }
      tasks.add(new Parallel.Task(node.name(), () -> {
        try (NodeSession s = NodeSession.open(node, config, ctx.progress(), ctx.cancellation())) {
          Map<String, Object> answer = push(ctx, config, s, part);
          done.put(node.name(), node.name() + ": " + node.home() + " on " + node.host() + ", "
              + answer.getOrDefault("staleLocksRemoved", 0L) + " stale git locks removed");
        }
      }));
    }
    Parallel.run(tasks);
    for (NodeSpec node : nodes) {
      checks.add("Mesh node " + done.get(node.name()));
    }
    return new RestoreOutcome(String.valueOf(ctx.targetHome()) + (nodes.isEmpty() ? "" : " and Mesh nodes "
        + String.join(", ", nodes.stream().map(NodeSpec::name).toList())), null, checks);
  }

  private static Map<String, Object> push(RestoreContext ctx, MeshConfig config, NodeSession s, Path part) {
    Map<String, Object> ready = s.call("restore", Map.of("target", s.node().home().toString()), config.timeout(),
        ctx.cancellation(), null);
    if (!Boolean.TRUE.equals(ready.get("ready"))) {
      throw BbdiyException.provider(MeshProvider.NAME, "Mesh node " + s.node().name() + " is not ready to restore",
          null);
    }
    Process tar;
    try {
      tar = new ProcessBuilder("tar", "-c", "-f", "-", "-C", part.toString(), "--numeric-owner", "--",
          BackupLayout.HOME).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      throw BbdiyException.configuration("Cannot run tar (" + e.getMessage() + "): apt-get install tar");
    }
    try (InputStream data = tar.getInputStream()) {
      s.stream(data);
      if (!tar.waitFor(1, TimeUnit.MINUTES) || tar.exitValue() != 0) {
        throw BbdiyException.provider(MeshProvider.NAME, "tar could not read " + part, null);
      }
      s.send(Map.of("op", "end"));
    } catch (IOException e) {
      s.kill();
      throw BbdiyException.provider(MeshProvider.NAME, "sending Mesh node " + s.node().name() + "'s part failed: "
          + Reasons.of(e), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      s.kill();
      throw new BbdiyException(ErrorCode.INTERRUPTED, "Interrupted while restoring Mesh node " + s.node().name());
    } finally {
      tar.destroyForcibly();
    }
    return s.await("restore", config.timeout(), ctx.cancellation());
  }
}
