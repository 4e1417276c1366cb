package dev.bbdiy.restic;

import com.squareup.moshi.JsonReader;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okio.Buffer;
import org.jspecify.annotations.Nullable;

/**
 * Runs the restic binary with the repository, password and backend credentials in its environment (never in its
 * arguments, which every user of the machine can read) and the user's extra options in front of every command.
 *
 * <p>restic 0.14 removes its repository lock on SIGINT but not on SIGTERM, which is what stopping a process from
 * Java sends; a stopped command's lock is therefore removed with {@code restic unlock}, which removes only locks
 * of processes that no longer exist (see {@link #stopped}).
 */
final class Restic {
  /** The oldest restic supported: Debian 12's. */
  static final int[] OLDEST = {0, 14, 0};

  private static final int TAIL = 30;
  private static final Pattern VERSION = Pattern.compile("restic (\\d+)\\.(\\d+)\\.(\\d+)");

  private final String binary;
  private final Map<String, String> environment;
  private final List<String> removed;
  private final List<String> options;

  /**
   * @param environment variables set for restic (repository, password file)
   * @param removed inherited variables restic must not see (a password the configuration replaces)
   * @param options extended options, each given to restic as {@code -o <option>}
   */
  Restic(String binary, Map<String, String> environment, List<String> removed, List<String> options) {
    this.binary = binary;
    this.environment = Map.copyOf(environment);
    this.removed = List.copyOf(removed);
    this.options = List.copyOf(options);
  }

  /** What a finished command left: its exit code and the end of its standard error. */
  record Result(int exitCode, List<String> stderrTail) {
    boolean succeeded() {
      return exitCode == 0;
    }

    String stderr() {
      return String.join("\n", stderrTail);
    }

    /** Whether restic said there is no repository at the configured location. */
    boolean noRepository() {
      String e = stderr();
      return e.contains("Is there a repository at the following location?") || e.contains("repository does not exist")
          || e.contains("unable to open config file");
    }

    boolean wrongPassword() {
      return stderr().contains("wrong password or no key found");
    }

    boolean locked() {
      return stderr().contains("repository is already locked");
    }

    /** Throws {@link ErrorCode#PROVIDER_FAILED} naming {@code what} and restic's own words, unless it succeeded. */
    Result orThrow(String what) {
      if (succeeded()) {
        return this;
      }
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "restic: " + what + " failed (exit " + exitCode + ")"
          + (stderrTail.isEmpty() ? "" : ":\n  " + String.join("\n  ", stderrTail)) + hint(this));
    }
  }

  /** A running command whose standard output the caller reads. */
  final class Running implements AutoCloseable {
    private final Process process;
    private final Deque<String> errTail;
    private final Thread errReader;
    private final CancellationSignal.Registration registration;
    private final @Nullable CancellationSignal cancellation;

    private Running(Process process, @Nullable CancellationSignal cancellation) {
      this.process = process;
      this.errTail = new ArrayDeque<>();
      this.errReader = drain(process.getErrorStream(), errTail, line -> {});
      this.cancellation = cancellation;
      this.registration = cancellation == null ? () -> {} : cancellation.onCancel(process::destroy);
    }

    InputStream stdout() {
      return process.getInputStream();
    }

    /** Waits for the end and returns how it ended; a cancelled run throws once the process exited. */
    Result finish() {
      try {
        int code = awaitExit(process);
        join(errReader);
        if (code >= 128 || cancellation != null && cancellation.isCancelled()) {
          stopped(process); // killed by a signal, ours or anyone's: its lock stays behind
        }
        if (cancellation != null && cancellation.isCancelled()) {
          throw new BbdiyException(ErrorCode.INTERRUPTED, "restic was stopped: " + cancellation.reason());
        }
        synchronized (errTail) {
          return new Result(code, List.copyOf(errTail));
        }
      } finally {
        registration.close();
      }
    }

    /** Stops the process if it still runs (the reader gave up early) and removes the lock it may leave. */
    @Override
    public void close() {
      registration.close();
      if (process.isAlive()) {
        process.destroy();
        awaitExit(process);
        stopped(process);
      }
    }
  }

  /**
   * Runs {@code args} to the end, handing each line of standard output to {@code stdout}.
   *
   * @param directory the working directory, or {@code null} for bbdiy's
   * @throws BbdiyException {@link ErrorCode#INTERRUPTED} when cancelled (after restic exited and its lock was
   *     removed)
   */
  Result run(List<String> args, @Nullable Path directory, Consumer<String> stdout,
      @Nullable CancellationSignal cancellation) {
    try (Running r = start(args, directory, cancellation)) {
      Thread out = drain(r.stdout(), new ArrayDeque<>(), stdout);
      Result result;
      try {
        result = r.finish();
      } finally {
        join(out);
      }
      return result;
    }
  }

  /** Runs {@code args}, writing standard output to {@code file}. */
  Result runTo(List<String> args, Path file, @Nullable CancellationSignal cancellation) {
    ProcessBuilder pb = builder(args, null);
    pb.redirectOutput(file.toFile());
    try (Running r = new Running(start(pb), cancellation)) {
      return r.finish();
    }
  }

  /** Starts {@code args}; the caller reads standard output and calls {@link Running#finish}. */
  Running start(List<String> args, @Nullable Path directory, @Nullable CancellationSignal cancellation) {
    if (cancellation != null) {
      cancellation.throwIfCancelled();
    }
    return new Running(start(builder(args, directory)), cancellation);
  }

  /** Returns the installed version as {major, minor, patch}. */
  int[] version() {
    List<String> out = new ArrayList<>();
    Result r = run(List.of("version"), null, out::add, null);
    Matcher m = VERSION.matcher(String.join("\n", out));
    if (!r.succeeded() || !m.find()) {
      throw BbdiyException.configuration("restic: '" + binary + " version' did not print a version (exit "
          + r.exitCode() + "): is " + binary + " restic? Install restic 0.14 or newer (apt-get install restic) or"
          + " set restic.binary");
    }
    return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))};
  }

  static boolean atLeast(int[] version, int[] oldest) {
    for (int i = 0; i < 3; i++) {
      if (version[i] != oldest[i]) {
        return version[i] > oldest[i];
      }
    }
    return true;
  }

  /**
   * Removes the repository lock a stopped restic may have left: {@code restic unlock} removes only locks whose
   * process no longer exists on this machine (and locks older than 30 minutes), so it never breaks the lock of
   * another running restic.
   */
  void stopped(Process process) {
    if (process.isAlive() || process.exitValue() == 0) {
      return;
    }
    run(List.of("unlock"), null, line -> {}, null);
  }

  private ProcessBuilder builder(List<String> args, @Nullable Path directory) {
    List<String> command = new ArrayList<>();
    command.add(binary);
    for (String o : options) {
      command.add("-o");
      command.add(o);
    }
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command);
    // No standard input: restic would otherwise ask for a password on the terminal and wait forever.
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    if (directory != null) {
      pb.directory(directory.toFile());
    }
    for (String key : removed) {
      pb.environment().remove(key);
    }
    pb.environment().putAll(environment);
    return pb;
  }

  private Process start(ProcessBuilder pb) {
    try {
      return pb.start();
    } catch (IOException e) {
      throw BbdiyException.configuration("restic: cannot run " + binary + " (" + e.getMessage() + "). Install"
          + " restic 0.14 or newer (apt-get install restic) or set restic.binary to its path");
    }
  }

  private static int awaitExit(Process process) {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          if (process.waitFor(30, TimeUnit.SECONDS)) {
            return process.exitValue();
          }
          if (interrupted) {
            process.destroyForcibly();
          }
        } catch (InterruptedException e) {
          interrupted = true;
          process.destroy();
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static Thread drain(InputStream in, Deque<String> tail, Consumer<String> sink) {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          synchronized (tail) {
            tail.addLast(line.length() > 2000 ? line.substring(0, 2000) + "..." : line);
            if (tail.size() > TAIL) {
              tail.removeFirst();
            }
          }
          try {
            sink.accept(line);
          } catch (RuntimeException ignored) {
            // a consumer must not stop the reader, or restic would block on a full pipe
          }
        }
      } catch (IOException ignored) {
        // restic closed its end
      }
    }, "restic-output");
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static void join(Thread t) {
    boolean interrupted = false;
    while (t.isAlive()) {
      try {
        t.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** What to do about a failure restic describes, in bbdiy's words. */
  static String hint(Result r) {
    if (r.noRepository()) {
      return "\nThere is no restic repository at restic.repository: check it, or create it (restic init, or"
          + " restic.init=true).";
    }
    if (r.wrongPassword()) {
      return "\nThe password does not open the repository: check restic.password-file.";
    }
    if (r.locked()) {
      return "\nAnother restic process holds the repository's lock. If none runs any more, remove the stale lock"
          + " with 'restic unlock'.";
    }
    return "";
  }

  /** Parses a JSON line of restic's output into a flat map of its scalar fields, or {@code null}. */
  static @Nullable Map<String, Object> jsonLine(String line) {
    if (!line.startsWith("{")) {
      return null;
    }
    Map<String, Object> out = new LinkedHashMap<>();
    try (JsonReader r = JsonReader.of(new Buffer().writeUtf8(line))) {
      r.beginObject();
      while (r.hasNext()) {
        String name = r.nextName();
        switch (r.peek()) {
          case STRING -> out.put(name, r.nextString());
          case NUMBER -> out.put(name, r.nextDouble());
          case BOOLEAN -> out.put(name, r.nextBoolean());
          case BEGIN_OBJECT -> {
            // an error's "error" object: keep its message
            r.beginObject();
            while (r.hasNext()) {
              String n = r.nextName();
              if (n.equals("message") && r.peek() == JsonReader.Token.STRING) {
                out.put(name, r.nextString());
              } else {
                r.skipValue();
              }
            }
            r.endObject();
          }
          default -> r.skipValue();
        }
      }
      return out;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  static long number(@Nullable Object o) {
    return o instanceof Double d && d >= 0 && d < 9e18 ? d.longValue() : -1;
  }
}
