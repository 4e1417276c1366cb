package dev.bbdiy.mesh.internal;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.mesh.MeshProvider;
import dev.bbdiy.mesh.NodeSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The coordinator's end of one node's session: an {@code ssh} child process running the node command, kept for
 * the whole run. Calls are one request line and one answer line (progress lines and data chunks may come
 * before the answer), each bounded by a timeout and by the run's cancellation, which kill the session: the node
 * then sees the end of its input and aborts.
 */
public final class NodeSession implements AutoCloseable {
  /** The protocol version both ends speak. */
  public static final int PROTOCOL = 1;

  private static final Map<String, Object> EOF = Map.of("eof", Boolean.TRUE);

  private final NodeSpec node;
  private final Process process;
  private final Frames.Out out;
  private final LinkedBlockingQueue<Map<String, Object>> answers = new LinkedBlockingQueue<>();
  private final Deque<String> stderr = new ArrayDeque<>();
  private volatile @Nullable Thread stderrReader;
  private final ProgressReporter progress;
  private volatile @Nullable OutputStream sink;
  private volatile @Nullable String broken;
  private volatile boolean killed;
  private long nextId = 1;

  private NodeSession(NodeSpec node, Process process, ProgressReporter progress) {
    this.node = node;
    this.process = process;
    this.progress = progress;
    this.out = new Frames.Out(process.getOutputStream());
  }

  /** Returns the node. */
  public NodeSpec node() {
    return node;
  }

  /**
   * Starts {@code ssh} to the node and checks the node answers {@code hello} with this protocol version.
   *
   * @throws BbdiyException {@code CONFIGURATION} naming the fix when ssh cannot connect (unreachable host,
   *     unknown or changed host key, refused key) or the node command is missing or speaks another protocol
   */
  public static NodeSession open(NodeSpec node, MeshConfig config, ProgressReporter progress,
      CancellationSignal cancellation) {
    List<String> cmd = new ArrayList<>(config.ssh());
    long connectSeconds = Math.max(1, config.connectTimeout().toSeconds());
    cmd.addAll(List.of("-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o",
        "ConnectTimeout=" + connectSeconds, "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4",
        "-o", "LogLevel=ERROR", "-T"));
    if (node.port() != 0) {
      cmd.add("-p");
      cmd.add(Integer.toString(node.port()));
    }
    cmd.add("-l");
    cmd.add(node.user());
    cmd.add("--");
    cmd.add(node.host().startsWith("[") ? node.host().substring(1, node.host().length() - 1) : node.host());
    cmd.add(config.nodeCommand());
    Process p;
    try {
      p = new ProcessBuilder(cmd).start();
    } catch (IOException e) {
      throw BbdiyException.configuration("Cannot run " + config.ssh().get(0) + " to reach Mesh node " + node.name()
          + " (" + e.getMessage() + "): install the OpenSSH client (apt-get install openssh-client) or set"
          + " mesh.ssh");
    }
    NodeSession s = new NodeSession(node, p, progress);
    s.startReaders();
    Map<String, Object> hello;
    try {
      hello = s.call("hello", Map.of("protocol", PROTOCOL), config.connectTimeout(), cancellation, null);
    } catch (BbdiyException e) {
      s.kill();
      throw s.connectFailure(e, config);
    }
    Object version = hello.get("protocol");
    if (!(version instanceof Long) || ((Long) version).intValue() != PROTOCOL) {
      s.kill();
      throw BbdiyException.configuration("Mesh node " + node.name() + " speaks mesh protocol " + version
          + ", this bbdiy speaks " + PROTOCOL + ": install the same bbdiy version on every node");
    }
    return s;
  }

  private BbdiyException connectFailure(BbdiyException e, MeshConfig config) {
    waitForExit(Duration.ofSeconds(5));
    String err = stderrTail();
    String lower = err.toLowerCase(java.util.Locale.ROOT);
    String where = "Mesh node " + node.name() + " (" + node.destination()
        + (node.port() == 0 ? "" : " port " + node.port()) + ")";
    String fix;
    if (lower.contains("host key verification failed") || lower.contains("remote host identification has changed")
        || lower.contains("no matching host key") || lower.contains("host key for")) {
      fix = "its SSH host key is unknown or has CHANGED. Check the key with the node's administrator, then update"
          + " known_hosts (ssh-keygen -R " + node.host() + "; ssh-keyscan, compared with the node's"
          + " /etc/ssh/ssh_host_*_key.pub). bbdiy never connects with an unverified key";
    } else if (lower.contains("permission denied")) {
      fix = "the SSH login as " + node.user() + " was refused: add the backup user's public key to the node's"
          + " authorized_keys, or set the key with mesh.ssh-options=-i <key>";
    } else if (lower.contains("could not resolve") || lower.contains("connection refused")
        || lower.contains("timed out") || lower.contains("no route to host") || lower.contains("network is")) {
      fix = "it cannot be reached (" + firstLine(err) + "): check the host, port and that sshd runs there";
    } else if (lower.contains("not found") || lower.contains("no such file") || process.isAlive() == false
        && process.exitValue() == 127) {
      fix = "the node command '" + config.nodeCommand() + "' is not installed there (" + firstLine(err) + "):"
          + " install bbdiy on the node, or set mesh.node-command";
    } else if (e.code() == ErrorCode.INTERRUPTED) {
      return e;
    } else {
      fix = e.getMessage() + (err.isEmpty() ? "" : " (ssh said: " + firstLine(err) + ")");
    }
    return new BbdiyException(ErrorCode.CONFIGURATION, "Cannot start the backup on " + where + ": " + fix + ".",
        e);
  }

  private static String firstLine(String s) {
    String t = s.strip();
    int nl = t.indexOf('\n');
    return Frames.shorten(nl < 0 ? t : t.substring(0, nl));
  }

  private void startReaders() {
    Thread reader = new Thread(this::readLoop, "bbdiy-mesh-" + node.name());
    reader.setDaemon(true);
    reader.start();
    Thread err = new Thread(() -> {
      try (InputStream in = process.getErrorStream()) {
        Frames.In lines = new Frames.In(in);
        String line;
        while ((line = lines.readLine()) != null) {
          synchronized (stderr) {
            stderr.addLast(Frames.shorten(line));
            if (stderr.size() > 20) {
              stderr.removeFirst();
            }
          }
        }
      } catch (IOException ignored) {
        // the session ended; what it printed is kept
      }
    }, "bbdiy-mesh-" + node.name() + "-stderr");
    err.setDaemon(true);
    stderrReader = err;
    err.start();
  }

  private void readLoop() {
    Frames.In in = new Frames.In(process.getInputStream());
    try {
      Map<String, Object> m;
      while ((m = in.readObject()) != null) {
        Object chunk = m.get("chunk");
        if (chunk instanceof Long) {
          OutputStream s = sink;
          if (s == null) {
            throw new IOException("the node sent data nobody asked for");
          }
          in.readChunk((Long) chunk, s);
        } else if (m.get("progress") instanceof String) {
          progress.message(node.name() + ": " + Frames.shorten((String) m.get("progress")));
        } else if (m.get("warning") instanceof String) {
          progress.warning(node.name() + ": " + Frames.shorten((String) m.get("warning")));
        } else if (m.containsKey("ok")) {
          answers.add(m);
        } else {
          throw new IOException("unexpected line from the node: " + Frames.shorten(Json.write(m)));
        }
      }
      broken = "the session ended";
    } catch (IOException | RuntimeException e) {
      broken = "the session broke: " + e.getMessage();
      process.destroyForcibly();
    } finally {
      answers.add(EOF);
    }
  }

  /**
   * Sends one request and waits for its answer.
   *
   * @param sink where data chunks sent before the answer go, or {@code null} if none are expected
   * @return the answer's {@code data}
   */
  public synchronized Map<String, Object> call(String op, Map<String, ?> fields, Duration timeout,
      CancellationSignal cancellation, @Nullable OutputStream sink) {
    Map<String, Object> request = new LinkedHashMap<>();
    request.put("op", op);
    request.put("id", nextId++);
    request.putAll(fields);
    this.sink = sink;
    try (CancellationSignal.Registration r = cancellation.onCancel(this::kill)) {
      cancellation.throwIfCancelled();
      if (broken != null || killed) {
        throw failed(op, "its session is closed (" + (broken == null ? "killed" : broken) + ")", null);
      }
      try {
        out.writeObject(request);
      } catch (IOException e) {
        throw failed(op, "sending the request failed: " + e.getMessage(), e);
      }
      return await(op, timeout, cancellation);
    } finally {
      this.sink = null;
    }
  }

  /** Waits for the answer to a request already sent (after a data stream the caller wrote). */
  synchronized Map<String, Object> await(String op, Duration timeout, CancellationSignal cancellation) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (true) {
        cancellation.throwIfCancelled();
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          kill();
          throw failed(op, "it did not answer within " + timeout.toSeconds() + "s (mesh."
              + (op.equals("capture") ? "capture-timeout" : "timeout") + "); the session was closed, so the node"
              + " aborts", null);
        }
        Map<String, Object> answer = answers.poll(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)),
            TimeUnit.NANOSECONDS);
        if (answer == null) {
          continue;
        }
        if (answer == EOF) {
          answers.add(EOF); // every later call sees it too
          cancellation.throwIfCancelled();
          throw failed(op, "the node went away (" + broken + ")" + (stderrTail().isEmpty() ? ""
              : "; ssh said: " + firstLine(stderrTail())), null);
        }
        if (Boolean.TRUE.equals(answer.get("ok"))) {
          return Json.object(answer, "data");
        }
        Map<String, Object> error = Json.object(answer, "error");
        String message = Json.optString(error, "message");
        ErrorCode code = ErrorCode.PROVIDER_FAILED;
        try {
          code = ErrorCode.valueOf(String.valueOf(error.get("code")));
        } catch (IllegalArgumentException ignored) {
          // an unknown code from another version is a provider failure
        }
        throw new BbdiyException(code, "Mesh node " + node.name() + ", " + op + ": " + Frames.shorten(
            message == null ? "failed without a message" : message));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      kill();
      throw new BbdiyException(ErrorCode.INTERRUPTED, "Interrupted while waiting for Mesh node " + node.name());
    }
  }

  /** Writes data chunks of a request the node answered with {@code ready}. */
  void stream(InputStream data) throws IOException {
    out.copyFrom(data);
  }

  /** Writes a bare protocol line. */
  void send(Map<String, ?> line) throws IOException {
    out.writeObject(line);
  }

  private BbdiyException failed(String op, String what, @Nullable Throwable cause) {
    return BbdiyException.provider(MeshProvider.NAME, "Mesh node " + node.name() + " (" + node.destination()
        + "), " + op + ": " + what, cause);
  }

  /** Returns whether the session can still take calls. */
  public boolean alive() {
    return !killed && broken == null && process.isAlive();
  }

  /** Ends the session at once: the node sees the end of its input and aborts what it holds. */
  public void kill() {
    killed = true;
    process.destroyForcibly();
  }

  private void waitForExit(Duration d) {
    try {
      process.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
      // ssh's last words (a changed host key...) must be read before they are judged: under load a fixed pause
      // was not enough. Its stderr ends when ssh exits; bounded in case a child still holds it.
      Thread reader = stderrReader;
      if (reader != null && !process.isAlive()) {
        reader.join(2000);
      } else {
        Thread.sleep(50);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  String stderrTail() {
    synchronized (stderr) {
      return String.join("\n", stderr);
    }
  }

  /** Says goodbye (the node closes its provider and exits), waits a little, then ends the process. */
  @Override
  public void close() {
    if (alive()) {
      try {
        out.writeObject(Map.of("op", "bye", "id", 0L));
        out.close();
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (IOException ignored) {
        // already gone
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
