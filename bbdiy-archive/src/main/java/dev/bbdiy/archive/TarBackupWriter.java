package dev.bbdiy.archive;

import dev.bbdiy.kit.FileMeta;

import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ContentSource;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.kit.FileNames;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Writes a backup as a tar stream in one pass: entries in canonical order, each file hashed with SHA-256 while it
 * is copied, and {@code manifest.json} (summary and every entry) as the last entry. Memory stays constant: the
 * entry list goes to a temporary file until the manifest is written.
 *
 * <p>Names are bytes ({@linkplain dev.bbdiy.kit.FileNames raw names}), written as they are in the
 * ustar header and, when longer than 100 bytes, in GNU tar's long name entries (pax headers would have to be
 * UTF-8); pax headers carry only numbers too large for ustar. Numeric owners only, whole-second modification
 * times, symbolic links as links, hard links as links to the first name of the file (recorded in the manifest
 * too). Special files (sockets, pipes, devices) are skipped with a warning. GNU tar extracts the result byte for
 * byte.
 */
public final class TarBackupWriter implements Closeable {
  private static final int BUFFER = 1 << 20;

  private final OutputStream out;
  private final TarArchiveOutputStream tar;
  private final Path entriesFile;
  private final ManifestCodec.EntriesWriter entries;
  private final ProgressReporter progress;
  private final CancellationSignal cancellation;
  private final AsyncDigest sha256 = new AsyncDigest("bbdiy-sha256", 16, BUFFER);
  private final HardLinks hardLinks = new HardLinks();
  private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
  private long files;
  private long bytes;
  private long entryCount;
  private boolean finished;

  /**
   * Starts a writer.
   *
   * @param out where the (already compressing) tar stream goes; closed by {@link #close()}
   * @param tempDir where the temporary entry list is kept
   */
  public TarBackupWriter(OutputStream out, Path tempDir, ProgressReporter progress, CancellationSignal cancellation)
      throws IOException {
    this.out = out;
    // ISO-8859-1 maps each character of a raw name to its byte: names reach the archive exactly as they are.
    this.tar = new TarArchiveOutputStream(out, TarConstants.DEFAULT_RCDSIZE * 20, "ISO-8859-1");
    tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_GNU);
    tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    tar.setAddPaxHeadersForNonAsciiNames(false);
    Files.createDirectories(tempDir);
    // The manifest's entries are encoded as they come, on the digest thread: nothing is left to do at the end.
    this.entriesFile = Files.createTempFile(tempDir, "entries-", ".json");
    this.entries = new ManifestCodec.EntriesWriter(entriesFile);
    this.progress = progress;
    this.cancellation = cancellation;
  }

  /** Adds the entries under {@code roots} (relative paths below {@code base}) and their ancestors. */
  public void add(Path base, List<String> roots) throws IOException {
    add(base, roots, List.of());
  }

  /**
   * Adds the entries under {@code roots} and their ancestors, reading the roots that have a content source from
   * its directory.
   */
  public void add(Path base, List<String> roots, List<ContentSource> sources) throws IOException {
    int readers = Math.max(2, Math.min(8, Runtime.getRuntime().availableProcessors() * 2));
    try (Prefetch ahead = new Prefetch(base, roots, sources, cancellation, readers)) {
      Prefetch.Item item;
      while ((item = ahead.next()) != null) {
        FileMeta meta = java.util.Objects.requireNonNull(item.meta());
        if (item.content() != null) {
          Prefetch.Content content = ahead.content(item);
          try {
            addSmallFile(item.relative(), meta, content);
          } finally {
            ahead.release(content.length());
          }
        } else {
          addEntry(item.path(), item.relative(), meta);
        }
      }
    }
  }

  /** Adds a file read ahead, with its digest. */
  private void addSmallFile(String rel, FileMeta meta, Prefetch.Content content) throws IOException {
    if (hardLink(rel, meta)) {
      return;
    }
    TarArchiveEntry e = entry(rel, TarConstants.LF_NORMAL, meta, 0100000);
    e.setSize(content.length());
    tar.putArchiveEntry(e);
    tar.write(content.data(), 0, content.length());
    tar.closeArchiveEntry();
    files++;
    bytes += content.length();
    EntryRecord r = new EntryRecord(rel, FileMeta.Type.FILE, content.length(), content.sha256(), meta.mode(),
        meta.mtimeSeconds(), null);
    sha256.then(() -> record(r));
    if ((files & 1023) == 0) {
      cancellation.throwIfCancelled();
      progress.progress("archived " + files + " files", bytes, -1, "bytes");
    }
  }

  /** Writes {@code rel} as a hard link if it is another name of a file stored before; returns whether it did. */
  private boolean hardLink(String rel, FileMeta meta) throws IOException {
    String first = hardLinks.firstName(meta, rel);
    if (first == null) {
      return false;
    }
    TarArchiveEntry link = entry(rel, TarConstants.LF_LINK, meta, 0100000);
    link.setLinkName(first);
    tar.putArchiveEntry(link);
    tar.closeArchiveEntry();
    EntryRecord r = new EntryRecord(rel, FileMeta.Type.HARDLINK, 0, null, meta.mode(), meta.mtimeSeconds(), first);
    sha256.then(() -> record(r));
    return true;
  }

  /** Returns the regular files written so far. */
  public long files() {
    return files;
  }

  /** Returns the content bytes written so far. */
  public long bytes() {
    return bytes;
  }

  private void addEntry(Path path, String rel, FileMeta meta) throws IOException {
    switch (meta.type()) {
      case FILE:
        addFile(path, rel, meta);
        break;
      case DIRECTORY: {
        TarArchiveEntry e = entry(rel + "/", TarConstants.LF_DIR, meta, 040000);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
        EntryRecord r = new EntryRecord(rel, FileMeta.Type.DIRECTORY, 0, null, meta.mode(), meta.mtimeSeconds(), null);
        sha256.then(() -> record(r));
        break;
      }
      case SYMLINK: {
        String target = FileNames.raw(Files.readSymbolicLink(path));
        TarArchiveEntry e = entry(rel, TarConstants.LF_SYMLINK, meta, 0120000);
        e.setLinkName(target);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
        EntryRecord r = new EntryRecord(rel, FileMeta.Type.SYMLINK, 0, null, meta.mode(), meta.mtimeSeconds(),
            target);
        sha256.then(() -> record(r));
        break;
      }
      default:
        progress.warning("skipped " + FileNames.display(rel) + ": not a regular file, directory or symbolic link");
    }
  }

  private void addFile(Path path, String rel, FileMeta meta) throws IOException {
    if (hardLink(rel, meta)) {
      return;
    }
    TarArchiveEntry e = entry(rel, TarConstants.LF_NORMAL, meta, 0100000);
    e.setSize(meta.size());
    tar.putArchiveEntry(e);
    long remaining = meta.size();
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      while (remaining > 0) {
        buffer.clear();
        if (remaining < BUFFER) {
          buffer.limit((int) remaining);
        }
        int n = ch.read(buffer);
        if (n < 0) {
          throw changed(rel, "shrank");
        }
        sha256.update(buffer.array(), 0, n);
        tar.write(buffer.array(), 0, n);
        remaining -= n;
        bytes += n;
      }
      buffer.clear().limit(1);
      if (ch.read(buffer) > 0) {
        throw changed(rel, "grew");
      }
    }
    tar.closeArchiveEntry();
    files++;
    long size = meta.size();
    int mode = meta.mode();
    long mtime = meta.mtimeSeconds();
    sha256.end(digest -> record(new EntryRecord(rel, FileMeta.Type.FILE, size, digest, mode, mtime, null)));
    if ((files & 63) == 0) {
      cancellation.throwIfCancelled();
      progress.progress("archived " + files + " files", bytes, -1, "bytes");
    }
  }

  private static BbdiyException changed(String rel, String how) {
    return Prefetch.changed(rel, how);
  }

  private static TarArchiveEntry entry(String name, byte linkFlag, FileMeta meta, int typeBits) {
    TarArchiveEntry e = new TarArchiveEntry(name, linkFlag, false);
    e.setMode(typeBits | meta.mode());
    e.setModTime(FileTime.from(meta.mtimeSeconds(), TimeUnit.SECONDS));
    e.setUserName("");
    e.setGroupName("");
    if (meta.uid() >= 0) {
      e.setUserId((long) meta.uid());
    }
    if (meta.gid() >= 0) {
      e.setGroupId((long) meta.gid());
    }
    return e;
  }

  /** Appends an entry to the list; runs on the digest thread, in entry order. */
  private void record(EntryRecord r) {
    try {
      entries.add(r);
      entryCount++;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Writes {@code manifest.json} with the summary (totals filled in) and every entry, and ends the tar stream.
   *
   * @return the summary with totals
   */
  public BackupSummary finish(BackupSummary summary) throws IOException {
    sha256.finish();
    if (hardLinks.unlinked() > 0) {
      progress.warning(hardLinks.unlinked() + " names of files with several hard links were stored as separate"
          + " files (more than " + HardLinks.LIMIT + " such files had links still to come): their content is"
          + " complete, a restore does not link them");
    }
    entries.close();
    BackupSummary withTotals = summary.withTotals(files, bytes);
    Path manifest = entriesFile.resolveSibling(entriesFile.getFileName() + ".manifest.json");
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(manifest), 1 << 16)) {
      ManifestCodec.write(out, withTotals, entriesFile);
    }
    TarArchiveEntry e = new TarArchiveEntry(BackupLayout.MANIFEST, TarConstants.LF_NORMAL, false);
    e.setSize(Files.size(manifest));
    e.setMode(0100644);
    e.setModTime(FileTime.from(Instant.now().getEpochSecond(), TimeUnit.SECONDS));
    e.setUserName("");
    e.setGroupName("");
    tar.putArchiveEntry(e);
    try (InputStream in = Files.newInputStream(manifest)) {
      in.transferTo(tar);
    }
    tar.closeArchiveEntry();
    tar.finish();
    Files.deleteIfExists(manifest);
    Files.deleteIfExists(entriesFile);
    finished = true;
    return withTotals;
  }

  /** Returns the number of entries written. */
  public long entries() {
    return entryCount;
  }

  /** Closes the stream; if {@link #finish} was not called the output is incomplete and must be discarded. */
  @Override
  public void close() throws IOException {
    sha256.close();
    try {
      entries.close();
      if (finished) {
        tar.close();
      } else {
        // No tar end record: an unfinished archive must not look whole. The caller discards it.
        out.close();
      }
    } finally {
      Files.deleteIfExists(entriesFile);
    }
  }
}
