package dev.bbdiy.simulator;

import org.jspecify.annotations.Nullable;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Stream;

/** Compares and deletes directory trees in tests. */
public final class Trees {
  private Trees() {}

  /** What to compare besides names, types, content and link targets. */
  public enum Check {
    /** Permission bits. */
    MODE,
    /** Modification times of files and links, to the second. */
    MTIME,
    /** Modification times of directories, to the second. */
    DIRECTORY_MTIME
  }

  /**
   * Returns the differences between two trees: missing and extra entries, types, content, link targets and the
   * requested checks. Paths for which {@code ignore} is true (relative, '/'-separated) are skipped on both sides.
   */
  public static List<String> differences(Path expected, Path actual, Predicate<String> ignore, Check... checks)
      throws IOException {
    Map<String, Path> a = index(expected, ignore);
    Map<String, Path> b = index(actual, ignore);
    List<Check> c = Arrays.asList(checks);
    List<String> diffs = new ArrayList<>();
    for (Map.Entry<String, Path> e : a.entrySet()) {
      Path other = b.get(e.getKey());
      if (other == null) {
        diffs.add("missing: " + e.getKey());
        continue;
      }
      String d = compare(e.getKey(), e.getValue(), other, c);
      if (d != null) {
        diffs.add(d);
      }
    }
    for (String k : b.keySet()) {
      if (!a.containsKey(k)) {
        diffs.add("extra: " + k);
      }
    }
    return diffs;
  }

  /** Same as {@link #differences(Path, Path, Predicate, Check...)} ignoring nothing. */
  public static List<String> differences(Path expected, Path actual, Check... checks) throws IOException {
    return differences(expected, actual, p -> false, checks);
  }

  private static Map<String, Path> index(Path root, Predicate<String> ignore) throws IOException {
    Map<String, Path> out = new TreeMap<>();
    if (!Files.exists(root)) {
      return out;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
        String rel = rel(root, dir);
        if (!rel.isEmpty() && ignore.test(rel)) {
          return FileVisitResult.SKIP_SUBTREE;
        }
        if (!rel.isEmpty()) {
          out.put(rel, dir);
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        String rel = rel(root, file);
        if (!ignore.test(rel)) {
          out.put(rel, file);
        }
        return FileVisitResult.CONTINUE;
      }
    });
    return out;
  }

  private static String rel(Path root, Path p) {
    return root.relativize(p).toString().replace('\\', '/');
  }

  private static @Nullable String compare(String rel, Path a, Path b, List<Check> checks) throws IOException {
    boolean la = Files.isSymbolicLink(a);
    boolean lb = Files.isSymbolicLink(b);
    if (la || lb) {
      if (la != lb) {
        return "type differs: " + rel;
      }
      if (!Files.readSymbolicLink(a).equals(Files.readSymbolicLink(b))) {
        return "link target differs: " + rel;
      }
      return null;
    }
    boolean da = Files.isDirectory(a);
    if (da != Files.isDirectory(b)) {
      return "type differs: " + rel;
    }
    if (!da && Files.mismatch(a, b) != -1) {
      return "content differs: " + rel;
    }
    if (checks.contains(Check.MODE) && !Files.getPosixFilePermissions(a, LinkOption.NOFOLLOW_LINKS)
        .equals(Files.getPosixFilePermissions(b, LinkOption.NOFOLLOW_LINKS))) {
      return "mode differs: " + rel + " " + PosixFilePermissions.toString(Files.getPosixFilePermissions(a)) + " vs "
          + PosixFilePermissions.toString(Files.getPosixFilePermissions(b));
    }
    boolean checkTime = da ? checks.contains(Check.DIRECTORY_MTIME) : checks.contains(Check.MTIME);
    if (checkTime && Files.getLastModifiedTime(a).toMillis() / 1000 != Files.getLastModifiedTime(b).toMillis() / 1000) {
      return "mtime differs: " + rel;
    }
    return null;
  }

  /** Deletes a tree without following links; a missing tree is fine. */
  public static void deleteRecursively(Path root) throws IOException {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      List<Path> all = walk.sorted((x, y) -> y.getNameCount() - x.getNameCount()).toList();
      for (Path p : all) {
        if (!Files.isSymbolicLink(p)) {
          p.toFile().setWritable(true);
        }
        Files.deleteIfExists(p);
      }
    }
  }

  /** Returns the total size of the regular files below {@code root}. */
  public static long size(Path root) throws IOException {
    try (Stream<Path> walk = Files.walk(root)) {
      return walk.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).mapToLong(p -> {
        try {
          return Files.size(p);
        } catch (IOException e) {
          return 0;
        }
      }).sum();
    }
  }
}
