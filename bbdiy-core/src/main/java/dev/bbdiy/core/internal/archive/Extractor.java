package dev.bbdiy.core.internal.archive;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.core.internal.Ownership;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.jspecify.annotations.Nullable;

/**
 * Writes archive entries to their restore targets safely: never through a symbolic link, never over an existing
 * file, parents created as needed; directory modes and times applied after their contents (a read-only
 * directory is restored read-only without blocking its children); owners restored when running as root.
 */
final class Extractor {
  private static final boolean ROOT = Ownership.isRoot();

  private final ExtractionPlan plan;
  private final ProgressReporter progress;
  private final Deque<DirMeta> dirs = new ArrayDeque<>();
  private @Nullable Path lastParent;
  private @Nullable Path currentFile;

  private record DirMeta(Path path, int mode, long mtime, long uid, long gid) {}

  Extractor(ExtractionPlan plan, ProgressReporter progress) {
    this.plan = plan;
    this.progress = progress;
  }

  void directory(String name, TarArchiveEntry e) {
    Path target = plan.resolve(name);
    if (target == null) {
      return;
    }
    leaveDirectoriesNotContaining(target);
    try {
      if (Files.isSymbolicLink(target)) {
        throw unsafe(name, target);
      }
      if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
        ensureParent(name, target);
        Files.createDirectory(target);
      }
    } catch (IOException ex) {
      throw TarBackupReader.targetFailure(name, target, ex);
    }
    dirs.push(new DirMeta(target, e.getMode() & 07777, e.getModTime().getTime(), e.getLongUserId(),
        e.getLongGroupId()));
  }

  @Nullable FileChannel openFile(String name) {
    Path target = plan.resolve(name);
    if (target == null) {
      currentFile = null;
      return null;
    }
    leaveDirectoriesNotContaining(target);
    try {
      ensureParent(name, target);
      currentFile = target;
      return FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
          LinkOption.NOFOLLOW_LINKS);
    } catch (IOException ex) {
      throw TarBackupReader.targetFailure(name, target, ex);
    }
  }

  static void write(FileChannel ch, byte[] buffer, int n, String name) {
    try {
      ByteBuffer b = ByteBuffer.wrap(buffer, 0, n);
      while (b.hasRemaining()) {
        ch.write(b);
      }
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "Cannot write restored file " + name + ": "
          + e.getMessage() + ". Is the target file system full?", e);
    }
  }

  static void close(FileChannel ch, String name) {
    try {
      ch.close();
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "Cannot write restored file " + name + ": "
          + e.getMessage(), e);
    }
  }

  void finishFile(String name, TarArchiveEntry e) {
    Path target = currentFile;
    if (target == null) {
      return;
    }
    try {
      setMode(target, e.getMode() & 07777);
      Files.setLastModifiedTime(target, e.getModTime() == null ? FileTime.fromMillis(0)
          : FileTime.fromMillis(e.getModTime().getTime()));
      setOwner(target, e.getLongUserId(), e.getLongGroupId());
    } catch (IOException ex) {
      throw TarBackupReader.targetFailure(name, target, ex);
    }
  }

  void symlink(String name, TarArchiveEntry e) {
    Path target = plan.resolve(name);
    if (target == null) {
      return;
    }
    leaveDirectoriesNotContaining(target);
    try {
      ensureParent(name, target);
      Files.createSymbolicLink(target, Path.of(e.getLinkName()));
      Files.getFileAttributeView(target, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
          .setTimes(FileTime.fromMillis(e.getModTime().getTime()), null, null);
      setOwner(target, e.getLongUserId(), e.getLongGroupId());
    } catch (IOException ex) {
      throw TarBackupReader.targetFailure(name, target, ex);
    }
  }

  void hardLink(String name, String linkName) {
    Path target = plan.resolve(name);
    Path existing = plan.resolve(linkName);
    if (target == null) {
      return;
    }
    if (existing == null || !Files.isRegularFile(existing, LinkOption.NOFOLLOW_LINKS)) {
      progress.warning("skipped hard link " + name + ": its target " + linkName + " is not restored");
      return;
    }
    leaveDirectoriesNotContaining(target);
    try {
      ensureParent(name, target);
      Files.createLink(target, existing);
    } catch (IOException ex) {
      throw TarBackupReader.targetFailure(name, target, ex);
    }
  }

  /** Applies the deferred modes and times of every directory still open. */
  void finishDirectories() {
    while (!dirs.isEmpty()) {
      apply(dirs.pop());
    }
  }

  private void leaveDirectoriesNotContaining(Path target) {
    while (!dirs.isEmpty() && !target.startsWith(dirs.peek().path())) {
      apply(dirs.pop());
    }
  }

  private void apply(DirMeta d) {
    try {
      setMode(d.path(), d.mode());
      Files.setLastModifiedTime(d.path(), FileTime.from(d.mtime(), TimeUnit.MILLISECONDS));
      setOwner(d.path(), d.uid(), d.gid());
    } catch (IOException e) {
      progress.warning("could not restore the mode or time of " + d.path() + ": " + e.getMessage());
    }
  }

  /** Creates missing parents of {@code target} below its plan root, refusing to pass through a link. */
  private void ensureParent(String name, Path target) throws IOException {
    Path parent = target.getParent();
    if (parent == null || parent.equals(lastParent)) {
      return;
    }
    Path root = rootOf(target);
    if (target.equals(root)) {
      Files.createDirectories(parent); // the target directory itself; its parents are the user's choice
      lastParent = parent;
      return;
    }
    if (!Files.isDirectory(root)) {
      Files.createDirectories(root);
    }
    Path current = root;
    for (Path part : root.relativize(parent)) {
      current = current.resolve(part);
      if (Files.isSymbolicLink(current)) {
        throw unsafe(name, current);
      }
      if (!Files.isDirectory(current, LinkOption.NOFOLLOW_LINKS)) {
        try {
          Files.createDirectory(current);
        } catch (FileAlreadyExistsException e) {
          if (!Files.isDirectory(current, LinkOption.NOFOLLOW_LINKS)) {
            throw e;
          }
        }
      }
    }
    lastParent = parent;
  }

  private Path rootOf(Path target) {
    Path best = null;
    for (Path root : plan.targets().values()) {
      if (target.startsWith(root) && (best == null || root.getNameCount() > best.getNameCount())) {
        best = root;
      }
    }
    if (best == null) {
      throw new IllegalStateException("No plan root for " + target);
    }
    return best;
  }

  private static BbdiyException unsafe(String name, Path link) {
    return new BbdiyException(ErrorCode.VERIFICATION_FAILED, "The archive entry " + name + " would be written"
        + " through the symbolic link " + link + "; refusing. The archive is damaged or malicious.");
  }

  private static void setMode(Path p, int mode) throws IOException {
    if (FileMeta.unix()) {
      Files.setAttribute(p, "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
    }
  }

  private static void setOwner(Path p, long uid, long gid) throws IOException {
    if (!ROOT || !FileMeta.unix()) {
      return;
    }
    if (uid >= 0) {
      Files.setAttribute(p, "unix:uid", (int) uid, LinkOption.NOFOLLOW_LINKS);
    }
    if (gid >= 0) {
      Files.setAttribute(p, "unix:gid", (int) gid, LinkOption.NOFOLLOW_LINKS);
    }
  }

}
