package dev.bbdiy.snapshot;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A command started ahead of time and held back until {@link #fire()}: a {@code sh} that waits for one line on its
 * standard input, then replaces itself with the command ({@code exec}). Starting a process from the JVM costs a
 * {@code posix_spawn} of a helper, two {@code exec}s and reader threads (4 ms at the median on a loaded 2-core
 * machine, over 100 ms at the tail); armed during {@code prepare}, the lock window pays only the final {@code exec}.
 *
 * <p>The arguments are {@code sh}'s positional parameters, never part of its script, so nothing in them is
 * interpreted. If this JVM dies before firing (SIGKILL), the shell reads end-of-file and exits without running
 * anything; {@link #disarm()} kills it on every other path. Output (both streams, merged) is kept for messages.
 */
final class ArmedCommand {
  /** The exit code of a shell that was disarmed or lost its JVM: the command never ran. */
  static final int NOT_FIRED = 97;

  static final String SCRIPT = "IFS= read -r go || exit " + NOT_FIRED + "; [ \"$go\" = go ] || exit "
      + NOT_FIRED + "; exec \"$0\" \"$@\"";

  private final List<String> command;
  private final Process process;
  private boolean fired;

  private ArmedCommand(List<String> command, Process process) {
    this.command = command;
    this.process = process;
  }

  /** Starts {@code sh}, waiting, for {@code command}; fails with {@code PROVIDER_FAILED} if it cannot start. */
  static ArmedCommand arm(String provider, List<String> command) {
    List<String> cmd = new ArrayList<>(List.of("/bin/sh", "-c", SCRIPT));
    cmd.addAll(command);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("LC_ALL", "C");
    try {
      return new ArmedCommand(List.copyOf(command), pb.start());
    } catch (IOException e) {
      throw BbdiyException.provider(provider, "cannot start /bin/sh to prepare " + command.get(0) + ": "
          + e.getMessage(), e);
    }
  }

  /** Lets the command run; returns at once. Call {@link #await} for its result. */
  void fire() {
    fired = true;
    try (OutputStream in = process.getOutputStream()) {
      in.write("go\n".getBytes(StandardCharsets.US_ASCII));
    } catch (IOException e) {
      // the shell is gone; await reports how it ended
    }
  }

  /**
   * Waits for the fired command to end and returns its exit code and output. Kills it if {@code cancellation}
   * fires first, then throws {@code INTERRUPTED}.
   */
  Tool.Output await(CancellationSignal cancellation) {
    if (!fired) {
      throw new IllegalStateException("not fired: " + command);
    }
    try (CancellationSignal.Registration ignored = cancellation.onCancel(this::disarm)) {
      // One line of output at most; read to the end (the process's exit), then reap it.
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int code = process.waitFor();
      if (cancellation.isCancelled()) {
        throw new BbdiyException(ErrorCode.INTERRUPTED, command.get(0) + " was stopped: " + cancellation.reason());
      }
      List<String> lines = out.isBlank() ? List.of() : List.of(out.strip().split("\r?\n"));
      return new Tool.Output(code, lines, lines);
    } catch (IOException e) {
      return new Tool.Output(-1, List.of(), List.of("cannot read its output: " + e.getMessage()));
    } catch (InterruptedException e) {
      disarm();
      Thread.currentThread().interrupt();
      throw new BbdiyException(ErrorCode.INTERRUPTED, command.get(0) + " was stopped: interrupted", e);
    }
  }

  /** Kills the waiting shell (or the command, if it was fired and still runs); harmless if it has ended. */
  void disarm() {
    process.destroyForcibly();
  }

  /** Returns whether the shell (or the command) is still running. */
  boolean alive() {
    return process.isAlive();
  }

  List<String> command() {
    return command;
  }
}
