package dev.bbdiy.kit;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Runs an external tool (rsync, pg_dump, fsfreeze) for a provider: output read line by line (lines end at
 * {@code \n} or {@code \r}, so progress meters arrive as they are drawn), the end of stderr kept for error
 * messages, and cancellation honoured. When the run is cancelled or the calling thread interrupted, the process
 * and all its descendants get SIGTERM, then SIGKILL after a grace period, and {@link #run()} returns only once
 * they have exited: nothing a provider started keeps running behind bbdiy's back.
 *
 * <p>Secrets belong in the {@linkplain Builder#environment environment} or a 0600 file, never in the arguments,
 * which every user of the machine can read.
 */
public final class ChildProcess {
  private static final int TAIL = 40;

  private final List<String> command;
  private final @Nullable Path directory;
  private final @Nullable Path stdin;
  private final Map<String, String> environment;
  private final List<String> removedEnvironment;
  private final Consumer<String> stdout;
  private final Consumer<String> stderr;
  private final @Nullable CancellationSignal cancellation;
  private final Duration grace;
  private final @Nullable Duration timeout;
  private final String name;

  private ChildProcess(Builder b) {
    this.command = List.copyOf(b.command);
    this.directory = b.directory;
    this.stdin = b.stdin;
    this.environment = Map.copyOf(b.environment);
    this.removedEnvironment = List.copyOf(b.removedEnvironment);
    this.stdout = b.stdout;
    this.stderr = b.stderr;
    this.cancellation = b.cancellation;
    this.grace = b.grace;
    this.timeout = b.timeout;
    this.name = b.name == null ? Path.of(command.get(0)).getFileName().toString() : b.name;
  }

  /** Returns a builder for {@code command} (the program and its arguments, no shell). */
  public static Builder builder(List<String> command) {
    return new Builder(command);
  }

  /** Returns a builder for {@code command}. */
  public static Builder builder(String... command) {
    return new Builder(List.of(command));
  }

  /**
   * What a finished process left.
   *
   * @param exitCode its exit code
   * @param stderrTail the last lines of its standard error
   * @param stdoutTail the last lines of its standard output
   */
  public record Result(String name, int exitCode, List<String> stderrTail, List<String> stdoutTail) {
    /** Returns whether it exited with 0. */
    public boolean succeeded() {
      return exitCode == 0;
    }

    /**
     * Returns this result if it succeeded, or throws {@link ErrorCode#PROVIDER_FAILED} saying what failed, with
     * the end of its standard error.
     */
    public Result orThrow(String provider, String what) {
      if (succeeded()) {
        return this;
      }
      throw BbdiyException.provider(provider, what + " failed: " + name + " exited with " + exitCode
          + (stderrTail.isEmpty() ? "" : ":\n  " + String.join("\n  ", stderrTail)), null);
    }
  }

  /**
   * Runs the process to its end.
   *
   * @throws BbdiyException {@link ErrorCode#PROVIDER_FAILED} if it cannot be started, {@link
   *     ErrorCode#INTERRUPTED} if cancelled (after it has exited)
   */
  public Result run() {
    if (cancellation != null) {
      cancellation.throwIfCancelled();
    }
    ProcessBuilder pb = new ProcessBuilder(command);
    // No standard input unless a file is given: a tool that asks a question (a password prompt, "overwrite?")
    // fails at once instead of waiting forever for an answer nobody gives.
    pb.redirectInput(ProcessBuilder.Redirect.from(stdin != null ? stdin.toFile() : new java.io.File("/dev/null")));
    if (directory != null) {
      pb.directory(directory.toFile());
    }
    for (String key : removedEnvironment) {
      pb.environment().remove(key);
    }
    pb.environment().putAll(environment);
    Process process;
    try {
      process = pb.start();
    } catch (IOException e) {
      throw BbdiyException.provider(name, "cannot start " + command.get(0) + ": " + e.getMessage()
          + ". Is it installed and on the PATH?", e);
    }
    Deque<String> errTail = new ArrayDeque<>();
    Deque<String> outTail = new ArrayDeque<>();
    Thread outReader = reader(process.getInputStream(), stdout, outTail, name + "-stdout");
    Thread errReader = reader(process.getErrorStream(), stderr, errTail, name + "-stderr");
    CancellationSignal.Registration registration =
        cancellation == null ? () -> {} : cancellation.onCancel(() -> terminate(process));
    try {
      int code;
      try {
        if (timeout != null && !process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          terminate(process);
          awaitExit(process);
          throw BbdiyException.provider(name, command.get(0) + " did not finish within " + timeout.toSeconds()
              + " s and was stopped", null);
        }
        code = process.waitFor();
      } catch (InterruptedException e) {
        terminate(process);
        awaitExit(process);
        Thread.currentThread().interrupt();
        throw new BbdiyException(ErrorCode.INTERRUPTED, name + " was stopped: the run was cancelled", e);
      }
      join(outReader);
      join(errReader);
      if (cancellation != null && cancellation.isCancelled()) {
        throw new BbdiyException(ErrorCode.INTERRUPTED, name + " was stopped: " + cancellation.reason());
      }
      synchronized (errTail) {
        synchronized (outTail) {
          return new Result(name, code, List.copyOf(errTail), List.copyOf(outTail));
        }
      }
    } finally {
      registration.close();
      if (process.isAlive()) {
        terminate(process);
        awaitExit(process);
      }
    }
  }

  /** SIGTERM to the process and its descendants, SIGKILL to what is left after the grace period. */
  private void terminate(Process process) {
    List<ProcessHandle> all = new ArrayList<>();
    process.descendants().forEach(all::add);
    all.add(process.toHandle());
    all.forEach(ProcessHandle::destroy);
    Thread killer = new Thread(() -> {
      long deadline = System.nanoTime() + grace.toNanos();
      for (ProcessHandle h : all) {
        long left = deadline - System.nanoTime();
        try {
          if (left > 0) {
            h.onExit().get(left, TimeUnit.NANOSECONDS);
          }
        } catch (Exception ignored) {
          // still alive: killed below
        }
        if (h.isAlive()) {
          h.destroyForcibly();
        }
      }
    }, name + "-killer");
    killer.setDaemon(true);
    killer.start();
  }

  private void awaitExit(Process process) {
    boolean interrupted = false;
    while (true) {
      try {
        if (process.waitFor(grace.toMillis() + 10_000, TimeUnit.MILLISECONDS)) {
          break;
        }
        process.destroyForcibly();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private static Thread reader(InputStream in, Consumer<String> sink, Deque<String> tail, String threadName) {
    Thread t = new Thread(() -> {
      try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = r.read()) >= 0) {
          if (c == '\n' || c == '\r') {
            if (line.length() > 0) {
              emit(line.toString(), sink, tail);
              line.setLength(0);
            }
          } else if (line.length() < 8192) {
            line.append((char) c);
          }
        }
        if (line.length() > 0) {
          emit(line.toString(), sink, tail);
        }
      } catch (IOException ignored) {
        // the process closed its end
      }
    }, threadName);
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static void emit(String line, Consumer<String> sink, Deque<String> tail) {
    synchronized (tail) {
      tail.addLast(line);
      if (tail.size() > TAIL) {
        tail.removeFirst();
      }
    }
    try {
      sink.accept(line);
    } catch (RuntimeException ignored) {
      // a consumer must not break the reader
    }
  }

  private static void join(Thread t) {
    boolean interrupted = false;
    while (t.isAlive()) {
      try {
        t.join(10_000);
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "ChildProcess" + command;
  }

  /** Builds a {@link ChildProcess}. */
  public static final class Builder {
    private final List<String> command;
    private @Nullable Path directory;
    private @Nullable Path stdin;
    private final Map<String, String> environment = new LinkedHashMap<>();
    private final List<String> removedEnvironment = new ArrayList<>();
    private Consumer<String> stdout = line -> {};
    private Consumer<String> stderr = line -> {};
    private @Nullable CancellationSignal cancellation;
    private Duration grace = Duration.ofSeconds(10);
    private @Nullable Duration timeout;
    private @Nullable String name;

    private Builder(List<String> command) {
      if (command.isEmpty()) {
        throw new IllegalArgumentException("empty command");
      }
      this.command = List.copyOf(command);
    }

    /** Runs in {@code dir}. */
    public Builder directory(Path dir) {
      this.directory = dir;
      return this;
    }

    /**
     * Reads standard input from {@code file} (a dump a client loads) instead of {@code /dev/null}. The file is read
     * by the child directly, never through this JVM.
     */
    public Builder stdin(Path file) {
      this.stdin = Objects.requireNonNull(file);
      return this;
    }

    /** Adds an environment variable: the place for a secret a tool reads ({@code PGPASSFILE}, never the password). */
    public Builder environment(String key, String value) {
      this.environment.put(Objects.requireNonNull(key), Objects.requireNonNull(value));
      return this;
    }

    /** Removes an inherited environment variable. */
    public Builder removeEnvironment(String key) {
      this.removedEnvironment.add(key);
      return this;
    }

    /** Receives standard output, line by line. */
    public Builder stdout(Consumer<String> lines) {
      this.stdout = Objects.requireNonNull(lines);
      return this;
    }

    /** Receives standard error, line by line. */
    public Builder stderr(Consumer<String> lines) {
      this.stderr = Objects.requireNonNull(lines);
      return this;
    }

    /** Stops the process when the run is cancelled. */
    public Builder cancellation(CancellationSignal cancellation) {
      this.cancellation = cancellation;
      return this;
    }

    /** Sets the time between SIGTERM and SIGKILL (default 10 s). */
    public Builder grace(Duration grace) {
      this.grace = grace;
      return this;
    }

    /**
     * Stops the process (SIGTERM to it and its descendants, then SIGKILL after the grace period) when it has not
     * exited after {@code timeout}; {@link #run()} then throws {@link ErrorCode#PROVIDER_FAILED}. Default: no limit.
     */
    public Builder timeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout must be positive: " + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    /** Names the process in messages (default: the program's file name). */
    public Builder name(String name) {
      this.name = name;
      return this;
    }

    public ChildProcess build() {
      return new ChildProcess(this);
    }
  }
}
