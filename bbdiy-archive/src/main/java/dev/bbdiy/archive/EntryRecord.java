package dev.bbdiy.archive;

import dev.bbdiy.kit.FileMeta;

import dev.bbdiy.kit.FileNames;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One entry of a backup as the manifest records it and as verification recomputes it. Names are {@linkplain
 * FileNames raw names}: bytes, whatever their encoding.
 *
 * @param path the raw path in the backup layout, '/'-separated
 * @param type file, directory, symbolic link or hard link
 * @param size bytes of a file, 0 otherwise
 * @param sha256 the SHA-256 of a file's content, {@code null} otherwise
 * @param mode permission bits
 * @param mtime modification time, whole seconds since the epoch
 * @param target the raw target of a symbolic link, or the raw path of the file a hard link names; {@code null}
 *     otherwise
 */
public record EntryRecord(
    String path, FileMeta.Type type, long size, byte @Nullable [] sha256, int mode, long mtime,
    @Nullable String target) {

  private static final HexFormat HEX = HexFormat.of();

  /** Returns the digest as lower-case hex, or {@code null}. */
  public @Nullable String sha256Hex() {
    return sha256 == null ? null : HEX.formatHex(sha256);
  }

  /** Returns the path for humans. */
  public String displayPath() {
    return FileNames.display(path);
  }

  /**
   * Describes how {@code actual} differs from this expected entry, or returns {@code null} if it matches.
   */
  public @Nullable String difference(EntryRecord actual) {
    String p = displayPath();
    if (type != actual.type) {
      return p + ": expected a " + name(type) + ", found a " + name(actual.type);
    }
    if (type == FileMeta.Type.FILE) {
      if (size != actual.size) {
        return p + ": size " + actual.size + ", expected " + size;
      }
      if (!Arrays.equals(sha256, actual.sha256)) {
        return p + ": content changed (SHA-256 " + actual.sha256Hex() + ", expected " + sha256Hex() + ")";
      }
    }
    if ((type == FileMeta.Type.SYMLINK || type == FileMeta.Type.HARDLINK) && !Objects.equals(target, actual.target)) {
      return p + ": link target '" + show(actual.target) + "', expected '" + show(target) + "'";
    }
    if (type != FileMeta.Type.HARDLINK && mode != actual.mode) {
      return p + ": mode " + Integer.toOctalString(actual.mode) + ", expected " + Integer.toOctalString(mode);
    }
    if (type != FileMeta.Type.DIRECTORY && type != FileMeta.Type.HARDLINK && mtime != actual.mtime) {
      return p + ": modification time " + actual.mtime + ", expected " + mtime;
    }
    return null;
  }

  private static String show(@Nullable String raw) {
    return raw == null ? "" : FileNames.display(raw);
  }

  static String name(FileMeta.Type t) {
    return t == FileMeta.Type.HARDLINK ? "hard link" : t.name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Writes this record in the compact binary form verification uses for its temporary lists. */
  public void writeTo(DataOutputStream out) throws IOException {
    byte[] p = FileNames.toBytes(path);
    out.writeInt(p.length);
    out.write(p);
    out.writeByte(type.code());
    out.writeLong(size);
    out.writeBoolean(sha256 != null);
    if (sha256 != null) {
      out.write(sha256);
    }
    out.writeInt(mode);
    out.writeLong(mtime);
    out.writeBoolean(target != null);
    if (target != null) {
      byte[] t = FileNames.toBytes(target);
      out.writeInt(t.length);
      out.write(t);
    }
  }

  /** Reads a record written by {@link #writeTo}, or returns {@code null} at the end. */
  public static @Nullable EntryRecord readFrom(DataInputStream in) throws IOException {
    int len;
    try {
      len = in.readInt();
    } catch (EOFException e) {
      return null;
    }
    byte[] p = in.readNBytes(len);
    FileMeta.Type type = FileMeta.Type.of((char) in.readByte());
    long size = in.readLong();
    byte[] digest = null;
    if (in.readBoolean()) {
      digest = in.readNBytes(32);
    }
    int mode = in.readInt();
    long mtime = in.readLong();
    String target = null;
    if (in.readBoolean()) {
      target = FileNames.latin1(in.readNBytes(in.readInt()));
    }
    return new EntryRecord(FileNames.latin1(p), type, size, digest, mode, mtime, target);
  }
}
