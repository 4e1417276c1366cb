package dev.bbdiy.snapshot;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.kit.ChildProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Runs a snapshot tool: no shell, no standard input, output kept for messages and parsing. */
final class Tool {
  private final String provider;
  private final String program;

  Tool(String provider, String program) {
    this.provider = provider;
    this.program = program;
  }

  String program() {
    return program;
  }

  /** What a run printed. */
  record Output(int exitCode, List<String> stdout, List<String> stderr) {
    boolean ok() {
      return exitCode == 0;
    }

    String errorText() {
      return String.join("\n  ", stderr.isEmpty() ? stdout : stderr);
    }
  }

  /** Runs the tool with {@code args}; never throws for a non-zero exit (only if it cannot start or is cancelled). */
  Output run(CancellationSignal cancellation, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(program);
    cmd.addAll(List.of(args));
    List<String> out = new ArrayList<>();
    List<String> err = new ArrayList<>();
    ChildProcess.Result r = ChildProcess.builder(cmd).cancellation(cancellation)
        .environment("LC_ALL", "C")
        .stdout(line -> {
          synchronized (out) {
            if (out.size() < 10_000) {
              out.add(line);
            }
          }
        })
        .stderr(line -> {
          synchronized (err) {
            if (err.size() < 200) {
              err.add(line);
            }
          }
        }).build().run();
    synchronized (out) {
      synchronized (err) {
        return new Output(r.exitCode(), List.copyOf(out), List.copyOf(err));
      }
    }
  }

  /** Runs the tool and throws {@code PROVIDER_FAILED} with its error output if it fails. */
  Output require(CancellationSignal cancellation, String what, String... args) {
    Output o = run(cancellation, args);
    if (!o.ok()) {
      throw BbdiyException.provider(provider, what + " failed: " + program + " " + String.join(" ", args)
          + " exited with " + o.exitCode() + (o.stderr().isEmpty() && o.stdout().isEmpty() ? ""
              : ":\n  " + o.errorText()), null);
    }
    return o;
  }

  /** Fails with a configuration error naming the package if the program is not installed. */
  void requireInstalled(String debianPackage) {
    if (!installed(program)) {
      throw BbdiyException.configuration(provider + " needs " + program + ", which is not installed or not on the"
          + " PATH: install it (apt-get install " + debianPackage + ") or set " + provider + ".binary");
    }
  }

  static boolean installed(String program) {
    if (program.contains("/")) {
      return Files.isExecutable(Path.of(program));
    }
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String dir : path.split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }
}
