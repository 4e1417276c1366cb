package dev.bbdiy.core.internal.archive;

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
import dev.bbdiy.core.internal.SecureFiles;
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
 * hidden {@code .partial} directory (0700) renamed into place when complete.
 */
public final class DirectoryArchiver implements Archiver {
  private static final int BUFFER = 1 << 20;

  private final Path dir;
  private final Path tempDir;

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
    SecureFiles.requireWritableDirectory(dir, "backup directory");
  }

  @Override
  public StoredBackup store(BackupContent content, RunContext ctx) {
    BackupId id = content.summary().id();
    Path target = dir.resolve(id.value());
    Path partial = dir.resolve("." + id.value() + ".partial-" + ProcessHandle.current().pid());
    try {
      SecureFiles.createPrivateDirectories(dir);
      if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
        throw BbdiyException.refused("A backup named " + id + " already exists in " + dir + "; not replacing it");
      }
      SecureFiles.deleteTree(partial);
      SecureFiles.createPrivateDirectories(partial);
      Files.createDirectories(tempDir);
      Path entries = Files.createTempFile(tempDir, "entries-", ".bin");
      long[] totals = new long[2];
      try {
        MessageDigest sha = sha256();
        ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(entries),
            1 << 16))) {
          new TreeWalker(ctx.cancellation()).walk(content.root(), content.paths(), (path, rel, meta) -> {
            EntryRecord r = copyEntry(path, partial.resolve(rel), rel, meta, sha, buffer);
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
              ctx.progress().warning("skipped " + rel + ": not a regular file, directory or symbolic link");
            }
          });
        }
        BackupSummary summary = content.summary().withTotals(totals[0], totals[1]);
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(entries), 1 << 16));
            OutputStream manifest = new BufferedOutputStream(SecureFiles.newPrivateOutput(
                partial.resolve(BackupLayout.MANIFEST)), 1 << 16)) {
          ManifestCodec.write(manifest, summary, () -> EntryRecord.readFrom(in));
        }
        fixDirectoryTimes(content.root(), partial, content.paths(), ctx);
        Files.move(partial, target);
        SecureFiles.forceDirectory(dir);
        return new StoredBackup(id, target.toString(), "directory", totals[1], Instant.now(), summary);
      } finally {
        Files.deleteIfExists(entries);
      }
    } catch (IOException | RuntimeException e) {
      try {
        SecureFiles.deleteTree(partial);
      } catch (IOException ignored) {
        // removed by the next store
      }
      throw BbdiyException.wrap(e, ErrorCode.PROVIDER_FAILED, "directory: cannot store " + target);
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
            linkTarget.toString());
      }
      case FILE: {
        long size;
        try (FileChannel out = FileChannel.open(dest, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
          size = digest(source, out, sha, buffer);
        }
        if (size != meta.size()) {
          throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "The working copy changed while it was archived: "
              + rel + ". Nothing may write to the working directory during a backup.");
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
  private static void fixDirectoryTimes(Path sourceRoot, Path storeRoot, List<String> roots, RunContext ctx)
      throws IOException {
    List<String> dirs = new ArrayList<>();
    new TreeWalker(ctx.cancellation()).walk(sourceRoot, roots, (path, rel, meta) -> {
      if (meta.type() == FileMeta.Type.DIRECTORY) {
        dirs.add(rel);
      }
    });
    for (int i = dirs.size() - 1; i >= 0; i--) {
      FileMeta meta = FileMeta.read(sourceRoot.resolve(dirs.get(i)));
      Path d = storeRoot.resolve(dirs.get(i));
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
      return out;
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
    Outcome o = read(id, null, ctx);
    return new VerifyResult(id, o.summary != null && o.problems.isEmpty(), o.entries, o.bytes, o.problems,
        Duration.between(start, Instant.now()));
  }

  @Override
  public ExtractResult extract(BackupId id, ExtractionPlan plan, RunContext ctx) {
    Outcome o = read(id, plan, ctx);
    if (!o.problems.isEmpty() && !(o.summary == null && o.problems.size() == 1)) {
      throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "Backup " + id + " failed verification while it was"
          + " restored: " + String.join("; ", o.problems.subList(0, Math.min(5, o.problems.size())))
          + ". Restore an older backup.");
    }
    return new ExtractResult(o.files, o.bytes, o.summary != null);
  }

  private record Outcome(@Nullable BackupSummary summary, long entries, long files, long bytes, List<String> problems) {}

  /** Walks a stored backup, recomputing every entry (copying it where the plan says), then compares. */
  private Outcome read(BackupId id, @Nullable ExtractionPlan plan, RunContext ctx) {
    Path root = backup(id);
    List<String> problems = new ArrayList<>();
    long[] counts = new long[3];
    try {
      Files.createDirectories(tempDir);
      Path actual = Files.createTempFile(tempDir, "actual-", ".bin");
      try {
        MessageDigest sha = sha256();
        ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
        // Directories get their times once their contents are written: a stack along the depth-first walk.
        java.util.Deque<Object[]> openDirs = new java.util.ArrayDeque<>();
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(actual),
            1 << 16))) {
          new TreeWalker(ctx.cancellation()).walkAll(root, Set.of(BackupLayout.MANIFEST), (path, rel, meta) -> {
            Path dest = plan == null ? null : plan.resolve(rel);
            while (!openDirs.isEmpty() && (dest == null || !dest.startsWith((Path) openDirs.peek()[0]))) {
              Object[] d = openDirs.pop();
              Files.setLastModifiedTime((Path) d[0], (FileTime) d[1]);
            }
            if (dest != null && meta.type() == FileMeta.Type.DIRECTORY) {
              openDirs.push(new Object[] {dest, FileTime.from(meta.mtimeSeconds(), TimeUnit.SECONDS)});
            }
            EntryRecord r = dest == null ? record(path, rel, meta, sha, buffer) : restoreEntry(path, dest, rel, meta,
                sha, buffer);
            if (r != null) {
              r.writeTo(out);
              counts[0]++;
              if (r.type() == FileMeta.Type.FILE) {
                counts[1]++;
                counts[2] += r.size();
              }
            }
          });
        }
        while (!openDirs.isEmpty()) {
          Object[] d = openDirs.pop();
          Files.setLastModifiedTime((Path) d[0], (FileTime) d[1]);
        }
        Path manifest = root.resolve(BackupLayout.MANIFEST);
        BackupSummary summary = null;
        if (Files.isRegularFile(manifest)) {
          summary = TarBackupReader.compare(manifest, actual, counts[1], counts[2], problems);
        } else {
          problems.add("The backup has no " + BackupLayout.MANIFEST + ": it cannot be verified");
        }
        return new Outcome(summary, counts[0], counts[1], counts[2], problems);
      } finally {
        Files.deleteIfExists(actual);
      }
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "directory: cannot read " + root + ": " + e.getMessage(), e);
    }
  }

  private static @Nullable EntryRecord record(Path path, String rel, FileMeta meta, MessageDigest sha,
      ByteBuffer buffer) throws IOException {
    switch (meta.type()) {
      case DIRECTORY:
        return new EntryRecord(rel, FileMeta.Type.DIRECTORY, 0, null, meta.mode(), meta.mtimeSeconds(), null);
      case SYMLINK:
        return new EntryRecord(rel, FileMeta.Type.SYMLINK, 0, null, meta.mode(), meta.mtimeSeconds(),
            Files.readSymbolicLink(path).toString());
      case FILE: {
        long size = digest(path, null, sha, buffer);
        return new EntryRecord(rel, FileMeta.Type.FILE, size, sha.digest(), meta.mode(), meta.mtimeSeconds(), null);
      }
      default:
        return null;
    }
  }

  /** Reads {@code source} into {@code sha} (reset first), copying it to {@code copy} if given; returns its size. */
  private static long digest(Path source, @Nullable FileChannel copy, MessageDigest sha, ByteBuffer buffer)
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
        if (copy != null) {
          buffer.flip();
          while (buffer.hasRemaining()) {
            copy.write(buffer);
          }
        }
        size += n;
      }
    }
  }

  private static @Nullable EntryRecord restoreEntry(Path source, Path dest, String rel, FileMeta meta,
      MessageDigest sha, ByteBuffer buffer) throws IOException {
    try {
      if (Files.isSymbolicLink(dest.getParent())) {
        throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "Refusing to write " + dest + " through a link");
      }
      if (meta.type() == FileMeta.Type.DIRECTORY) {
        if (!Files.isDirectory(dest, LinkOption.NOFOLLOW_LINKS)) {
          Files.createDirectories(dest);
        }
        EntryRecord r = record(source, rel, meta, sha, buffer);
        setMode(dest, meta.mode());
        return r;
      }
      Files.createDirectories(dest.getParent());
      EntryRecord r = copyEntry(source, dest, rel, meta, sha, buffer);
      return r;
    } catch (FileAlreadyExistsException e) {
      throw BbdiyException.refused("Restore refuses to overwrite " + dest + ". Restore into empty directories only.");
    }
  }

  @Override
  public void delete(BackupId id) {
    try {
      SecureFiles.deleteTree(backup(id));
      SecureFiles.forceDirectory(dir);
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
