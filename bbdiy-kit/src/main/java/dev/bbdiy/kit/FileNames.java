package dev.bbdiy.kit;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * File names as bytes. Linux file names are byte strings; Java's {@link Path#toString()} decodes them with the
 * JVM's file name encoding ({@code sun.jnu.encoding}, set from the locale, which cron and systemd often leave
 * unset), replacing what it cannot decode. Two files {@code x-\xff} and {@code x-\xfe} then have the same
 * string, and a name read as a string and turned back into a path names another file or none.
 *
 * <p>bbdiy therefore never turns a file name into text and back. It carries names as <em>raw names</em>: Java
 * strings in which each character is one byte of the name (the ISO-8859-1 decoding of the bytes, so {@code
 * U+0000..U+00FF} only). Raw names compare in byte order, are exact map keys, and become paths again with
 * {@link #resolve}. They are turned into text only for humans ({@link #display}) and into UTF-8 text where a
 * format needs text and the name is valid UTF-8 ({@link #utf8}).
 *
 * <p>The bytes of a path come from the JDK's Unix file system when {@code java.base/sun.nio.fs} is opened to
 * bbdiy (the command line's jar does it; library users add {@code --add-opens
 * java.base/sun.nio.fs=ALL-UNNAMED}). Without it, names that the JVM's encoding represents exactly still work;
 * any other name fails loudly with {@link ErrorCode#CONFIGURATION} instead of being lost.
 */
public final class FileNames {
  private static final @Nullable MethodHandle AS_BYTES;
  private static final @Nullable MethodHandle NEW_PATH;
  private static final @Nullable Class<?> UNIX_PATH;
  private static final FileSystem DEFAULT = FileSystems.getDefault();
  private static final Charset JNU = jnuCharset();
  private static final String ADD_OPENS = "--add-opens java.base/sun.nio.fs=ALL-UNNAMED";

  static {
    MethodHandle asBytes = null;
    MethodHandle newPath = null;
    Class<?> unixPath = null;
    try {
      unixPath = Class.forName("sun.nio.fs.UnixPath");
      Class<?> unixFs = Class.forName("sun.nio.fs.UnixFileSystem");
      MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(unixPath, MethodHandles.lookup());
      asBytes = lookup.findVirtual(unixPath, "asByteArray", MethodType.methodType(byte[].class));
      newPath = lookup.findConstructor(unixPath, MethodType.methodType(void.class, unixFs, byte[].class));
    } catch (ReflectiveOperationException | RuntimeException e) {
      // Not opened to us, or not a Unix JDK: fall back to names the JVM's encoding represents exactly.
      asBytes = null;
      newPath = null;
    }
    AS_BYTES = asBytes;
    NEW_PATH = newPath;
    UNIX_PATH = unixPath;
  }

  private FileNames() {}

  /** Returns whether names are read and written as bytes, so that every name round-trips whatever the locale. */
  public static boolean byteExact() {
    return AS_BYTES != null && NEW_PATH != null;
  }

  /** Returns the raw name of {@code path} as the operating system sees it (the whole path as given). */
  public static String raw(Path path) {
    return latin1(bytes(path));
  }

  /** Returns the raw name of the last component of {@code path}. */
  public static String rawFileName(Path path) {
    Path name = path.getFileName();
    return name == null ? "" : raw(name);
  }

  /** Returns the bytes of {@code path} as the operating system sees them. */
  public static byte[] bytes(Path path) {
    if (AS_BYTES != null && UNIX_PATH != null && UNIX_PATH.isInstance(path)) {
      try {
        byte[] b = (byte[]) AS_BYTES.invoke(path);
        return b.clone();
      } catch (Throwable t) {
        throw new IllegalStateException("Cannot read the bytes of a path", t);
      }
    }
    String text = path.toString();
    if (path.getFileSystem() == DEFAULT) {
      if (!DEFAULT.getPath(text).equals(path)) {
        throw unrepresentable(text);
      }
      return text.getBytes(JNU);
    }
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Returns {@code dir} resolved against the raw relative name {@code raw} ('/'-separated), byte for byte. The
   * caller checks the name is safe (relative, no {@code ..}).
   */
  public static Path resolve(Path dir, String raw) {
    if (raw.isEmpty()) {
      return dir;
    }
    return dir.resolve(path(dir.getFileSystem(), raw));
  }

  /** Returns the path whose bytes are the raw name {@code raw}, on the default file system. */
  public static Path path(String raw) {
    return path(DEFAULT, raw);
  }

  private static Path path(FileSystem fs, String raw) {
    byte[] bytes = raw.getBytes(StandardCharsets.ISO_8859_1);
    if (fs == DEFAULT) {
      if (NEW_PATH != null) {
        try {
          return (Path) NEW_PATH.invoke(DEFAULT, normalizeSlashes(bytes));
        } catch (Throwable t) {
          throw new IllegalStateException("Cannot make a path of raw bytes", t);
        }
      }
      String text = decodeExactly(bytes, JNU);
      if (text == null) {
        throw unrepresentable(display(raw));
      }
      return DEFAULT.getPath(text);
    }
    String text = decodeExactly(bytes, StandardCharsets.UTF_8);
    if (text == null) {
      throw unrepresentable(display(raw));
    }
    return fs.getPath(text);
  }

  /** UnixPath's constructor expects a normalized path: no repeated or trailing slashes. */
  private static byte[] normalizeSlashes(byte[] in) {
    int n = in.length;
    byte[] out = new byte[n];
    int j = 0;
    for (int i = 0; i < n; i++) {
      if (in[i] == '/' && j > 0 && out[j - 1] == '/') {
        continue;
      }
      out[j++] = in[i];
    }
    if (j > 1 && out[j - 1] == '/') {
      j--;
    }
    return j == n ? out : Arrays.copyOf(out, j);
  }

  /** Returns the raw name of a text (typed by a human, read from JSON): its UTF-8 bytes. */
  public static String fromText(String text) {
    return latin1(text.getBytes(StandardCharsets.UTF_8));
  }

  /** Returns the raw name of bytes. */
  public static String latin1(byte[] bytes) {
    return new String(bytes, StandardCharsets.ISO_8859_1);
  }

  /** Returns the bytes of a raw name. */
  public static byte[] toBytes(String raw) {
    return raw.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** Returns the text of a raw name that is valid UTF-8, or {@code null} if it is not. */
  public static @Nullable String utf8(String raw) {
    if (isAscii(raw)) {
      return raw;
    }
    return decodeExactly(toBytes(raw), StandardCharsets.UTF_8);
  }

  /**
   * Returns a raw name for humans: its UTF-8 text, with each byte that is not part of valid UTF-8 shown as
   * {@code \xNN} and control characters escaped, so a message never prints a newline or a terminal escape
   * taken from a file name.
   */
  public static String display(String raw) {
    String text = utf8(raw);
    StringBuilder sb = new StringBuilder(raw.length() + 8);
    if (text != null) {
      text.codePoints().forEach(c -> appendVisible(sb, c));
      return sb.toString();
    }
    byte[] b = toBytes(raw);
    int i = 0;
    while (i < b.length) {
      int len = utf8Length(b, i);
      if (len <= 0) {
        sb.append(String.format("\\x%02x", b[i] & 0xff));
        i++;
      } else {
        new String(b, i, len, StandardCharsets.UTF_8).codePoints().forEach(c -> appendVisible(sb, c));
        i += len;
      }
    }
    return sb.toString();
  }

  /** Returns {@link #display} of a path's bytes. */
  public static String display(Path path) {
    try {
      return display(raw(path));
    } catch (BbdiyException e) {
      return path.toString();
    }
  }

  private static void appendVisible(StringBuilder sb, int c) {
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
      sb.append(String.format("\\x%02x", c));
    } else if (c == '\\') {
      sb.append("\\\\");
    } else {
      sb.appendCodePoint(c);
    }
  }

  /** Returns the length of the valid UTF-8 sequence at {@code i}, or 0 if there is none. */
  private static int utf8Length(byte[] b, int i) {
    int c = b[i] & 0xff;
    int len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len == 0 || i + len > b.length) {
      return 0;
    }
    return decodeExactly(Arrays.copyOfRange(b, i, i + len), StandardCharsets.UTF_8) == null ? 0 : len;
  }

  private static boolean isAscii(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) >= 0x80) {
        return false;
      }
    }
    return true;
  }

  private static @Nullable String decodeExactly(byte[] bytes, Charset charset) {
    try {
      CharBuffer chars = charset.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes));
      String s = chars.toString();
      return Arrays.equals(s.getBytes(charset), bytes) ? s : null;
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  private static Charset jnuCharset() {
    try {
      return Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
    } catch (RuntimeException e) {
      return StandardCharsets.UTF_8;
    }
  }

  private static BbdiyException unrepresentable(String name) {
    return new BbdiyException(ErrorCode.CONFIGURATION, "The file name '" + name + "' cannot be read or written"
        + " byte for byte by this JVM (file name encoding " + JNU + "), and bbdiy never renames or drops a file."
        + " Run bbdiy with 'java -jar bbdiy-cli.jar' or the bbdiy launcher, or add '" + ADD_OPENS
        + "' to the JVM's options.");
  }
}
