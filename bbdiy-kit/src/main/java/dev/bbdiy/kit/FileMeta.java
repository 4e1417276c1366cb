package dev.bbdiy.kit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Map;

/**
 * What bbdiy records of a file system entry, read without following symbolic links and without resolving user
 * names (numeric ids only: name lookups are slow over millions of files and meaningless on another host).
 *
 * @param type the kind of entry
 * @param size bytes, for regular files
 * @param mode permission bits ({@code 07777}); 0644/0755 where the file system has none
 * @param mtime modification time
 * @param ctime status change time (equal to mtime where unknown)
 * @param uid owner id, -1 where unknown
 * @param gid group id, -1 where unknown
 * @param inode inode number, -1 where unknown
 * @param device the id of the device holding it, -1 where unknown
 * @param links the number of hard links to it, 1 where unknown
 */
public record FileMeta(Type type, long size, int mode, FileTime mtime, FileTime ctime, int uid, int gid, long inode,
    long device, int links) {

  /** Kinds of file system entries. */
  public enum Type {
    FILE('f'), DIRECTORY('d'), SYMLINK('l'),
    /** In an archive or manifest: another name of a file stored earlier (a hard link). */
    HARDLINK('h'),
    /** A socket, pipe or device: never backed up. */
    OTHER('o');

    private final char code;

    Type(char code) {
      this.code = code;
    }

    public char code() {
      return code;
    }

    public static Type of(char code) {
      for (Type t : values()) {
        if (t.code == code) {
          return t;
        }
      }
      throw new IllegalArgumentException("Unknown entry type " + code);
    }
  }

  private static final boolean UNIX =
      java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("unix");
  private static final String UNIX_ATTRIBUTES = "unix:mode,uid,gid,size,lastModifiedTime,ctime,ino,dev,nlink";

  /** Reads the metadata of {@code path}, not following a symbolic link. */
  public static FileMeta read(Path path) throws IOException {
    if (UNIX) {
      Map<String, Object> a = Files.readAttributes(path, UNIX_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
      int rawMode = (Integer) a.get("mode");
      Type type;
      switch (rawMode & 0170000) {
        case 0100000:
          type = Type.FILE;
          break;
        case 0040000:
          type = Type.DIRECTORY;
          break;
        case 0120000:
          type = Type.SYMLINK;
          break;
        default:
          type = Type.OTHER;
      }
      return new FileMeta(type, (Long) a.get("size"), rawMode & 07777, (FileTime) a.get("lastModifiedTime"),
          (FileTime) a.get("ctime"), (Integer) a.get("uid"), (Integer) a.get("gid"), (Long) a.get("ino"),
          (Long) a.get("dev"), (Integer) a.get("nlink"));
    }
    BasicFileAttributes b = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    Type type = b.isRegularFile() ? Type.FILE
        : b.isDirectory() ? Type.DIRECTORY : b.isSymbolicLink() ? Type.SYMLINK : Type.OTHER;
    int mode = type == Type.DIRECTORY ? 0755 : 0644;
    return new FileMeta(type, b.size(), mode, b.lastModifiedTime(), b.lastModifiedTime(), -1, -1, -1, -1, 1);
  }

  /** Returns whether the platform reports POSIX modes and numeric owners. */
  public static boolean unix() {
    return UNIX;
  }

  /** Returns the modification time in whole seconds, the precision tar and the manifest keep. */
  public long mtimeSeconds() {
    return Math.floorDiv(mtime.toMillis(), 1000);
  }
}
