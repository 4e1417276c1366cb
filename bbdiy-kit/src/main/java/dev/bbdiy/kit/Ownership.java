package dev.bbdiy.kit;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;

/** Gives a restored tree to Bitbucket's user ({@code BITBUCKET_UID:BITBUCKET_GID}), links included, never followed. */
public final class Ownership {
  private Ownership() {}

  /** Changes owner and group of everything below {@code root}; -1 leaves that part unchanged. */
  /** Whether this process runs as root, and so can give files their recorded owners. */
  public static boolean isRoot() {
    try {
      Map<String, Object> a = Files.readAttributes(Path.of("/proc/self"), "unix:uid");
      return Integer.valueOf(0).equals(a.get("uid"));
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  public static void chown(Path root, int uid, int gid) {
    if (uid < 0 && gid < 0 || !Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try {
      Files.walkFileTree(root, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
          set(dir);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          set(file);
          return FileVisitResult.CONTINUE;
        }

        private void set(Path p) throws IOException {
          if (uid >= 0) {
            Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
          }
          if (gid >= 0) {
            Files.setAttribute(p, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
          }
        }
      });
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "Cannot give " + root + " to uid " + uid + " gid " + gid
          + ": " + e.getMessage() + ". Changing ownership needs root; run the restore as root or unset"
          + " BITBUCKET_UID/BITBUCKET_GID and fix ownership afterwards.", e);
    }
  }
}
