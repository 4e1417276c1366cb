package dev.bbdiy.copy;

import dev.bbdiy.kit.FileMeta;
import dev.bbdiy.kit.FileNames;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * One entry of a {@link Mirror}'s index: what a pass saw of a source entry, written in binary so that the next
 * pass compares the source with it instead of reading the target's metadata.
 */
final class IndexEntry {
  final String path;
  final char type;
  final long size;
  final long mtime;
  final long ctime;
  final long inode;
  final int mode;
  final int uid;
  final int gid;

  IndexEntry(String path, char type, long size, long mtime, long ctime, long inode, int mode, int uid, int gid) {
    this.path = path;
    this.type = type;
    this.size = size;
    this.mtime = mtime;
    this.ctime = ctime;
    this.inode = inode;
    this.mode = mode;
    this.uid = uid;
    this.gid = gid;
  }

  boolean matches(FileMeta m) {
    return type == m.type().code() && size == m.size() && mtime == nanos(m.mtime()) && ctime == nanos(m.ctime())
        && inode == m.inode() && mode == m.mode() && uid == m.uid() && gid == m.gid();
  }

  static void write(DataOutputStream out, String path, FileMeta m) throws IOException {
    byte[] p = FileNames.toBytes(path);
    out.writeInt(p.length);
    out.write(p);
    out.writeChar(m.type().code());
    out.writeLong(m.size());
    out.writeLong(nanos(m.mtime()));
    out.writeLong(nanos(m.ctime()));
    out.writeLong(m.inode());
    out.writeInt(m.mode());
    out.writeInt(m.uid());
    out.writeInt(m.gid());
  }

  static @Nullable IndexEntry read(DataInputStream in) throws IOException {
    int len;
    try {
      len = in.readInt();
    } catch (EOFException e) {
      return null;
    }
    String path = FileNames.latin1(in.readNBytes(len));
    return new IndexEntry(path, in.readChar(), in.readLong(), in.readLong(), in.readLong(), in.readLong(),
        in.readInt(), in.readInt(), in.readInt());
  }

  static long nanos(FileTime t) {
    return t.to(TimeUnit.NANOSECONDS);
  }

  static long nanos(Instant t) {
    return TimeUnit.SECONDS.toNanos(t.getEpochSecond()) + t.getNano();
  }
}
