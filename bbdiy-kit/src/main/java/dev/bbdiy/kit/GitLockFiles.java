package dev.bbdiy.kit;

import dev.bbdiy.api.spi.ProgressReporter;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;

/**
 * Removes the git lock files a backup taken from a running system may contain, so that restored repositories
 * accept pushes: {@code HEAD.lock}, {@code config.lock}, {@code index.lock}, {@code gc.pid}, {@code
 * packed-refs.lock}, {@code stash-packed-refs.lock}, and {@code *.lock} below {@code refs/}, {@code stash-refs/}
 * and {@code logs/}. Atlassian's cleanup matches none of them (it quotes its glob); this one is tested.
 */
public final class GitLockFiles {
  private static final List<String> TOP_LEVEL =
      List.of("HEAD.lock", "config.lock", "index.lock", "gc.pid", "packed-refs.lock", "stash-packed-refs.lock");
  private static final List<String> LOCK_TREES = List.of("refs", "stash-refs", "logs");
  private static final int MAX_DEPTH = 6;

  private GitLockFiles() {}

  /**
   * Finds the bare repositories below {@code root} (a home or a data store: repositories live at {@code
   * shared/data/repositories/<id>} and {@code repositories/<a>/<b>/<id>}) and removes their stale lock files.
   *
   * @return the number of files removed
   */
  public static int removeStale(Path root, ProgressReporter progress) {
    int[] removed = {0};
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
      return 0;
    }
    try {
      Files.walkFileTree(root, java.util.Set.of(), MAX_DEPTH, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
          if (isBareRepository(dir)) {
            removed[0] += clean(dir, progress);
            return FileVisitResult.SKIP_SUBTREE;
          }
          String name = dir.getFileName() == null ? "" : dir.getFileName().toString();
          // Repositories are not kept below these; do not walk millions of files for nothing.
          if (name.equals("attachments") || name.equals("caches") || name.equals("log") || name.equals("tmp")) {
            return FileVisitResult.SKIP_SUBTREE;
          }
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException exc) {
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      progress.warning("could not look for stale git lock files below " + root + ": " + e.getMessage());
    }
    return removed[0];
  }

  /** Returns whether {@code dir} looks like a bare git repository. */
  static boolean isBareRepository(Path dir) {
    return Files.isRegularFile(dir.resolve("HEAD"), LinkOption.NOFOLLOW_LINKS)
        && Files.isDirectory(dir.resolve("objects"), LinkOption.NOFOLLOW_LINKS)
        && Files.isDirectory(dir.resolve("refs"), LinkOption.NOFOLLOW_LINKS);
  }

  /** Removes the lock files of one repository; returns how many. */
  public static int clean(Path repo, ProgressReporter progress) throws IOException {
    int n = 0;
    for (String name : TOP_LEVEL) {
      if (Files.deleteIfExists(repo.resolve(name))) {
        n++;
      }
    }
    for (String tree : LOCK_TREES) {
      Path t = repo.resolve(tree);
      if (Files.isDirectory(t, LinkOption.NOFOLLOW_LINKS)) {
        n += cleanTree(t);
      }
    }
    return n;
  }

  private static int cleanTree(Path dir) throws IOException {
    int n = 0;
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          n += cleanTree(p);
        } else if (p.getFileName().toString().endsWith(".lock") && Files.deleteIfExists(p)) {
          n++;
        }
      }
    }
    return n;
  }
}
