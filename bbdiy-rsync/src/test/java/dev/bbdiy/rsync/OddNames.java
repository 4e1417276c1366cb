package dev.bbdiy.rsync;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * File names Java cannot hold as Strings, made and compared with the shell only: {@code x-\xff.txt} and {@code
 * x-\xfe.txt} (both decode to {@code x-\ufffd.txt}), a valid UTF-8 name and a name with a newline. Names are
 * written as printf octal escapes, so every argument that crosses into a process is ASCII whatever the locale.
 */
final class OddNames {
  /** Names present before the live pass. */
  static final List<String> BEFORE = List.of("x-\\377.txt", "x-\\376.txt", "\\303\\251t\\303\\251.txt",
      "new\\nline.txt", "gone-\\374.txt", "dir-\\377/inner-\\376.txt");
  /** Rewritten between the passes with the same size and modification time: only a content check sees it. */
  static final List<String> RACY = List.of("x-\\377.txt", "\\303\\251t\\303\\251.txt", "new\\nline.txt",
      "dir-\\377/inner-\\376.txt");

  private OddNames() {}

  /** Creates the {@link #BEFORE} files in {@code dir}, each holding its own escaped name and "before". */
  static void populate(Path dir) {
    for (String name : BEFORE) {
      sh(dir, "mkdir -p \"$(dirname \"$f\")\" && printf '%s' \"$2\" > \"$f\"", name, content(name, "before"));
    }
  }

  /** What happens while Bitbucket is live, between the passes: racy rewrites, a new file, a deletion. */
  static void changeBetweenPasses(Path dir) {
    for (String name : RACY) {
      // Same length, same modification time (to the nanosecond): rsync's quick check sees no change.
      sh(dir, "t=$(stat -c %y \"$f\") && printf '%s' \"$2\" > \"$f\" && touch -d \"$t\" \"$f\"", name,
          content(name, "AFTER!"));
    }
    sh(dir, "printf '%s' \"$2\" > \"$f\"", "y-\\375.txt", content("y-\\375.txt", "new"));
    sh(dir, "rm \"$f\"", "gone-\\374.txt", "");
  }

  /** Returns the differences {@code diff -r --no-dereference} finds between two trees: names and contents. */
  static String differences(Path expected, Path actual) {
    return run(new ProcessBuilder("diff", "-r", "--no-dereference", expected.toString(), actual.toString()), 1);
  }

  /** Lists a tree's names, sorted, each ended by a NUL, as hex digits: the bytes the file system holds. */
  static String list(Path dir) {
    return run(new ProcessBuilder("sh", "-c", "cd \"$1\" && find . -mindepth 1 -print0 | LC_ALL=C sort -z"
        + " | od -An -v -tx1 | tr -d ' \\n'", "sh", dir.toString()), 0);
  }

  /** Returns how {@link #list} shows the name {@code prefix + byte + suffix} (ASCII but for one byte). */
  static String listed(String prefix, int odd, String suffix) {
    StringBuilder sb = new StringBuilder("2e2f");
    for (int b : (prefix + (char) odd + suffix).toCharArray()) {
      sb.append(String.format("%02x", b));
    }
    return sb.append("00").toString();
  }

  private static String content(String name, String what) {
    return name + " " + what;
  }

  private static void sh(Path dir, String script, String escapedName, String arg) {
    String prologue = "cd \"$1\" || exit 9; f=$(printf \"$3\"; echo .); f=${f%.}; ";
    String out = run(new ProcessBuilder("sh", "-c", prologue + script, "sh", dir.toString(), arg, escapedName), 0);
    if (!out.isEmpty()) {
      throw new IllegalStateException(script + ": " + out);
    }
  }

  private static String run(ProcessBuilder pb, int maxExit) {
    try {
      Process p = pb.redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(pb.command() + " timed out");
      }
      if (p.exitValue() > maxExit) {
        throw new IllegalStateException(pb.command() + " exited with " + p.exitValue() + ": " + out);
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
