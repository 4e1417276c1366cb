package dev.bbdiy.snapshot;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.kit.ExcludeMatcher;
import dev.bbdiy.kit.FileNames;
import dev.bbdiy.kit.PrivateFiles;
import java.io.IOException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Copies a read-only snapshot's directory back into an empty target, leaving out what the backup's excludes name:
 * the restore from a kept local snapshot. Regular files, directories and symbolic links (never followed) keep their
 * mode, times and, where this process may set it, owner; other entries (sockets, fifos) are skipped as the
 * archivers skip them. Never writes into a target that has content.
 */
final class SnapshotCopy {
  /** What was copied. */
  record Copied(long files, long bytes) {}

  private SnapshotCopy() {}

  static Copied copy(Path from, Path to, List<String> excludes, CancellationSignal cancellation) throws IOException {
    if (!PrivateFiles.isAbsentOrEmpty(to)) {
      throw BbdiyException.refused("Restore target " + to + " is not empty. A restore never overwrites: move the"
          + " old data away, or restore elsewhere (--target-home, --target-data-store).");
    }
    ExcludeMatcher matcher = new ExcludeMatcher(excludes);
    long[] count = new long[2];
    Deque<Path[]> dirs = new ArrayDeque<>();
    Files.walkFileTree(from, EnumSet.noneOf(FileVisitOption.class), Integer.MAX_VALUE, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
        cancellation.throwIfCancelled();
        String rel = FileNames.raw(from.relativize(dir));
        if (!rel.isEmpty() && matcher.excluded(rel, true)) {
          return FileVisitResult.SKIP_SUBTREE;
        }
        Path target = rel.isEmpty() ? to : to.resolve(from.relativize(dir));
        Files.createDirectories(target);
        dirs.push(new Path[] {dir, target});
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        String rel = FileNames.raw(from.relativize(file));
        if (matcher.excluded(rel, false) || !(attrs.isRegularFile() || attrs.isSymbolicLink())) {
          return FileVisitResult.CONTINUE;
        }
        Files.copy(file, to.resolve(from.relativize(file)), StandardCopyOption.COPY_ATTRIBUTES,
            LinkOption.NOFOLLOW_LINKS);
        count[0]++;
        count[1] += attrs.isRegularFile() ? attrs.size() : 0;
        if ((count[0] & 1023) == 0) {
          cancellation.throwIfCancelled();
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException failed) throws IOException {
        if (failed != null) {
          throw failed;
        }
        Path[] pair = dirs.pop();
        // A directory's mode and times once its content is in place (writing into it changed its times).
        PosixFileAttributes a = Files.readAttributes(pair[0], PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        Set<PosixFilePermission> mode = a.permissions();
        Files.setPosixFilePermissions(pair[1], mode);
        Files.setLastModifiedTime(pair[1], a.lastModifiedTime());
        try {
          Files.setOwner(pair[1], a.owner());
          Files.getFileAttributeView(pair[1], java.nio.file.attribute.PosixFileAttributeView.class,
              LinkOption.NOFOLLOW_LINKS).setGroup(a.group());
        } catch (IOException | UnsupportedOperationException notRoot) {
          // kept as this process's; the engine applies the instance's uid and gid when they are set
        }
        return FileVisitResult.CONTINUE;
      }
    });
    return new Copied(count[0], count[1]);
  }
}
