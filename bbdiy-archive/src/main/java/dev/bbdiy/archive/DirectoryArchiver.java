package dev.bbdiy.archive;

import dev.bbdiy.kit.FileMeta;
import dev.bbdiy.kit.TreeWalker;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.ExtractResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.kit.FileNames;
import dev.bbdiy.kit.LockFile;
import dev.bbdiy.kit.PrivateFiles;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Stores each backup as a plain directory {@code <dir>/<id>/} in the backup layout, with {@code manifest.json}
 * at its root: browsable with any tool, restorable with {@code cp -a}, verifiable like an archive. Written to a
 * hidden {@code .<id>.pending-<pid>} directory (0700), which {@link #commit} renames into place once the backup is
 * verified; pending directories of processes that died are removed by the next store. The store's lock is {@code
 * .bbdiy-store.lock}, an OS file lock.
 */
public final class DirectoryArchiver implements Archiver {
  private static final int BUFFER = 1 << 20;

  private final Path dir;
  private final Path tempDir;
  private final java.util.Map<BackupId, Pending> pending = new java.util.concurrent.ConcurrentHashMap<>();

  private record Pending(Path dir, StoredBackup stored) {}

  public DirectoryArchiver(Path dir, Path tempDir) {
    this.dir = dir.toAbsolutePath().normalize();
    this.tempDir = tempDir;
  }

  @Override
  public boolean compresses() {
    return false;
  }

  @Override
  public void preflight(RunContext context) {
    PrivateFiles.requireWritableDirectory(dir, "backup directory");
  }

  @Override
  public StoredBackup store(BackupContent content, RunContext ctx) {
    BackupId id = content.summary().id();
    Path target = dir.resolve(id.value());
    Path partial = dir.resolve("." + id.value() + ".pending-" + ProcessHandle.current().pid());
    try {
      PrivateFiles.createPrivateDirectories(dir);
      if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
        throw BbdiyException.refused("A backup named " + id + " already exists in " + dir + "; not replacing it");
      }
      removeStalePending();
      if (pending.containsKey(id)) {
        throw BbdiyException.refused("A backup named " + id + " is already pending in " + dir);
      }
      PrivateFiles.deleteTree(partial);
      PrivateFiles.createPrivateDirectories(partial);
      Files.createDirectories(tempDir);
      Path entries = Files.createTempFile(tempDir, "entries-", ".bin");
      long[] totals = new long[2];
      try {
        MessageDigest sha = sha256();
        ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(entries),
            1 << 16))) {
          HardLinks links = new HardLinks();
          new TreeWalker(ctx.cancellation()).walk(content.root(), content.paths(), content.sources(),
              (path, rel, meta) -> {
            Path dest = FileNames.resolve(partial, rel);
            String first = links.firstName(meta, rel);
            EntryRecord r;
            if (first != null) {
              Files.createLink(dest, FileNames.resolve(partial, first));
              r = new EntryRecord(rel, FileMeta.Type.HARDLINK, 0, null, meta.mode(), meta.mtimeSeconds(), first);
            } else {
              r = copyEntry(path, dest, rel, meta, sha, buffer);
            }
            if (r != null) {
              r.writeTo(out);
              if (r.type() == FileMeta.Type.FILE) {
                totals[0]++;
                totals[1] += r.size();
                if ((totals[0] & 63) == 0) {
                  ctx.cancellation().throwIfCancelled();
                  ctx.progress().progress("copied " + totals[0] + " files", totals[1], -1, "bytes");
                }
              }
            } else {
              ctx.progress().warning("skipped " + FileNames.display(rel) + ": not a regular file, directory or"
                  + " symbolic link");
            }
          });
        }
        BackupSummary summary = content.summary().withTotals(totals[0], totals[1]);
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(entries), 1 << 16));
            OutputStream manifest = new BufferedOutputStream(PrivateFiles.newPrivateOutput(
                partial.resolve(BackupLayout.MANIFEST)), 1 << 16)) {
          ManifestCodec.write(manifest, summary, () -> EntryRecord.readFrom(in));
        }
        fixDirectoryTimes(content, partial, ctx);
        StoredBackup stored = new StoredBackup(id, target.toString(), "directory", totals[1], Instant.now(),
            summary);
        pending.put(id, new Pending(partial, stored));
        return new StoredBackup(id, partial.toString(), "directory", totals[1], Instant.now(), summary);
      } finally {
        Files.deleteIfExists(entries);
      }
    } catch (IOException | RuntimeException e) {
      try {
        PrivateFiles.deleteTree(partial);
      } catch (IOException ignored) {
        // removed by the next store
      }
      throw BbdiyException.wrap(e, ErrorCode.PROVIDER_FAILED, "directory: cannot store " + target);
    }
  }

  @Override
  public StoredBackup commit(BackupId id) {
    Pending p = pending.get(id);
    if (p == null) {
      throw new BbdiyException(ErrorCode.NOT_FOUND, "directory: no pending backup " + id + " to publish in " + dir);
    }
    Path target = dir.resolve(id.value());
    try {
      if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
        throw BbdiyException.refused("A backup named " + id + " appeared in " + dir + " while this one was"
            + " written; not replacing it");
      }
      Files.move(p.dir(), target); // a rename within one directory: atomic
      PrivateFiles.forceDirectory(dir);
      pending.remove(id);
      return p.stored();
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "directory: cannot publish " + target + ": "
          + Extractor.reason(e), e);
    }
  }

  @Override
  public Lock lock(Duration wait, RunContext context) {
    PrivateFiles.requireWritableDirectory(dir, "backup directory");
    return LockFile.acquireStore(dir.resolve(".bbdiy-store.lock"), "the backup directory " + dir,
        context.phase().name().toLowerCase(java.util.Locale.ROOT), wait, context.cancellation(), context.progress());
  }

  private void removeStalePending() throws IOException {
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, ".*.{partial,pending}-*")) {
      for (Path p : stream) {
        String n = p.getFileName().toString();
        long pid;
        try {
          pid = Long.parseLong(n.substring(n.lastIndexOf('-') + 1));
        } catch (NumberFormatException e) {
          continue;
        }
        if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
          PrivateFiles.deleteTree(p);
        }
      }
    }
  }

  private static @Nullable EntryRecord copyEntry(Path source, Path dest, String rel, FileMeta meta, MessageDigest sha,
      ByteBuffer buffer) throws IOException {
    switch (meta.type()) {
      case DIRECTORY:
        Files.createDirectories(dest);
        return new EntryRecord(rel, FileMeta.Type.DIRECTORY, 0, null, meta.mode(), meta.mtimeSeconds(), null);
      case SYMLINK: {
        Path linkTarget = Files.readSymbolicLink(source);
        Files.createSymbolicLink(dest, linkTarget);
        Files.getFileAttributeView(dest, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
            .setTimes(FileTime.from(meta.mtimeSeconds(), TimeUnit.SECONDS), null, null);
        return new EntryRecord(rel, FileMeta.Type.SYMLINK, 0, null, meta.mode(), meta.mtimeSeconds(),
            FileNames.raw(linkTarget));
      }
      case FILE: {
        long size;
        try (FileChannel out = FileChannel.open(dest, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
          size = digest(source, out, sha, buffer);
        }
        if (size != meta.size()) {
          throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "The working copy changed while it was archived: "
              + FileNames.display(rel) + ". Nothing may write to the working directory during a backup.");
        }
        setMode(dest, meta.mode());
        Files.setLastModifiedTime(dest, FileTime.from(meta.mtimeSeconds(), TimeUnit.SECONDS));
        return new EntryRecord(rel, FileMeta.Type.FILE, size, sha.digest(), meta.mode(), meta.mtimeSeconds(), null);
      }
      default:
        return null;
    }
  }

  /** Gives the stored directories the modes and whole-second times of the originals, now that they are filled. */
  private static void fixDirectoryTimes(BackupContent content, Path storeRoot, RunContext ctx) throws IOException {
    List<String> dirs = new ArrayList<>();
    List<Path> sources = new ArrayList<>();
    new TreeWalker(ctx.cancellation()).walk(content.root(), content.paths(), content.sources(), (path, rel, meta) -> {
      if (meta.type() == FileMeta.Type.DIRECTORY) {
        dirs.add(rel);
        sources.add(path);
      }
    });
    for (int i = dirs.size() - 1; i >= 0; i--) {
      FileMeta meta = FileMeta.read(sources.get(i));
      Path d = FileNames.resolve(storeRoot, dirs.get(i));
      setMode(d, meta.mode());
      Files.setLastModifiedTime(d, FileTime.from(meta.mtimeSeconds(), TimeUnit.SECONDS));
    }
  }

  private static void setMode(Path p, int mode) throws IOException {
    if (FileMeta.unix()) {
      Files.setAttribute(p, "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
    }
  }

  @Override
  public List<StoredBackup> list() {
    List<StoredBackup> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      throw new BbdiyException(ErrorCode.NOT_FOUND, "The backup directory " + dir + " does not exist: no backup"
          + " was ever stored there. Check directory.dir.");
    }
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      for (Path p : stream) {
        String name = p.getFileName().toString();
        if (name.startsWith(".") || !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        Optional<BackupId> id = BackupId.parse(name);
        if (id.isEmpty()) {
          continue;
        }
        BackupSummary summary = null;
        Path manifest = p.resolve(BackupLayout.MANIFEST);
        if (Files.isRegularFile(manifest)) {
          try (InputStream in = new BufferedInputStream(Files.newInputStream(manifest));
              ManifestCodec.Reader r = ManifestCodec.reader(in)) {
            summary = r.summary();
          } catch (IOException | RuntimeException e) {
            summary = null;
          }
        } else if (!Files.isDirectory(p.resolve(BackupLayout.HOME))) {
          continue;
        }
        out.add(new StoredBackup(id.get(), p.toString(), "directory", summary == null ? 0 : summary.bytes(),
            Files.getLastModifiedTime(p).toInstant(), summary));
      }
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "directory: cannot list " + dir + ": " + e.getMessage(), e);
    }
    out.sort(StoredBackup.NEWEST_FIRST);
    return out;
  }

  private Path backup(BackupId id) {
    Pending pend = pending.get(id);
    if (pend != null) {
      return pend.dir();
    }
    Path p = dir.resolve(id.value());
    if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      throw new BbdiyException(ErrorCode.NOT_FOUND, "No backup " + id + " in " + dir + "; 'bbdiy list' shows"
          + " the backups there");
    }
    return p;
  }

  @Override
  public VerifyResult verify(BackupId id, RunContext ctx) {
    Instant start = Instant.now();
    BackupReading.Outcome o = read(id, null, ctx);
    return new VerifyResult(id, o.verified(), o.entries(), o.bytes(), o.problems(),
        Duration.between(start, Instant.now()));
  }

  @Override
  public ExtractResult extract(BackupId id, ExtractionPlan plan, RunContext ctx) {
    BackupReading.Outcome o = read(id, plan, ctx);
    if (!BackupReading.intact(o)) {
      throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "Backup " + id + " failed verification while it was"
          + " restored: " + String.join("; ", o.problems().subList(0, Math.min(5, o.problems().size())))
          + ". Restore an older backup.");
    }
    return new ExtractResult(o.files(), o.bytes(), o.verified());
  }

  /**
   * Walks a stored backup in canonical order and hands every entry to a {@link BackupReading}, which
   * recomputes it, copies it where the plan says, and compares the whole with the manifest.
   */
  private BackupReading.Outcome read(BackupId id, @Nullable ExtractionPlan plan, RunContext ctx) {
    Path root = backup(id);
    ByteBuffer buffer = ByteBuffer.allocate(BUFFER); // one for every file: entries are read one at a time
    try (BackupReading reading = new BackupReading(plan, tempDir, ctx.progress(), ctx.cancellation())) {
      HardLinks links = new HardLinks();
      new TreeWalker(ctx.cancellation()).walkAll(root, Set.of(BackupLayout.MANIFEST), (path, rel, meta) -> {
        String name = reading.name(rel);
        if (name == null) {
          return;
        }
        long uid = meta.uid();
        long gid = meta.gid();
        switch (meta.type()) {
          case DIRECTORY:
            reading.directory(name, meta.mode(), meta.mtimeSeconds(), uid, gid);
            break;
          case SYMLINK:
            reading.symlink(name, FileNames.raw(Files.readSymbolicLink(path)), meta.mode(), meta.mtimeSeconds(),
                uid, gid);
            break;
          case FILE: {
            String first = links.firstName(meta, name);
            if (first != null) {
              reading.hardLink(name, first, meta.mode(), meta.mtimeSeconds());
              break;
            }
            try (FileChannel in = FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
              reading.file(name, meta.mode(), meta.mtimeSeconds(), uid, gid, b -> {
                buffer.clear();
                buffer.limit(Math.min(b.length, buffer.capacity()));
                int n = in.read(buffer);
                if (n > 0) {
                  System.arraycopy(buffer.array(), 0, b, 0, n);
                }
                return n;
              });
            }
            break;
          }
          default:
            reading.special(name, "a device, pipe or socket", meta.mode(), meta.mtimeSeconds());
        }
      });
      Path manifest = root.resolve(BackupLayout.MANIFEST);
      if (Files.isRegularFile(manifest, LinkOption.NOFOLLOW_LINKS)) {
        try (InputStream in = Files.newInputStream(manifest, LinkOption.NOFOLLOW_LINKS)) {
          reading.manifest(in);
        }
      }
      return reading.finish();
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "directory: cannot read " + root + ": "
          + Extractor.reason(e), e);
    }
  }

  /** Reads {@code source} into {@code sha} (reset first), copying it to {@code copy}; returns its size. */
  private static long digest(Path source, FileChannel copy, MessageDigest sha, ByteBuffer buffer)
      throws IOException {
    sha.reset();
    long size = 0;
    try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ)) {
      while (true) {
        buffer.clear();
        int n = in.read(buffer);
        if (n < 0) {
          return size;
        }
        sha.update(buffer.array(), 0, n);
        buffer.flip();
        while (buffer.hasRemaining()) {
          copy.write(buffer);
        }
        size += n;
      }
    }
  }

  @Override
  public void delete(BackupId id) {
    Pending pend = pending.remove(id);
    try {
      if (pend != null) {
        PrivateFiles.deleteTree(pend.dir());
        return;
      }
      PrivateFiles.deleteTree(backup(id));
      PrivateFiles.forceDirectory(dir);
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "directory: cannot delete " + id + ": " + e.getMessage(), e);
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
