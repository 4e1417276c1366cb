package dev.bbdiy.kit;

import dev.bbdiy.api.BbdiyException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Stream;

/** File operations that keep secrets private and make writes atomic and durable. */
public final class PrivateFiles {
  private static final boolean POSIX =
      java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
  private static final Set<PosixFilePermission> OWNER_FILE =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
  private static final Set<PosixFilePermission> OWNER_DIR = EnumSet.of(
      PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);

  private PrivateFiles() {}

  /** Returns whether the default file system has POSIX permissions. */
  public static boolean posix() {
    return POSIX;
  }

  /** Creates {@code dir} and missing parents; a directory this creates is owner-only (0700). */
  public static Path createPrivateDirectories(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return dir;
    }
    Path parent = dir.toAbsolutePath().getParent();
    if (parent != null && !Files.isDirectory(parent)) {
      Files.createDirectories(parent);
    }
    try {
      if (POSIX) {
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_DIR));
      } else {
        Files.createDirectory(dir);
      }
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(dir)) {
        throw e;
      }
    }
    return dir;
  }

  /** Opens a new owner-only (0600) file for writing; fails if it exists. */
  public static FileChannel createPrivate(Path file) throws IOException {
    Set<StandardOpenOption> options = EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    if (POSIX) {
      FileAttribute<Set<PosixFilePermission>> attr = PosixFilePermissions.asFileAttribute(OWNER_FILE);
      FileChannel ch = FileChannel.open(file, options, attr);
      // The umask may have removed bits, never added: make sure of 0600 whatever it is.
      Files.setPosixFilePermissions(file, OWNER_FILE);
      return ch;
    }
    return FileChannel.open(file, options);
  }

  /** Opens a new owner-only file as a stream. */
  public static OutputStream newPrivateOutput(Path file) throws IOException {
    return Channels.newOutputStream(createPrivate(file));
  }

  /**
   * Writes {@code content} to {@code target} atomically and durably: a private temporary file in the same
   * directory, forced to disk, renamed over the target, the directory forced too.
   */
  public static void writeAtomically(Path target, String content) throws IOException {
    writeAtomically(target, content.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Creates {@code dir} (0700) if needed and checks this user can write to it.
   *
   * @param what how the message names it, e.g. {@code archive directory}
   * @throws BbdiyException with {@link dev.bbdiy.api.ErrorCode#CONFIGURATION} saying which directory and why
   */
  public static void requireWritableDirectory(Path dir, String what) {
    try {
      createPrivateDirectories(dir);
      if (!Files.isWritable(dir)) {
        throw BbdiyException.configuration("The " + what + " " + dir + " is not writable by this user");
      }
    } catch (IOException e) {
      throw BbdiyException.configuration("Cannot create the " + what + " " + dir + ": " + Reasons.of(e));
    }
  }

  /** Writes bytes atomically and durably; see {@link #writeAtomically(Path, String)}. */
  public static void writeAtomically(Path target, byte[] content) throws IOException {
    writeAtomically(target, content, true);
  }

  /** Writes bytes atomically; forced to disk (file and directory) when {@code durable}. */
  public static void writeAtomically(Path target, byte[] content, boolean durable) throws IOException {
    Path dir = parentOf(target);
    Path tmp = dir.resolve("." + target.getFileName() + ".tmp-" + ProcessHandle.current().pid());
    Files.deleteIfExists(tmp);
    try (FileChannel ch = createPrivate(tmp)) {
      ch.write(java.nio.ByteBuffer.wrap(content));
      if (durable) {
        ch.force(true);
      }
    }
    if (durable) {
      moveAtomically(tmp, target);
    } else {
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  /** Renames {@code source} to {@code target} atomically (replacing it) and forces the directory. */
  public static void moveAtomically(Path source, Path target) throws IOException {
    try {
      Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(source, target, StandardCopyOption.REPLACE_EXISTING);
    }
    forceDirectory(parentOf(target));
  }

  /**
   * The directory that holds {@code path}, made absolute.
   *
   * @throws IllegalArgumentException for a root directory, which has none
   */
  public static Path parentOf(Path path) {
    Path parent = path.toAbsolutePath().getParent();
    if (parent == null) {
      throw new IllegalArgumentException(path + " is a root directory: it has no parent");
    }
    return parent;
  }

  /** Forces a directory's entries to disk, where the platform allows it. */
  public static void forceDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // Not every platform can open a directory; the rename is still atomic.
    }
  }

  /** Returns whether {@code dir} is absent or empty, ignoring {@code lost+found}. */
  public static boolean isAbsentOrEmpty(Path dir) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return true;
    }
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        if (!p.getFileName().toString().equals("lost+found")) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * Replaces the directory {@code target} with {@code replacement} (a sibling a provider has just filled): the old
   * one is renamed aside, the new one renamed into place, the old one deleted. Until the second rename {@code
   * target} is the old directory, whole; a failure before leaves it so. Both must be on one file system.
   */
  public static void replaceDirectory(Path target, Path replacement) throws IOException {
    Path aside = target.resolveSibling("." + target.getFileName() + ".old-" + ProcessHandle.current().pid());
    deleteTree(aside);
    boolean existed = Files.exists(target, LinkOption.NOFOLLOW_LINKS);
    if (existed) {
      Files.move(target, aside, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
    try {
      Files.move(replacement, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      if (existed) {
        Files.move(aside, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      }
      throw e;
    }
    forceDirectory(parentOf(target));
    deleteTree(aside);
  }

  /** Deletes a tree without following symbolic links. Missing is fine. */
  public static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
      Files.delete(root);
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        try {
          Files.delete(p);
        } catch (NoSuchFileException ignored) {
          // gone already
        }
      }
    }
  }

  /** Deletes everything inside {@code dir} but {@code lost+found}, keeping {@code dir} itself. */
  public static void emptyDirectory(Path dir) throws IOException {
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        if (!p.getFileName().toString().equals("lost+found")) {
          deleteTree(p);
        }
      }
    }
  }
}
