package dev.bbdiy.simulator;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Runs the git binary for tests: repository generation, pushes during a backup, {@code git fsck}. */
public final class Git {
  private Git() {}

  /** Returns whether a git binary is on the PATH. */
  public static boolean available() {
    try {
      Process p = new ProcessBuilder("git", "--version").redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Runs {@code git <args>} in {@code dir} and returns its output, failing on a non-zero exit. */
  public static String run(Path dir, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add("git");
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
    pb.environment().put("GIT_CONFIG_NOSYSTEM", "1");
    pb.environment().put("HOME", dir.toAbsolutePath().toString());
    pb.environment().put("GIT_TERMINAL_PROMPT", "0");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(300, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("git " + String.join(" ", args) + " timed out");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (p.exitValue() != 0) {
      throw new IOException("git " + String.join(" ", args) + " failed in " + dir + ": " + out);
    }
    return out;
  }

  /** Runs {@code git fsck --full --strict} on a bare repository; returns its problems (empty if none). */
  public static String fsck(Path repo) throws IOException {
    try {
      run(repo, "fsck", "--full", "--strict", "--no-progress");
      return "";
    } catch (IOException e) {
      return String.valueOf(e.getMessage());
    }
  }

  /** Returns the bare repositories directly under {@code repositoriesDir}. */
  public static List<Path> repositories(Path repositoriesDir) throws IOException {
    if (!Files.isDirectory(repositoriesDir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(repositoriesDir)) {
      return s.filter(p -> Files.isRegularFile(p.resolve("HEAD"))).sorted().toList();
    }
  }
}
