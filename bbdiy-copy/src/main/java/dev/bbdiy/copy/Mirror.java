package dev.bbdiy.copy;

import dev.bbdiy.kit.ExcludeMatcher;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.kit.FileNames;
import dev.bbdiy.kit.PrivateFiles;
import dev.bbdiy.kit.FileMeta;
import dev.bbdiy.kit.TreeWalker;
import dev.bbdiy.kit.Ownership;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * Mirrors one directory into another with the semantics of {@code rsync -a --delete --delete-excluded}: files,
 * directories and symbolic links with their modes and times (owners too when running as root), deletions
 * mirrored, excluded paths left out and removed from the target. Changed files are copied to a temporary name
 * and renamed into place, so a failed pass never leaves a torn file; copies run on parallel workers.
 *
 * <p>{@link #fullPass} compares source and target entry by entry (robust to anything that happened to the
 * target) and writes an index of what it saw; {@link #indexPass} compares the source only with that index,
 * which halves the metadata reads of the pass that runs while Bitbucket is locked. Files modified within two
 * seconds before the index was written are copied again, as git does for "racily clean" entries: a file
 * rewritten within one timestamp tick of being read would otherwise look unchanged.
 */
final class Mirror {
  private static final long RACY_NANOS = TimeUnit.SECONDS.toNanos(2);
  private static final boolean ROOT = Ownership.isRoot();

  private final Path source;
  private final Path target;
  private final ExcludeMatcher excludes;
  private final Path index;
  private final int workers;
  private final CancellationSignal cancellation;
  private final ProgressReporter progress;

  private final AtomicLong scanned = new AtomicLong();
  private final AtomicLong copied = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong deleted = new AtomicLong();
  private final AtomicLong skipped = new AtomicLong();
  private final AtomicLong tempCounter = new AtomicLong();

  /** What a pass did. */
  record Stats(long scanned, long copied, long bytes, long deleted, Duration took) {}

  Mirror(Path source, Path target, ExcludeMatcher excludes, Path index, int workers,
      CancellationSignal cancellation, ProgressReporter progress) {
    this.source = source;
    this.target = target;
    this.excludes = excludes;
    this.index = index;
    this.workers = Math.max(1, workers);
    this.cancellation = cancellation;
    this.progress = progress;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Passes

  /** Compares source and target entry by entry, brings the target in line, and writes a fresh index. */
  Stats fullPass() throws IOException {
    return run(false, null);
  }

  /**
   * Like {@link #fullPass}, and watches every directory of the source with {@code journal} before listing it, so
   * that the journal knows every change made after the pass saw an entry.
   */
  Stats fullPass(ChangeJournal journal) throws IOException {
    return run(false, journal);
  }

  /** Compares the source with the index of the last pass; falls back to a full pass without one. */
  Stats indexPass() throws IOException {
    return run(Files.isRegularFile(index), null);
  }

  private Stats run(boolean useIndex, @Nullable ChangeJournal journal) throws IOException {
    Instant start = Instant.now();
    long passStart = IndexEntry.nanos(start);
    Files.createDirectories(index.getParent());
    Path newIndex = index.resolveSibling(index.getFileName() + ".new");
    Path dirFixes = index.resolveSibling(index.getFileName() + ".dirs");
    FileMeta rootMeta = FileMeta.read(source);
    if (rootMeta.type() != FileMeta.Type.DIRECTORY) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, source + " is not a directory");
    }
    if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectories(target);
    }
    // With a journal, each directory is watched before it is listed, on the walk's thread: no listing ahead.
    try (ParallelCopier copier = newCopier();
        ListingAhead<Child> listing = listing(journal == null ? workers : 0);
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(newIndex),
            1 << 16));
        DataOutputStream fixes = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(dirFixes),
            1 << 16))) {
      out.writeLong(passStart);
      Walk walk = new Walk(copier, listing, out, fixes);
      walk.journal = journal;
      if (useIndex) {
        try (IndexReader old = new IndexReader(index)) {
          walk.old = old;
          walk.indexed(source, target, "");
          walk.deleteRemaining("");
        }
      } else {
        walk.full(source, target, "");
      }
      writeDirFix(fixes, target, rootMeta);
      copier.finish();
    } catch (IOException | RuntimeException | Error e) {
      Files.deleteIfExists(newIndex);
      Files.deleteIfExists(index); // the target no longer matches it; the next pass must compare for real
      Files.deleteIfExists(dirFixes);
      throw e;
    }
    applyDirFixes(dirFixes);
    Files.deleteIfExists(dirFixes);
    PrivateFiles.moveAtomically(newIndex, index);
    if (skipped.get() > 0) {
      progress.warning("skipped " + skipped.get() + " special files (sockets, pipes, devices) in " + source);
    }
    return new Stats(scanned.get(), copied.get(), bytes.get(), deleted.get(), Duration.between(start,
        Instant.now()));
  }

  /** The recursive comparison of one pass. */
  private final class Walk {
    final ParallelCopier copier;
    final ListingAhead<Child> listing;
    final DataOutputStream out;
    final DataOutputStream fixes;
    @Nullable IndexReader old;
    @Nullable ChangeJournal journal;

    Walk(ParallelCopier copier, ListingAhead<Child> listing, DataOutputStream out, DataOutputStream fixes) {
      this.copier = copier;
      this.listing = listing;
      this.out = out;
      this.fixes = fixes;
    }

    /** Full pass over one directory; returns whether its entries changed. */
    boolean full(Path src, Path dst, String rel) throws IOException {
      boolean touched = false;
      if (journal != null) {
        journal.watch(src, rel); // before the listing: any later change is an event, any earlier one is listed
      }
      List<Child> children = listing.children(src, rel);
      List<String> names = new ArrayList<>(children.size());
      for (Child c : children) {
        names.add(c.name);
      }
      try (DirectoryStream<Path> existing = Files.newDirectoryStream(dst)) {
        for (Path p : existing) {
          String name = FileNames.rawFileName(p);
          if (java.util.Collections.binarySearch(names, name) < 0) {
            delete(p);
            touched = true;
          }
        }
      }
      for (Child c : children) {
        Path d = dst.resolve(c.path.getFileName());
        FileMeta dm = statOrNull(d);
        touched |= apply(c, d, dm, false);
        if (c.meta.type() == FileMeta.Type.DIRECTORY) {
          boolean inner = full(c.path, d, c.rel);
          if (inner || dm == null || dm.type() != FileMeta.Type.DIRECTORY || !sameDirMeta(c.meta, dm)) {
            writeDirFix(fixes, d, c.meta);
          }
        }
      }
      return touched;
    }

    /** The index of the previous pass, which the index pass reads. */
    private IndexReader index() {
      return Objects.requireNonNull(old, "the index pass runs with an index");
    }

    /** Index pass over one directory; returns whether its entries changed. */
    boolean indexed(Path src, Path dst, String rel) throws IOException {
      boolean touched = false;
      for (Child c : listing.children(src, rel)) {
        IndexEntry before = null;
        while (index().peek() != null && TreeWalker.ORDER.compare(index().peek().path, c.rel) < 0) {
          touched |= deleteEntry(index().next());
        }
        if (index().peek() != null && index().peek().path.equals(c.rel)) {
          before = index().next();
        }
        Path d = dst.resolve(c.path.getFileName());
        boolean unchanged = before != null && before.matches(c.meta) && !racy(before);
        if (!unchanged) {
          touched |= apply(c, d, statOrNull(d), true);
        } else {
          record(c);
        }
        if (c.meta.type() == FileMeta.Type.DIRECTORY) {
          boolean inner = indexed(c.path, d, c.rel);
          inner |= deleteRemaining(c.rel);
          if (inner || !unchanged) {
            writeDirFix(fixes, d, c.meta);
          }
        }
      }
      return touched;
    }

    private boolean racy(IndexEntry e) {
      return e.type == FileMeta.Type.FILE.code() && e.mtime >= index().passStart - RACY_NANOS;
    }

    /** Deletes what the index lists below {@code rel} that the source no longer has; returns whether any. */
    boolean deleteRemaining(String rel) throws IOException {
      String prefix = rel.isEmpty() ? "" : rel + "/";
      boolean any = false;
      while (index().peek() != null && (prefix.isEmpty() || index().peek().path.startsWith(prefix))) {
        any |= deleteEntry(index().next());
      }
      return any;
    }

    private boolean deleteEntry(IndexEntry gone) throws IOException {
      Path d = FileNames.resolve(target, gone.path);
      boolean existed = Files.exists(d, LinkOption.NOFOLLOW_LINKS);
      if (existed) {
        delete(d);
      }
      if (gone.type == FileMeta.Type.DIRECTORY.code()) {
        String prefix = gone.path + "/";
        while (index().peek() != null && index().peek().path.startsWith(prefix)) {
          index().next();
        }
      }
      return existed;
    }

    /**
     * Brings {@code dst} in line with source child {@code c}; {@code dm} is what {@code dst} is now (null if
     * absent). With {@code force}, a file is copied even if the target looks the same (the index said it
     * changed). Returns whether an entry of the parent directory was added, removed or replaced.
     */
    private boolean apply(Child c, Path dst, @Nullable FileMeta dm, boolean force) throws IOException {
      record(c);
      FileMeta sm = c.meta;
      switch (sm.type()) {
        case FILE:
          if (dm != null && dm.type() != FileMeta.Type.FILE) {
            delete(dst);
            dm = null;
          }
          if (force || dm == null || dm.size() != sm.size() || !dm.mtime().equals(sm.mtime())) {
            copier.submit(c.path, dst, sm);
            return true;
          }
          if (dm.mode() != sm.mode() || ROOT && (dm.uid() != sm.uid() || dm.gid() != sm.gid())) {
            setMeta(dst, sm);
          }
          return false;
        case DIRECTORY:
          if (dm != null && dm.type() != FileMeta.Type.DIRECTORY) {
            delete(dst);
            dm = null;
          }
          if (dm == null) {
            Files.createDirectory(dst);
            return true;
          }
          return false;
        case SYMLINK: {
          Path linkTarget = Files.readSymbolicLink(c.path);
          if (dm != null && dm.type() == FileMeta.Type.SYMLINK && Files.readSymbolicLink(dst).equals(linkTarget)) {
            return false;
          }
          Path tmp = temp(dst);
          Files.createSymbolicLink(tmp, linkTarget);
          try {
            setOwner(tmp, sm);
            Files.getFileAttributeView(tmp, java.nio.file.attribute.BasicFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS).setTimes(sm.mtime(), null, null);
            if (dm != null && dm.type() == FileMeta.Type.DIRECTORY) {
              delete(dst);
            }
            rename(tmp, dst);
          } finally {
            Files.deleteIfExists(tmp); // gone after the rename; left only by a failure
          }
          return true;
        }
        default:
          skipped.incrementAndGet();
          if (dm != null) {
            delete(dst);
            return true;
          }
          return false;
      }
    }

    private void record(Child c) throws IOException {
      scanned.incrementAndGet();
      IndexEntry.write(out, c.rel, c.meta);
      if ((scanned.get() & 1023) == 0) {
        cancellation.throwIfCancelled();
        progress.progress("compared " + scanned.get() + " entries, copied " + copied.get(), bytes.get(), -1,
            "bytes");
      }
    }
  }

  /**
   * Brings the target in line with the source for the paths the journal says changed, and nothing else: the pass
   * inside the lock costs what changed, not what the tree holds. A path created in the window (a directory moved
   * or made) is compared whole; a changed file is copied whatever its metadata says (a rewrite within one
   * timestamp tick looks unchanged); the directories around each change get their modes and times again.
   *
   * @return the pass's numbers, or {@code null} if a change cannot be applied on its own (its directory in the
   *     target is gone or is not a directory) and the caller must compare everything instead
   */
  @Nullable Stats journalPass(Map<String, ChangeJournal.Change> changes) throws IOException {
    Instant start = Instant.now();
    Path dirFixes = index.resolveSibling(index.getFileName() + ".journal-dirs");
    try (ParallelCopier copier = newCopier();
        ListingAhead<Child> listing = listing(workers);
        DataOutputStream fixes = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(dirFixes),
            1 << 16))) {
      Walk walk = new Walk(copier, listing, new DataOutputStream(java.io.OutputStream.nullOutputStream()), fixes);
      String covered = null;
      java.util.Set<String> parents = new java.util.TreeSet<>(TreeWalker.ORDER);
      for (Map.Entry<String, ChangeJournal.Change> e : changes.entrySet()) {
        String rel = e.getKey();
        if (covered != null && rel.startsWith(covered + "/")) {
          continue;
        }
        if (belowExcluded(rel)) {
          continue;
        }
        Path src = FileNames.resolve(source, rel);
        Path dst = FileNames.resolve(target, rel);
        Path dstParent = dst.getParent();
        if (dstParent == null || !Files.isDirectory(dstParent, LinkOption.NOFOLLOW_LINKS)) {
          Path srcParent = src.getParent();
          if (srcParent != null && !Files.exists(srcParent, LinkOption.NOFOLLOW_LINKS)) {
            continue; // below a directory deleted (or moved away) in the window: deleting it covered this
          }
          return null;
        }
        FileMeta sm = statOrNull(src);
        FileMeta dm = statOrNull(dst);
        int slash = rel.lastIndexOf('/');
        String parentRel = slash < 0 ? "" : rel.substring(0, slash);
        if (sm == null || excludes.excluded(rel, sm.type() == FileMeta.Type.DIRECTORY)) {
          if (dm != null) {
            delete(dst);
            parents.add(parentRel);
          }
          continue;
        }
        Child c = new Child(rel.substring(slash + 1), rel, src, sm);
        if (sm.type() == FileMeta.Type.DIRECTORY) {
          boolean created = walk.apply(c, dst, dm, false);
          if (created || e.getValue() == ChangeJournal.Change.CREATED) {
            walk.full(src, dst, rel);
            covered = rel;
          }
          writeDirFix(fixes, dst, sm);
        } else {
          walk.apply(c, dst, dm, true);
        }
        parents.add(parentRel);
      }
      for (String p : parents) {
        FileMeta pm = statOrNull(FileNames.resolve(source, p));
        Path pd = FileNames.resolve(target, p);
        if (pm != null && pm.type() == FileMeta.Type.DIRECTORY && Files.isDirectory(pd, LinkOption.NOFOLLOW_LINKS)) {
          writeDirFix(fixes, pd, pm);
        }
      }
      copier.finish();
    } catch (IOException | RuntimeException | Error e) {
      Files.deleteIfExists(dirFixes);
      Files.deleteIfExists(index); // the target no longer matches it; the next pass must compare for real
      throw e;
    }
    applyDirFixes(dirFixes);
    Files.deleteIfExists(dirFixes);
    return new Stats(scanned.get(), copied.get(), bytes.get(), deleted.get(), Duration.between(start,
        Instant.now()));
  }

  /** Returns whether an ancestor directory of {@code rel} is excluded. */
  private boolean belowExcluded(String rel) {
    int slash = rel.lastIndexOf('/');
    while (slash > 0) {
      String ancestor = rel.substring(0, slash);
      if (excludes.excluded(ancestor, true)) {
        return true;
      }
      slash = ancestor.lastIndexOf('/');
    }
    return false;
  }

  private record Child(String name, String rel, Path path, FileMeta meta) {}

  /** Lists the source's directories ahead of the walk on {@code threads} workers (none below two). */
  private ListingAhead<Child> listing(int threads) {
    return new ListingAhead<>(this::sourceChildren, new ListingAhead.Shape<>() {
      @Override
      public boolean isDirectory(Child c) {
        return c.meta.type() == FileMeta.Type.DIRECTORY;
      }

      @Override
      public Path path(Child c) {
        return c.path;
      }

      @Override
      public String rel(Child c) {
        return c.rel;
      }
    }, threads);
  }

  /**
   * Returns the source's children, sorted by name bytes, without excluded and vanished entries. Names are raw
   * ({@link FileNames}): a child's path keeps the bytes the listing gave, and copies are made at {@code
   * dst.resolve(child.getFileName())}, never through a string.
   */
  private List<Child> sourceChildren(Path dir, String rel) throws IOException {
    List<Child> out = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      for (Path p : stream) {
        String name = FileNames.rawFileName(p);
        String childRel = rel.isEmpty() ? name : rel + "/" + name;
        FileMeta meta = statOrNull(p);
        if (meta == null || excludes.excluded(childRel, meta.type() == FileMeta.Type.DIRECTORY)) {
          continue;
        }
        out.add(new Child(name, childRel, p, meta));
      }
    } catch (NoSuchFileException e) {
      return out; // vanished while Bitbucket was live; the locked pass sees the truth
    }
    out.sort(Comparator.comparing(Child::name));
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------
  // File operations

  private static @Nullable FileMeta statOrNull(Path p) throws IOException {
    try {
      return FileMeta.read(p);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  private static boolean sameDirMeta(FileMeta a, FileMeta b) {
    return a.mode() == b.mode() && a.mtime().equals(b.mtime()) && (!ROOT || a.uid() == b.uid() && a.gid() == b.gid());
  }

  private void delete(Path p) throws IOException {
    PrivateFiles.deleteTree(p);
    deleted.incrementAndGet();
  }

  private Path temp(Path dst) {
    return dst.resolveSibling(".bbdiy-tmp-" + ProcessHandle.current().pid() + "-" + tempCounter.incrementAndGet());
  }

  static void rename(Path tmp, Path dst) throws IOException {
    try {
      Files.move(tmp, dst, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, dst, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  static void setMeta(Path p, FileMeta m) throws IOException {
    if (FileMeta.unix()) {
      Files.setAttribute(p, "unix:mode", m.mode(), LinkOption.NOFOLLOW_LINKS);
    }
    setOwner(p, m);
  }

  private static void setOwner(Path p, FileMeta m) throws IOException {
    if (ROOT && FileMeta.unix() && m.uid() >= 0) {
      Files.setAttribute(p, "unix:uid", m.uid(), LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(p, "unix:gid", m.gid(), LinkOption.NOFOLLOW_LINKS);
    }
  }

  private static void writeDirFix(DataOutputStream fixes, Path dir, FileMeta meta) throws IOException {
    byte[] p = FileNames.bytes(dir);
    fixes.writeInt(p.length);
    fixes.write(p);
    fixes.writeInt(meta.mode());
    fixes.writeLong(IndexEntry.nanos(meta.mtime()));
    fixes.writeInt(meta.uid());
    fixes.writeInt(meta.gid());
  }

  private ParallelCopier newCopier() {
    return new ParallelCopier(workers, cancellation, this::temp, copied, bytes);
  }

  /** Sets directory modes, owners and times once every copy into them is done. */
  private void applyDirFixes(Path file) throws IOException {
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
      while (true) {
        int len;
        try {
          len = in.readInt();
        } catch (EOFException e) {
          return;
        }
        Path dir = FileNames.path(FileNames.latin1(in.readNBytes(len)));
        int mode = in.readInt();
        long mtime = in.readLong();
        int uid = in.readInt();
        int gid = in.readInt();
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        if (FileMeta.unix()) {
          Files.setAttribute(dir, "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
          if (ROOT && uid >= 0) {
            Files.setAttribute(dir, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(dir, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
          }
        }
        Files.setLastModifiedTime(dir, FileTime.from(mtime, TimeUnit.NANOSECONDS));
      }
    }
  }
}
