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

  /**
   * Reads the metadata of {@code path}, not following a symbolic link: one {@code lstat}. Millions of files are
   * read this way, so where {@code java.base/sun.nio.fs} is opened (see {@link FileNames}) the JDK's own result of
   * {@code lstat} is read directly, not through the attribute map of {@code Files.readAttributes}, which costs
   * several times the system call.
   */
  public static FileMeta read(Path path) throws IOException {
    if (Lstat.AVAILABLE && Lstat.UNIX_PATH.isInstance(path)) {
      return Lstat.read(path);
    }
    if (UNIX) {
      Map<String, Object> a = Files.readAttributes(path, UNIX_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
      int rawMode = attribute(a, "mode", Integer.class);
      return new FileMeta(typeOf(rawMode), attribute(a, "size", Long.class), rawMode & 07777,
          attribute(a, "lastModifiedTime", FileTime.class), attribute(a, "ctime", FileTime.class),
          attribute(a, "uid", Integer.class), attribute(a, "gid", Integer.class), attribute(a, "ino", Long.class),
          attribute(a, "dev", Long.class), attribute(a, "nlink", Integer.class));
    }
    BasicFileAttributes b = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    Type type = b.isRegularFile() ? Type.FILE
        : b.isDirectory() ? Type.DIRECTORY : b.isSymbolicLink() ? Type.SYMLINK : Type.OTHER;
    int mode = type == Type.DIRECTORY ? 0755 : 0644;
    return new FileMeta(type, b.size(), mode, b.lastModifiedTime(), b.lastModifiedTime(), -1, -1, -1, -1, 1);
  }

  /** One of the attributes asked for, which the unix view always gives. */
  private static <T> T attribute(Map<String, Object> attributes, String name, Class<T> type) throws IOException {
    Object value = attributes.get(name);
    if (!type.isInstance(value)) {
      throw new IOException("the file system gave no " + name + " attribute");
    }
    return type.cast(value);
  }

  private static Type typeOf(int rawMode) {
    switch (rawMode & 0170000) {
      case 0100000:
        return Type.FILE;
      case 0040000:
        return Type.DIRECTORY;
      case 0120000:
        return Type.SYMLINK;
      default:
        return Type.OTHER;
    }
  }

  /**
   * The JDK's {@code lstat} result, read through method handles; absent unless {@code sun.nio.fs} is opened. The
   * handles are null exactly when {@code AVAILABLE} is false, and are only used when it is true.
   */
  @SuppressWarnings("NullAway")
  private static final class Lstat {
    static final boolean AVAILABLE;
    static final Class<?> UNIX_PATH;
    private static final java.lang.invoke.MethodHandle GET;
    private static final java.lang.invoke.MethodHandle MODE;
    private static final java.lang.invoke.MethodHandle INO;
    private static final java.lang.invoke.MethodHandle DEV;
    private static final java.lang.invoke.MethodHandle NLINK;
    private static final java.lang.invoke.MethodHandle UID;
    private static final java.lang.invoke.MethodHandle GID;
    private static final java.lang.invoke.MethodHandle SIZE;
    private static final java.lang.invoke.MethodHandle MTIME;
    private static final java.lang.invoke.MethodHandle CTIME;
    private static final java.lang.invoke.MethodHandle TO_IO;

    static {
      boolean ok = false;
      Class<?> unixPath = Path.class;
      java.lang.invoke.MethodHandle get = null;
      java.lang.invoke.MethodHandle mode = null;
      java.lang.invoke.MethodHandle ino = null;
      java.lang.invoke.MethodHandle dev = null;
      java.lang.invoke.MethodHandle nlink = null;
      java.lang.invoke.MethodHandle uid = null;
      java.lang.invoke.MethodHandle gid = null;
      java.lang.invoke.MethodHandle size = null;
      java.lang.invoke.MethodHandle mtime = null;
      java.lang.invoke.MethodHandle ctime = null;
      java.lang.invoke.MethodHandle toIo = null;
      try {
        unixPath = Class.forName("sun.nio.fs.UnixPath");
        Class<?> attrs = Class.forName("sun.nio.fs.UnixFileAttributes");
        Class<?> unixException = Class.forName("sun.nio.fs.UnixException");
        var lookup = java.lang.invoke.MethodHandles.privateLookupIn(attrs, java.lang.invoke.MethodHandles.lookup());
        get = lookup.findStatic(attrs, "get", java.lang.invoke.MethodType.methodType(attrs, unixPath,
            boolean.class));
        mode = lookup.findVirtual(attrs, "mode", java.lang.invoke.MethodType.methodType(int.class));
        ino = lookup.findVirtual(attrs, "ino", java.lang.invoke.MethodType.methodType(long.class));
        dev = lookup.findVirtual(attrs, "dev", java.lang.invoke.MethodType.methodType(long.class));
        nlink = lookup.findVirtual(attrs, "nlink", java.lang.invoke.MethodType.methodType(int.class));
        uid = lookup.findVirtual(attrs, "uid", java.lang.invoke.MethodType.methodType(int.class));
        gid = lookup.findVirtual(attrs, "gid", java.lang.invoke.MethodType.methodType(int.class));
        size = lookup.findVirtual(attrs, "size", java.lang.invoke.MethodType.methodType(long.class));
        mtime = lookup.findVirtual(attrs, "lastModifiedTime", java.lang.invoke.MethodType.methodType(FileTime.class));
        ctime = lookup.findVirtual(attrs, "ctime", java.lang.invoke.MethodType.methodType(FileTime.class));
        var exLookup = java.lang.invoke.MethodHandles.privateLookupIn(unixException,
            java.lang.invoke.MethodHandles.lookup());
        toIo = exLookup.findVirtual(unixException, "translateToIOException", java.lang.invoke.MethodType
            .methodType(IOException.class, String.class, String.class));
        ok = true;
      } catch (ReflectiveOperationException | RuntimeException e) {
        ok = false;
      }
      AVAILABLE = ok;
      UNIX_PATH = unixPath;
      GET = get;
      MODE = mode;
      INO = ino;
      DEV = dev;
      NLINK = nlink;
      UID = uid;
      GID = gid;
      SIZE = size;
      MTIME = mtime;
      CTIME = ctime;
      TO_IO = toIo;
    }

    static FileMeta read(Path path) throws IOException {
      Object a;
      try {
        a = GET.invoke(path, false);
      } catch (Throwable t) {
        if (t.getClass().getName().equals("sun.nio.fs.UnixException")) {
          try {
            throw (IOException) TO_IO.invoke(t, path.toString(), null);
          } catch (IOException e) {
            throw e;
          } catch (Throwable other) {
            throw new IOException(path + ": " + t.getMessage(), t);
          }
        }
        if (t instanceof RuntimeException) {
          throw (RuntimeException) t;
        }
        throw new IOException(t);
      }
      try {
        int rawMode = (int) MODE.invoke(a);
        return new FileMeta(typeOf(rawMode), (long) SIZE.invoke(a), rawMode & 07777, (FileTime) MTIME.invoke(a),
            (FileTime) CTIME.invoke(a), (int) UID.invoke(a), (int) GID.invoke(a), (long) INO.invoke(a),
            (long) DEV.invoke(a), (int) NLINK.invoke(a));
      } catch (Throwable t) {
        throw new IllegalStateException("Cannot read the result of lstat", t);
      }
    }
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
