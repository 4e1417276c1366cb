package dev.bbdiy.archive;

import dev.bbdiy.kit.FileMeta;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.kit.FileNames;
import dev.bbdiy.kit.Ownership;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Writes backup entries into their restore targets, treating every name and link in the archive as hostile.
 *
 * <ul>
 *   <li>Entries go only below the plan's target directories, which come from the command line and the
 *       configuration. Names are resolved byte for byte.
 *   <li>Nothing is created, written, linked or changed through a symbolic link: before an entry is written, its
 *       directory must resolve to itself ({@code realpath}), so no component is a link; files are created with
 *       {@code O_EXCL}, never over anything; modes, times and owners are set without following links.
 *   <li>A hard link may only name a regular file this extraction wrote (inside a target, never in a
 *       pre-existing {@code lost+found}).
 *   <li>While extraction runs, the directories it creates (and the target roots) are private (0700), so no
 *       other user can race it; recorded modes and times are applied once a directory's contents are written.
 *   <li>Devices, pipes and sockets are never created; entries of kinds that cannot be restored exactly (sparse
 *       files) fail the restore.
 * </ul>
 *
 * Failures caused by the archive (a second entry of one name, a link through a link) are {@link
 * ErrorCode#VERIFICATION_FAILED}; failures of the target (disk full, permissions) are {@link
 * ErrorCode#PROVIDER_FAILED}.
 */
final class Extractor {
  private static final boolean ROOT = Ownership.isRoot();
  private static final String LOST_FOUND = "lost+found";

  private final ExtractionPlan plan;
  private final ProgressReporter progress;
  private final Map<Path, Root> roots = new HashMap<>();
  private final Deque<DirMeta> open = new ArrayDeque<>();
  private @Nullable Path lastParent;
  private long skippedSpecial;

  private record DirMeta(Path path, int mode, long mtime, long uid, long gid) {}

  /** A target root: its real path, and the mode to give it back if the archive does not say. */
  private static final class Root {
    final Path real;
    final int originalMode;
    @Nullable DirMeta recorded;

    Root(Path real, int originalMode) {
      this.real = real;
      this.originalMode = originalMode;
    }
  }

  /** Where an entry is written. */
  private record Target(Root root, Path path, String name) {}

  Extractor(ExtractionPlan plan, ProgressReporter progress) {
    this.plan = plan;
    this.progress = progress;
  }

  /** Creates a directory entry; its mode and time are applied once its contents are written. */
  void directory(String name, int mode, long mtime, long uid, long gid) {
    Target t = target(name);
    if (t == null) {
      return;
    }
    DirMeta meta = new DirMeta(t.path(), mode, mtime, uid, gid);
    if (t.path().equals(t.root().real)) {
      t.root().recorded = meta;
      return;
    }
    leaveDirectoriesNotContaining(t.path());
    try {
      ensureParent(t);
      try {
        Files.createDirectory(t.path(), PosixFilePermissions.asFileAttribute(
            PosixFilePermissions.fromString("rwx------")));
      } catch (FileAlreadyExistsException e) {
        if (!Files.isDirectory(t.path(), LinkOption.NOFOLLOW_LINKS)) {
          throw twice(name);
        }
        // created earlier as the parent of an entry that came before its directory (archives of other tools)
      }
    } catch (IOException e) {
      throw targetFailure(name, t.path(), e);
    }
    open.push(meta);
  }

  /** Opens a new file for an entry's content, or returns {@code null} if the entry is not restored. */
  @Nullable FileEntry openFile(String name) {
    Target t = target(name);
    if (t == null) {
      return null;
    }
    requireBelowRoot(t);
    leaveDirectoriesNotContaining(t.path());
    try {
      ensureParent(t);
      FileChannel ch = FileChannel.open(t.path(), java.util.Set.<java.nio.file.OpenOption>of(StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(
              PosixFilePermissions.fromString("rw-------")));
      return new FileEntry(name, t.path(), ch);
    } catch (FileAlreadyExistsException e) {
      throw twice(name);
    } catch (IOException e) {
      throw targetFailure(name, t.path(), e);
    }
  }

  /** A restored file being written. */
  static final class FileEntry {
    private final String name;
    private final Path path;
    private final FileChannel channel;

    private FileEntry(String name, Path path, FileChannel channel) {
      this.name = name;
      this.path = path;
      this.channel = channel;
    }

    void write(byte[] buffer, int n) {
      try {
        ByteBuffer b = ByteBuffer.wrap(buffer, 0, n);
        while (b.hasRemaining()) {
          channel.write(b);
        }
      } catch (IOException e) {
        throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "Cannot write the restored file "
            + FileNames.display(path) + ": " + reason(e) + ". Is the target file system full?", e);
      }
    }

    /** Closes the file and gives it its recorded mode, time and (as root) owner. */
    void finish(int mode, long mtime, long uid, long gid) {
      try {
        channel.close();
        setMode(path, mode);
        Files.getFileAttributeView(path, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
            .setTimes(FileTime.from(mtime, TimeUnit.SECONDS), null, null);
        setOwner(path, uid, gid);
      } catch (IOException e) {
        throw targetFailure(name, path, e);
      }
    }

    /** Closes the file after a failure. */
    void abandon() {
      try {
        channel.close();
      } catch (IOException ignored) {
        // failing already; the caller removes what was extracted
      }
    }
  }

  /** Creates a symbolic link entry. The link is created, never followed. */
  void symlink(String name, String linkTarget, long mtime, long uid, long gid) {
    Target t = target(name);
    if (t == null) {
      return;
    }
    requireBelowRoot(t);
    leaveDirectoriesNotContaining(t.path());
    try {
      ensureParent(t);
      Files.createSymbolicLink(t.path(), FileNames.path(linkTarget));
      Files.getFileAttributeView(t.path(), BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
          .setTimes(FileTime.from(mtime, TimeUnit.SECONDS), null, null);
      setOwner(t.path(), uid, gid);
    } catch (FileAlreadyExistsException e) {
      throw twice(name);
    } catch (IOException e) {
      throw targetFailure(name, t.path(), e);
    }
  }

  /** Creates a hard link entry to a file this extraction wrote. */
  void hardLink(String name, String existingName) {
    Target t = target(name);
    if (t == null) {
      return;
    }
    requireBelowRoot(t);
    Target existing = target(existingName);
    if (existing == null) {
      progress.warning("not restored: the hard link " + FileNames.display(name) + ", because the file it names ("
          + FileNames.display(existingName) + ") is not restored");
      return;
    }
    if (existing.root() != t.root()) {
      throw unsafe(name, "is a hard link to " + FileNames.display(existingName) + " in another restore target");
    }
    requireBelowRoot(existing);
    leaveDirectoriesNotContaining(t.path());
    try {
      ensureParent(t);
      Path dir = existing.path().getParent();
      if (dir == null || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || !dir.toRealPath().equals(dir)
          || !Files.isRegularFile(existing.path(), LinkOption.NOFOLLOW_LINKS)) {
        throw unsafe(name, "is a hard link to " + FileNames.display(existingName) + ", which is not a file this"
            + " archive restored before it");
      }
      Files.createLink(t.path(), existing.path());
    } catch (FileAlreadyExistsException e) {
      throw twice(name);
    } catch (NoSuchFileException e) {
      throw unsafe(name, "is a hard link to " + FileNames.display(existingName) + ", which is not a file this"
          + " archive restored before it");
    } catch (IOException e) {
      throw targetFailure(name, t.path(), e);
    }
  }

  /** Notes an entry that is never restored: a device, pipe or socket. */
  void special(String name, String what) {
    if (target(name) != null) {
      skippedSpecial++;
      if (skippedSpecial <= 10) {
        progress.warning("not restored: " + FileNames.display(name) + " (" + what + ")");
      }
    }
  }

  /** Applies the deferred modes and times of every directory still open, and of the target roots. */
  void finish() {
    while (!open.isEmpty()) {
      apply(open.pop());
    }
    for (Root r : roots.values()) {
      if (r.recorded != null) {
        apply(r.recorded);
      } else {
        try {
          setMode(r.real, r.originalMode);
        } catch (IOException e) {
          progress.warning("could not restore the mode of " + FileNames.display(r.real) + ": " + reason(e));
        }
      }
    }
    if (skippedSpecial > 10) {
      progress.warning("not restored: " + (skippedSpecial - 10) + " more devices, pipes or sockets");
    }
  }

  private @Nullable Target target(String name) {
    ExtractionPlan.Destination d = plan.locate(name);
    if (d == null) {
      return null;
    }
    Root root = root(d.root());
    if (d.relative().equals(LOST_FOUND) || d.relative().startsWith(LOST_FOUND + "/")) {
      return null; // a file system's own directory: never restored into, never a link's target
    }
    return new Target(root, FileNames.resolve(root.real, d.relative()), name);
  }

  private Root root(Path configured) {
    Root r = roots.get(configured);
    if (r != null) {
      return r;
    }
    try {
      int original = 0755;
      if (Files.exists(configured, LinkOption.NOFOLLOW_LINKS)) {
        original = FileMeta.read(configured.toRealPath()).mode();
        if (!dev.bbdiy.kit.PrivateFiles.isAbsentOrEmpty(configured.toRealPath())) {
          throw BbdiyException.refused("The restore target " + configured + " is not empty. A restore never"
              + " overwrites: move the old data away, or restore elsewhere.");
        }
      } else {
        Path parent = configured.getParent();
        if (parent != null) {
          Files.createDirectories(parent); // the target's parents are the administrator's choice
        }
        Files.createDirectory(configured);
      }
      Path real = configured.toRealPath();
      if (!Files.isDirectory(real, LinkOption.NOFOLLOW_LINKS)) {
        throw BbdiyException.refused("The restore target " + configured + " is not a directory");
      }
      setMode(real, 0700);
      r = new Root(real, original);
      roots.put(configured, r);
      return r;
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "Cannot prepare the restore target " + configured + ": "
          + reason(e), e);
    }
  }

  private void requireBelowRoot(Target t) {
    if (t.path().equals(t.root().real)) {
      throw unsafe(t.name(), "is not a directory, but it is the top of a restore target");
    }
  }

  private void leaveDirectoriesNotContaining(Path target) {
    while (!open.isEmpty() && !target.startsWith(open.peek().path())) {
      apply(open.pop());
    }
  }

  private void apply(DirMeta d) {
    try {
      setMode(d.path(), d.mode());
      Files.getFileAttributeView(d.path(), BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
          .setTimes(FileTime.from(d.mtime(), TimeUnit.SECONDS), null, null);
      setOwner(d.path(), d.uid(), d.gid());
    } catch (IOException e) {
      progress.warning("could not restore the mode or time of " + FileNames.display(d.path()) + ": " + reason(e));
    }
  }

  /**
   * Makes sure the directory of {@code t} exists and is what it appears to be: a real directory below the
   * target root, reached without any symbolic link. Missing directories are created (0700).
   */
  private void ensureParent(Target t) throws IOException {
    Path parent = t.path().getParent();
    if (parent == null || parent.equals(lastParent) || parent.equals(t.root().real)) {
      return;
    }
    ensureDirectory(t, parent);
    lastParent = parent;
  }

  private void ensureDirectory(Target t, Path dir) throws IOException {
    if (dir.equals(t.root().real)) {
      return;
    }
    if (!dir.startsWith(t.root().real)) {
      throw unsafe(t.name(), "would be written outside its restore target");
    }
    if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || !dir.toRealPath().equals(dir)) {
        throw unsafe(t.name(), "would be written through the symbolic link or file "
            + FileNames.display(dir));
      }
      return;
    }
    Path parent = dir.getParent();
    if (parent != null) {
      ensureDirectory(t, parent);
    }
    try {
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        throw unsafe(t.name(), "would be written through " + FileNames.display(dir));
      }
    }
  }

  private static BbdiyException unsafe(String name, String what) {
    return new BbdiyException(ErrorCode.VERIFICATION_FAILED, "The archive entry " + FileNames.display(name) + " "
        + what + "; refusing to restore it. The archive is damaged or was crafted to harm this machine.");
  }

  private static BbdiyException twice(String name) {
    return new BbdiyException(ErrorCode.VERIFICATION_FAILED, "The archive holds " + FileNames.display(name)
        + " twice (or an entry over another): it is damaged or was not made by a backup tool; refusing to"
        + " restore it.");
  }

  static BbdiyException targetFailure(String name, Path target, IOException e) {
    return new BbdiyException(ErrorCode.PROVIDER_FAILED, "Cannot write " + FileNames.display(target) + " (entry "
        + FileNames.display(name) + "): " + reason(e), e);
  }

  static String reason(IOException e) {
    return dev.bbdiy.kit.Reasons.of(e);
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
    if (uid >= 0 && uid <= Integer.MAX_VALUE) {
      Files.setAttribute(p, "unix:uid", (int) uid, LinkOption.NOFOLLOW_LINKS);
    }
    if (gid >= 0 && gid <= Integer.MAX_VALUE) {
      Files.setAttribute(p, "unix:gid", (int) gid, LinkOption.NOFOLLOW_LINKS);
    }
  }
}
