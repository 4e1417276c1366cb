package dev.bbdiy.mesh.internal;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.kit.Cancellations;
import dev.bbdiy.kit.PrivateFiles;
import dev.bbdiy.kit.Reasons;
import dev.bbdiy.mesh.MeshProvider;
import dev.bbdiy.mesh.NodeSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * One mesh run on the coordinator: the shared home through its own provider, and one {@link NodeSession} per
 * Mesh node, each phase fanned out on one thread per node.
 */
public final class MeshSnapshotter implements HomeSnapshotter {
  /** The top directory of the nodes' parts in the backup layout: {@code mesh/<node>/}. */
  public static final String MESH_DIR = BackupLayout.MESH;

  private final MeshConfig config;
  private final HomeSnapshotter inner;
  private final String innerName;
  private final Map<String, NodeSession> sessions = new ConcurrentHashMap<>();
  private final Map<String, String> timings = new ConcurrentHashMap<>();

  public MeshSnapshotter(ProviderContext context, MeshConfig config, HomeSnapshotterProvider innerProvider) {
    this.config = config;
    this.innerName = innerProvider.name();
    Map<String, String> prefixed = new LinkedHashMap<>();
    config.homeOptions().forEach((k, v) -> prefixed.put(innerName + "." + k, v));
    Settings innerSettings = Settings.of(innerName, innerProvider.settings(), prefixed);
    this.inner = innerProvider.create(new ProviderContext() {
      @Override
      public Settings settings() {
        return innerSettings;
      }

      @Override
      public dev.bbdiy.api.BitbucketInstance instance() {
        return context.instance();
      }

      @Override
      public Path workDir() {
        return context.workDir();
      }

      @Override
      public Path stateDirectory() {
        Path dir = context.stateDirectory().resolve("home-" + innerName);
        try {
          return PrivateFiles.createPrivateDirectories(dir);
        } catch (IOException e) {
          throw BbdiyException.provider(MeshProvider.NAME, "cannot create " + dir + ": " + Reasons.of(e), e);
        }
      }

      @Override
      public String toolVersion() {
        return context.toolVersion();
      }
    });
  }

  @Override
  public void preflight(RunContext ctx) {
    List<Parallel.Task> tasks = new ArrayList<>();
    tasks.add(new Parallel.Task("shared home", () -> inner.preflight(ctx)));
    for (NodeSpec node : config.nodes()) {
      tasks.add(new Parallel.Task(node.name(), () -> {
        long t0 = System.nanoTime();
        NodeSession s = NodeSession.open(node, config, ctx.progress(), ctx.cancellation());
        NodeSession old = sessions.put(node.name(), s);
        if (old != null) {
          old.kill();
        }
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("backupId", ctx.backupId().value());
        req.put("node", node.name());
        req.put("home", node.home().toString());
        req.put("provider", node.provider());
        req.put("settings", config.homeOptions());
        req.put("workDir", config.nodeWorkDir().resolve(node.name()).toString());
        s.call("preflight", req, config.timeout(), ctx.cancellation(), null);
        timed(node, "preflight", t0);
      }));
    }
    Parallel.run(tasks);
  }

  @Override
  public void prepare(RunContext ctx) {
    fanOut(ctx, "prepare", config.timeout(), () -> inner.prepare(ctx));
  }

  @Override
  public CaptureHandle capture(RunContext ctx) {
    CaptureHandle[] innerHandle = new CaptureHandle[1];
    fanOut(ctx, "capture", config.captureTimeout(), () -> innerHandle[0] = inner.capture(ctx));
    return new Handle(innerHandle[0] == null ? CaptureHandle.NONE : innerHandle[0]);
  }

  /** Holds the shared home's handle. */
  private record Handle(CaptureHandle inner) implements CaptureHandle {
    @Override
    public void close() {
      inner.close();
    }
  }

  /**
   * Runs {@code op} on every node and {@code local} on the shared home, in parallel. The first failure closes
   * every node's session at once (each node then aborts what it took), so that no part goes on working, or
   * holding the lock, for a run that has already failed; that failure is the one reported.
   */
  private void fanOut(RunContext ctx, String op, Duration timeout, Runnable local) {
    AtomicReference<RuntimeException> root = new AtomicReference<>();
    List<Parallel.Task> tasks = new ArrayList<>();
    tasks.add(new Parallel.Task("shared home", () -> failFast(root, local)));
    for (NodeSpec node : config.nodes()) {
      tasks.add(new Parallel.Task(node.name(), () -> failFast(root, () -> {
        long t0 = System.nanoTime();
        session(node).call(op, Map.of(), timeout, ctx.cancellation(), null);
        timed(node, op, t0);
      })));
    }
    try {
      Parallel.run(tasks);
    } catch (RuntimeException e) {
      RuntimeException first = root.get();
      if (first != null && first != e) {
        throw first;
      }
      throw e;
    }
  }

  private void failFast(AtomicReference<RuntimeException> root, Runnable body) {
    try {
      body.run();
    } catch (RuntimeException e) {
      if (root.compareAndSet(null, e)) {
        sessions.values().forEach(NodeSession::kill);
      }
      throw e;
    }
  }

  private NodeSession session(NodeSpec node) {
    NodeSession s = sessions.get(node.name());
    if (s == null) {
      throw BbdiyException.provider(MeshProvider.NAME, "Mesh node " + node.name() + " has no session: preflight"
          + " did not run", null);
    }
    return s;
  }

  private void timed(NodeSpec node, String op, long t0) {
    timings.put("mesh.node." + node.name() + "." + op + "-ms",
        Long.toString(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)));
  }

  @Override
  public Artifact complete(RunContext ctx, CaptureHandle capture) {
    CaptureHandle innerHandle = capture instanceof Handle ? ((Handle) capture).inner() : CaptureHandle.NONE;
    Artifact[] shared = new Artifact[1];
    Map<String, Map<String, Object>> parts = new ConcurrentHashMap<>();
    List<Parallel.Task> tasks = new ArrayList<>();
    tasks.add(new Parallel.Task("shared home", () -> shared[0] = inner.complete(ctx, innerHandle)));
    for (NodeSpec node : config.nodes()) {
      tasks.add(new Parallel.Task(node.name(), () -> {
        long t0 = System.nanoTime();
        NodeSession s = session(node);
        Map<String, Object> done = s.call("complete", Map.of(), config.timeout(), ctx.cancellation(), null);
        List<String> paths = checkedPaths(node, Json.stringList(done, "paths"));
        timed(node, "complete", t0);
        long t1 = System.nanoTime();
        fetch(ctx, s, ctx.workDir().resolve(MESH_DIR).resolve(node.name()));
        timed(node, "transfer", t1);
        parts.put(node.name(), Map.of("paths", paths, "properties", Json.stringMap(done, "properties")));
      }));
    }
    Parallel.run(tasks);
    Artifact a = java.util.Objects.requireNonNull(shared[0], "shared artifact");
    List<String> paths = new ArrayList<>(a.paths());
    Map<String, String> props = new TreeMap<>(a.properties());
    props.put("mesh.home-provider", innerName);
    List<String> specs = new ArrayList<>();
    for (NodeSpec node : config.nodes()) {
      specs.add(node.toString());
      paths.add(MESH_DIR + "/" + node.name());
      Map<String, Object> part = parts.get(node.name());
      props.put("mesh.node." + node.name() + ".paths", String.join(",", Json.stringList(
          java.util.Objects.requireNonNull(part), "paths")));
      Json.stringMap(part, "properties").forEach((k, v) -> props.put("mesh.node." + node.name() + "." + k, v));
    }
    props.put("mesh.nodes", String.join(",", specs));
    props.putAll(timings);
    return new Artifact(MeshProvider.NAME, Artifact.Kind.HOME, paths, props);
  }

  /** A node's artifact lists parts of the layout; anything else (absolute, '..', elsewhere) is refused. */
  private static List<String> checkedPaths(NodeSpec node, List<String> paths) {
    List<String> out = new ArrayList<>();
    for (String p : paths) {
      String n;
      try {
        n = ExtractionPlan.normalize(p);
      } catch (BbdiyException e) {
        throw BbdiyException.provider(MeshProvider.NAME, "Mesh node " + node.name() + " reported an unsafe path "
            + Frames.shorten(p), e);
      }
      if (!n.equals(BackupLayout.HOME) && !n.startsWith(BackupLayout.DATA_STORES + "/")) {
        throw BbdiyException.provider(MeshProvider.NAME, "Mesh node " + node.name() + " reported " + Frames.shorten(p)
            + ", which is not part of a home's layout", null);
      }
      out.add(n);
    }
    if (out.isEmpty()) {
      throw BbdiyException.provider(MeshProvider.NAME, "Mesh node " + node.name() + " reported no files: its home"
          + " provider must copy files (copy, rsync)", null);
    }
    return out;
  }

  /**
   * Receives the node's part as a tar stream and extracts it, with GNU tar, into a fresh {@code target}. The stream
   * comes from another machine: GNU tar refuses member names with {@code ..}, strips leading slashes and defers
   * symbolic links that point outside until the end, and {@code --keep-old-files} makes it refuse any member that
   * would replace a file already there (a name given twice, or a file reached through a link).
   */
  private void fetch(RunContext ctx, NodeSession s, Path target) {
    try {
      PrivateFiles.deleteTree(target);
      PrivateFiles.createPrivateDirectories(target);
    } catch (IOException e) {
      throw BbdiyException.provider(MeshProvider.NAME, "cannot prepare " + target + ": " + Reasons.of(e), e);
    }
    Process tar;
    try {
      tar = new ProcessBuilder("tar", "-x", "-f", "-", "-C", target.toString(), "--numeric-owner",
          "--keep-old-files")
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw BbdiyException.configuration("Cannot run tar to receive the Mesh nodes' parts (" + e.getMessage()
          + "): apt-get install tar");
    }
    try (OutputStream sink = tar.getOutputStream()) {
      s.call("send", Map.of(), config.timeout(), ctx.cancellation(), sink);
    } catch (IOException e) {
      tar.destroyForcibly();
      throw BbdiyException.provider(MeshProvider.NAME, "receiving Mesh node " + s.node().name() + "'s part failed: "
          + Reasons.of(e), e);
    } catch (RuntimeException e) {
      tar.destroyForcibly();
      throw e;
    }
    try {
      if (!tar.waitFor(5, TimeUnit.MINUTES) || tar.exitValue() != 0) {
        tar.destroyForcibly();
        throw BbdiyException.provider(MeshProvider.NAME, "tar could not extract Mesh node " + s.node().name()
            + "'s part into " + target, null);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      tar.destroyForcibly();
      throw new BbdiyException(ErrorCode.INTERRUPTED, "Interrupted while receiving Mesh node " + s.node().name());
    }
  }

  @Override
  public void abort(RunContext ctx, @Nullable CaptureHandle capture) {
    CaptureHandle innerHandle = capture instanceof Handle ? ((Handle) capture).inner() : null;
    List<Parallel.Task> tasks = new ArrayList<>();
    tasks.add(new Parallel.Task("shared home", () -> inner.abort(ctx, innerHandle)));
    for (NodeSession s : sessions.values()) {
      tasks.add(new Parallel.Task(s.node().name(), () -> {
        if (s.alive()) {
          s.call("abort", Map.of(), Duration.ofMinutes(2), Cancellations.none(), null);
        }
        // a dead session's node aborted when its input ended
      }));
    }
    Parallel.run(tasks);
  }

  @Override
  public RestoreOutcome restore(RestoreContext ctx) {
    return MeshRestore.restore(ctx, config, inner);
  }

  @Override
  public void preflightRestore(RestoreContext ctx) {
    inner.preflightRestore(ctx);
    MeshRestore.preflight(ctx, config);
  }

  @Override
  public void close() {
    List<Parallel.Task> tasks = new ArrayList<>();
    for (NodeSession s : sessions.values()) {
      tasks.add(new Parallel.Task(s.node().name(), s::close));
    }
    try {
      Parallel.run(tasks);
    } catch (RuntimeException ignored) {
      // close must not throw; each session ended its process
    }
    sessions.clear();
    inner.close();
  }
}
