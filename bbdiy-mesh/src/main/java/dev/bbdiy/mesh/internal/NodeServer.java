package dev.bbdiy.mesh.internal;

import dev.bbdiy.kit.Cancellations;
import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.kit.GitLockFiles;
import dev.bbdiy.kit.PrivateFiles;
import dev.bbdiy.kit.Reasons;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/** The node's end of the protocol: one request at a time, the home provider's phases, abort on end of input. */
public final class NodeServer {
  private static final Map<String, Object> EOF = Map.of("eof", Boolean.TRUE);

  private final Function<String, HomeSnapshotterProvider> providers;
  private final String toolVersion;
  private final Frames.In in;
  private final Frames.Out out;
  private final Cancellations.Source signal = Cancellations.source(); // cancelled when the session ends
  private final LinkedBlockingQueue<Map<String, Object>> requests = new LinkedBlockingQueue<>();
  private volatile @Nullable OutputStream sink;
  private @Nullable HomeSnapshotter snapshotter;
  private NodeContexts.@Nullable Provider context;
  private @Nullable CaptureHandle handle;
  private @Nullable List<String> paths;
  private @Nullable BackupId backupId;
  private boolean completed;
  private boolean aborted;

  public NodeServer(Function<String, HomeSnapshotterProvider> providers, String toolVersion, Frames.In in,
      Frames.Out out) {
    this.providers = providers;
    this.toolVersion = toolVersion;
    this.in = in;
    this.out = out;
  }

  /** Serves until {@code bye} (returns 0) or the end of the input (aborts, returns 3). */
  public int serve() {
    Thread reader = new Thread(this::readLoop, "bbdiy-node-input");
    reader.setDaemon(true);
    reader.start();
    try {
      while (true) {
        Map<String, Object> req;
        try {
          req = requests.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          req = EOF;
        }
        if (req == EOF) {
          abortQuietly();
          return 3;
        }
        String op = String.valueOf(req.get("op"));
        if (op.equals("bye")) {
          return 0;
        }
        Object id = req.getOrDefault("id", 0L);
        try {
          Map<String, Object> data = handle(op, req);
          answer(Map.of("ok", Boolean.TRUE, "id", id, "data", data));
        } catch (BbdiyException e) {
          answer(error(id, e.code(), e.getMessage()));
        } catch (RuntimeException e) {
          answer(error(id, ErrorCode.PROVIDER_FAILED, e.toString()));
        }
        if (signal.isCancelled()) {
          abortQuietly();
          return 3;
        }
      }
    } finally {
      HomeSnapshotter s = snapshotter;
      if (s != null) {
        closeHandle();
        s.close();
      }
    }
  }

  private static Map<String, Object> error(Object id, ErrorCode code, @Nullable String message) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("code", code.name());
    e.put("message", message == null ? "" : message);
    return Map.of("ok", Boolean.FALSE, "id", id, "error", e);
  }

  private void answer(Map<String, Object> m) {
    try {
      out.writeObject(m);
    } catch (IOException e) {
      signal.cancel("the coordinator's session is gone (" + e.getMessage() + ")");
    }
  }

  private void readLoop() {
    try {
      Map<String, Object> m;
      while ((m = in.readObject()) != null) {
        Object chunk = m.get("chunk");
        if (chunk instanceof Long) {
          OutputStream s = sink;
          if (s == null) {
            throw new IOException("data came that was not asked for");
          }
          in.readChunk((Long) chunk, s);
        } else {
          requests.add(m);
        }
      }
    } catch (IOException | RuntimeException e) {
      // a broken session is the end of the input
    }
    signal.cancel("the coordinator's session ended");
    requests.add(EOF);
  }

  private Map<String, Object> handle(String op, Map<String, Object> req) {
    switch (op) {
      case "hello":
        return Map.of("protocol", (long) NodeSession.PROTOCOL, "version", toolVersion);
      case "preflight":
        return preflight(req);
      case "prepare":
        snapshotter().prepare(context().run(Phase.PREPARE, id(), signal, out));
        return Map.of();
      case "capture":
        handle = snapshotter().capture(context().run(Phase.CAPTURE, id(), signal, out));
        return Map.of();
      case "complete":
        return complete();
      case "send":
        return send();
      case "abort":
        abortQuietly();
        return Map.of();
      case "restore":
        return restore(req);
      case "end":
        throw new BbdiyException(ErrorCode.USAGE, "'end' outside a restore");
      default:
        throw new BbdiyException(ErrorCode.USAGE, "unknown request '" + Frames.shorten(op) + "'");
    }
  }

  private BackupId id() {
    BackupId b = backupId;
    if (b == null) {
      throw new BbdiyException(ErrorCode.USAGE, "preflight first");
    }
    return b;
  }

  private HomeSnapshotter snapshotter() {
    HomeSnapshotter s = snapshotter;
    if (s == null) {
      throw new BbdiyException(ErrorCode.USAGE, "preflight first");
    }
    return s;
  }

  private NodeContexts.Provider context() {
    NodeContexts.Provider c = context;
    if (c == null) {
      throw new BbdiyException(ErrorCode.USAGE, "preflight first");
    }
    return c;
  }

  private Map<String, Object> preflight(Map<String, Object> req) {
    if (snapshotter != null) {
      throw new BbdiyException(ErrorCode.USAGE, "preflight was already run in this session");
    }
    String node = Json.string(req, "node");
    BackupId id = BackupId.parse(Json.string(req, "backupId")).orElseThrow(
        () -> new BbdiyException(ErrorCode.USAGE, "bad backup id"));
    Path home = absolute(Json.string(req, "home"), "home");
    Path workDir = absolute(Json.string(req, "workDir"), "workDir");
    if (workDir.startsWith(home) || home.startsWith(workDir)) {
      throw BbdiyException.configuration("the node's working directory " + workDir + " and its Mesh home " + home
          + " must not contain each other: set mesh.node-work-dir elsewhere");
    }
    if (!Files.isDirectory(home)) {
      throw BbdiyException.configuration("the Mesh home " + home + " on node " + node + " is not a directory:"
          + " check mesh.nodes");
    }
    HomeSnapshotterProvider provider = providers.apply(Json.string(req, "provider"));
    Map<String, String> prefixed = new LinkedHashMap<>();
    Json.stringMap(req, "settings").forEach((k, v) -> prefixed.put(provider.name() + "." + k, v));
    Settings settings = Settings.of(provider.name(), provider.settings(), prefixed);
    try {
      PrivateFiles.createPrivateDirectories(workDir);
    } catch (IOException e) {
      throw BbdiyException.configuration("cannot create the node's working directory " + workDir + ": "
          + Reasons.of(e) + "; set mesh.node-work-dir to a directory the SSH user may write");
    }
    BitbucketInstance instance = new BitbucketInstance(id.instanceName(), InstanceType.MESH, home, List.of(),
        List.of(), -1, -1);
    NodeContexts.Provider ctx = new NodeContexts.Provider(settings, instance, workDir, provider.name(), toolVersion);
    context = ctx;
    backupId = id;
    snapshotter = provider.create(ctx);
    snapshotter().preflight(ctx.run(Phase.PREFLIGHT, id, signal, out));
    return Map.of();
  }

  private static Path absolute(String text, String what) {
    Path p = Path.of(text);
    if (!p.isAbsolute() || !p.normalize().toString().equals(text) || text.equals("/")
        || text.chars().anyMatch(c -> c < 0x20)) {
      throw new BbdiyException(ErrorCode.USAGE, what + " must be an absolute, normalized path other than /");
    }
    return p;
  }

  private Map<String, Object> complete() {
    CaptureHandle h = handle;
    if (h == null) {
      throw new BbdiyException(ErrorCode.USAGE, "capture first");
    }
    Artifact a = snapshotter().complete(context().run(Phase.COMPLETE, id(), signal, out), h);
    closeHandle();
    completed = true;
    paths = a.paths();
    return Map.of("paths", a.paths(), "properties", a.properties());
  }

  private Map<String, Object> send() {
    List<String> p = paths;
    if (p == null || !completed) {
      throw new BbdiyException(ErrorCode.USAGE, "complete first");
    }
    List<String> cmd = new java.util.ArrayList<>(List.of("tar", "-c", "-f", "-", "-C",
        context().workDir().toString(), "--numeric-owner", "--"));
    cmd.addAll(p);
    Process tar = start(cmd, null);
    try (InputStream data = tar.getInputStream()) {
      out.copyFrom(data);
      return Map.of("exit", (long) finish(tar, "tar -c"));
    } catch (IOException e) {
      tar.destroyForcibly();
      throw BbdiyException.provider("mesh", "sending the part failed: " + Reasons.of(e), e);
    }
  }

  /**
   * Restores this node's part: {@code target} must be absent or empty (checked here, on the node); the
   * coordinator then streams the part's tar, which is extracted into it.
   */
  private Map<String, Object> restore(Map<String, Object> req) {
    Path target = absolute(Json.string(req, "target"), "target");
    try {
      if (Files.isSymbolicLink(target) || !PrivateFiles.isAbsentOrEmpty(target)) {
        throw BbdiyException.refused("Restore target " + target + " on this Mesh node is not empty. A restore"
            + " never overwrites: move the old home away, or restore elsewhere");
      }
      if (Boolean.TRUE.equals(req.get("check"))) {
        return Map.of();
      }
      Files.createDirectories(target);
    } catch (IOException e) {
      throw BbdiyException.refused("Cannot check or create restore target " + target + ": " + Reasons.of(e));
    }
    if (Files.isSymbolicLink(target) || !Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
      throw BbdiyException.refused("Restore target " + target + " is not a directory");
    }
    Process tar;
    try {
      tar = new ProcessBuilder("tar", "-x", "-f", "-", "-C", target.toString(), "--numeric-owner",
          "--strip-components=1", "--keep-old-files", "--", "bitbucket-home").redirectErrorStream(false).start();
    } catch (IOException e) {
      throw BbdiyException.configuration("cannot run tar on the node (" + e.getMessage() + "): apt-get install tar");
    }
    StringBuilder tarErrors = new StringBuilder();
    Thread errors = new Thread(() -> collect(tar, tarErrors), "bbdiy-node-tar-stderr");
    errors.setDaemon(true);
    errors.start();
    OutputStream stdin = tar.getOutputStream();
    sink = stdin;
    answer(Map.of("ok", Boolean.TRUE, "id", req.getOrDefault("id", 0L), "data", Map.of("ready", Boolean.TRUE)));
    Map<String, Object> end;
    try {
      end = requests.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      end = EOF;
    } finally {
      sink = null;
    }
    try {
      stdin.close();
    } catch (IOException ignored) {
      // tar's exit code says whether it got everything
    }
    if (end == EOF || !"end".equals(end.get("op"))) {
      String failed = tarFailure(tar, errors, tarErrors);
      tar.destroyForcibly();
      requests.add(EOF);
      throw BbdiyException.provider("mesh", failed.isEmpty() ? "the restore stream was cut off; " + target
          + " is incomplete: remove it before retrying" : extractFailed(target, failed), null);
    }
    try {
      finish(tar, "tar -x");
    } catch (BbdiyException e) {
      throw BbdiyException.provider("mesh", extractFailed(target, tarFailure(tar, errors, tarErrors)), e);
    }
    int removed = GitLockFiles.removeStale(target, NodeContexts.reporter(out));
    return Map.of("target", target.toString(), "staleLocksRemoved", (long) removed);
  }

  private static Process start(List<String> cmd, @Nullable Path dir) {
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
      if (dir != null) {
        pb.directory(dir.toFile());
      }
      return pb.start();
    } catch (IOException e) {
      throw BbdiyException.configuration("cannot run " + cmd.get(0) + " on the node (" + e.getMessage()
          + "): apt-get install " + cmd.get(0));
    }
  }

  /** Reads the first 2000 characters of {@code tar}'s stderr into {@code into}, the rest is dropped. */
  private static void collect(Process tar, StringBuilder into) {
    try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(tar.getErrorStream(),
        java.nio.charset.StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        synchronized (into) {
          if (into.length() < 2000) {
            into.append(into.length() == 0 ? "" : "; ").append(Frames.shorten(line));
          }
        }
      }
    } catch (IOException ignored) {
      // tar is gone: what it said so far is kept
    }
  }

  /** Says that extracting into {@code target} failed, whether its disk is full, what to do, then tar's words. */
  private static String extractFailed(Path target, String tarFailure) {
    String full = "";
    try {
      long free = Files.getFileStore(target).getUsableSpace();
      if (free < (1L << 20)) {
        full = ", its file system is full (" + (free >> 10) + " KiB free)";
      }
    } catch (IOException e) {
      // no hint
    }
    return "extracting into " + target + " failed" + full + ": remove " + target + " before retrying ("
        + (tarFailure.isEmpty() ? "tar failed" : tarFailure) + ")";
  }

  /** Returns why tar failed ("tar exited with code N: its messages"), or "" while it still runs or succeeded. */
  private static String tarFailure(Process tar, Thread errors, StringBuilder messages) {
    try {
      if (!tar.waitFor(2, TimeUnit.SECONDS) || tar.exitValue() == 0) {
        return "";
      }
      errors.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
    synchronized (messages) {
      return "tar exited with code " + tar.exitValue() + (messages.length() == 0 ? "" : ": " + messages);
    }
  }

  private static int finish(Process p, String what) {
    try {
      if (!p.waitFor(10, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw BbdiyException.provider("mesh", what + " did not finish", null);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new BbdiyException(ErrorCode.INTERRUPTED, "interrupted");
    }
    if (p.exitValue() != 0) {
      throw BbdiyException.provider("mesh", what + " failed with exit code " + p.exitValue(), null);
    }
    return 0;
  }

  private void closeHandle() {
    CaptureHandle h = handle;
    handle = null;
    if (h != null) {
      h.close();
    }
  }

  private void abortQuietly() {
    if (aborted) {
      return;
    }
    aborted = true;
    HomeSnapshotter s = snapshotter;
    NodeContexts.Provider c = context;
    BackupId b = backupId;
    if (s == null || c == null || b == null) {
      return;
    }
    try {
      s.abort(c.run(Phase.COMPLETE, b, dev.bbdiy.kit.Cancellations.none(), out), handle);
    } catch (RuntimeException e) {
      System.err.println("bbdiy node: abort failed: " + e.getMessage());
    }
    closeHandle();
  }
}
