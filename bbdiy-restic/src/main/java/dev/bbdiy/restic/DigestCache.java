package dev.bbdiy.restic;

import dev.bbdiy.kit.FileMeta;
import dev.bbdiy.kit.PrivateFiles;
import dev.bbdiy.kit.TreeWalker;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The SHA-256 of every file of the last backup with the attributes it had then (size, modification and change
 * time in nanoseconds, inode, device), so that the manifest of the next backup need not read files that did not
 * change, as restic itself does not. A file whose content changes gets a new change time, which no unprivileged
 * process can set back. Read and written in the walk's canonical order, so it is merged with the walk in constant
 * memory. A damaged or missing cache only costs time: every file is read.
 */
final class DigestCache implements Closeable {
  private static final int MAGIC = 0x62726463; // "brdc"

  private final @Nullable DataInputStream in;
  private final DataOutputStream out;
  private final Path next;
  private final Path file;
  private @Nullable Cached current;
  private long hits;

  private record Cached(String path, long size, long mtime, long ctime, long inode, long device, byte[] sha) {}

  DigestCache(Path file) throws IOException {
    this.file = file;
    this.next = file.resolveSibling(file.getFileName() + ".next");
    DataInputStream reader = null;
    if (Files.isRegularFile(file)) {
      reader = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16));
      try {
        if (reader.readInt() != MAGIC) {
          reader.close();
          reader = null;
        }
      } catch (IOException e) {
        reader.close();
        reader = null;
      }
    }
    this.in = reader;
    Files.deleteIfExists(next);
    this.out = new DataOutputStream(new BufferedOutputStream(PrivateFiles.newPrivateOutput(next), 1 << 16));
    out.writeInt(MAGIC);
    advance();
  }

  /**
   * Returns the cached digest of {@code path} if its attributes did not change since, or {@code null}.
   *
   * @param anyDevice whether the device may differ: a file read from a file-system snapshot is on the snapshot's
   *     device, a new one for each snapshot (btrfs subvolume, LVM snapshot, ZFS snapshot), while its inode and
   *     times are the original's; an unchanged inode, size and times to the nanosecond then still mean the same
   *     content, since a write changes the change time, which no unprivileged process can set back
   */
  byte @Nullable [] lookup(String path, FileMeta meta, boolean anyDevice) throws IOException {
    while (current != null && TreeWalker.ORDER.compare(current.path(), path) < 0) {
      advance();
    }
    Cached c = current;
    if (c != null && c.path().equals(path) && c.size() == meta.size() && c.mtime() == nanos(meta.mtime())
        && c.ctime() == nanos(meta.ctime()) && c.inode() == meta.inode() && (anyDevice || c.device() == meta.device())
        && meta.inode() != -1) {
      hits++;
      return c.sha().clone();
    }
    return null;
  }

  /** Records the digest of a file of this backup, in canonical order. */
  void record(String path, FileMeta meta, byte[] sha) throws IOException {
    out.writeUTF(path.length() > 16_000 ? "" : path);
    out.writeLong(meta.size());
    out.writeLong(nanos(meta.mtime()));
    out.writeLong(nanos(meta.ctime()));
    out.writeLong(meta.inode());
    out.writeLong(meta.device());
    out.write(sha);
  }

  long hits() {
    return hits;
  }

  /** Makes what was recorded the cache of the next backup. */
  void save() throws IOException {
    out.close();
    PrivateFiles.moveAtomically(next, file);
  }

  @Override
  public void close() throws IOException {
    try {
      out.close();
      Files.deleteIfExists(next);
    } finally {
      if (in != null) {
        in.close();
      }
    }
  }

  private void advance() throws IOException {
    current = null;
    if (in == null) {
      return;
    }
    try {
      String path = in.readUTF();
      long size = in.readLong();
      long mtime = in.readLong();
      long ctime = in.readLong();
      long inode = in.readLong();
      long device = in.readLong();
      byte[] sha = new byte[32];
      in.readFully(sha);
      current = new Cached(path, size, mtime, ctime, inode, device, sha);
    } catch (EOFException e) {
      current = null;
    }
  }

  private static long nanos(java.nio.file.attribute.FileTime t) {
    return t.to(TimeUnit.NANOSECONDS);
  }
}
