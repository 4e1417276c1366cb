package dev.bbdiy.archive;

import dev.bbdiy.kit.FileNames;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * A strict reader of tar streams that keeps every name as bytes ({@linkplain FileNames raw names}): POSIX ustar
 * (with its name prefix), GNU tar's long names and long link targets ({@code ././@LongLink}), and pax extended
 * headers, whose {@code path} and {@code linkpath} values are taken as bytes too (GNU tar writes them in the
 * locale's encoding, not always UTF-8).
 *
 * <p>Why not Commons Compress, which writes bbdiy's archives: its reader decodes pax values as UTF-8, replacing
 * bytes that are not, so two Linux file names can come out as the same name. Linux file names are bytes.
 *
 * <p>Everything read is hostile until checked: header checksums are verified, numbers are bounded, name and
 * header sizes are capped, a stream that ends without tar's end-of-archive marker is truncated, and entry kinds
 * bbdiy does not restore (sparse files, multi-volume parts) are reported as such rather than misread.
 */
public final class TarReader {
  private static final int BLOCK = 512;
  private static final int MAX_NAME = 64 * 1024;
  private static final int MAX_PAX = 1 << 20;
  private static final long MAX_SIZE = 1L << 52;

  /** The kinds of entries. */
  public enum Kind { FILE, DIRECTORY, SYMLINK, HARDLINK, CHARACTER_DEVICE, BLOCK_DEVICE, FIFO, UNSUPPORTED }

  /**
   * One entry's header, after long names and pax headers were applied.
   *
   * @param kind what the entry is
   * @param typeFlag the raw type flag, for messages
   * @param name the raw name, as stored (may start with {@code ./} or end with {@code /})
   * @param linkName the raw target of a link, empty otherwise
   * @param size bytes of content that follow
   * @param mode permission bits
   * @param mtime modification time, whole seconds
   * @param uid owner id
   * @param gid group id
   */
  public record Header(Kind kind, char typeFlag, String name, String linkName, long size, int mode, long mtime,
      long uid, long gid) {}

  private final InputStream in;
  private final byte[] block = new byte[BLOCK];
  private long remaining;
  private long padding;
  private boolean ended;

  public TarReader(InputStream in) {
    this.in = in;
  }

  /**
   * Returns the next entry, or {@code null} at the end-of-archive marker. Skips what is left of the current
   * entry's content.
   *
   * @throws IOException if the stream is damaged, truncated or not a tar archive
   */
  public @Nullable Header next() throws IOException {
    if (ended) {
      return null;
    }
    skipRest();
    String longName = null;
    String longLink = null;
    PaxHeaders pax = null;
    while (true) {
      if (!readBlock(true)) {
        throw new EOFException("the archive ends without tar's end-of-archive marker: it is truncated");
      }
      if (isZero(block)) {
        ended = true;
        if (longName != null || longLink != null || pax != null) {
          throw new IOException("the archive ends after an extended header without its entry");
        }
        return null;
      }
      verifyChecksum();
      char type = (char) (block[156] & 0xff);
      long size = number(124, 12, "size");
      if (size < 0 || size > MAX_SIZE) {
        throw new IOException("an entry header holds the impossible size " + size);
      }
      switch (type) {
        case 'L':
        case 'K': {
          String value = readSmallContent(size, MAX_NAME, "long name");
          value = stripTrailingNuls(value);
          if (type == 'L') {
            longName = value;
          } else {
            longLink = value;
          }
          continue;
        }
        case 'x':
          pax = PaxHeaders.parse(readSmallContentBytes(size, MAX_PAX, "pax header"));
          continue;
        case 'g':
          readSmallContentBytes(size, MAX_PAX, "global pax header"); // nothing in it changes how bbdiy reads names
          continue;
        case 'V':
          skipContent(size);
          continue;
        default:
          break;
      }
      Header h = header(type, size, longName, longLink, pax);
      boolean hasData = h.kind() == Kind.FILE || h.kind() == Kind.UNSUPPORTED || type == 'D';
      remaining = hasData ? h.size() : 0;
      padding = hasData ? pad(h.size()) : 0;
      return hasData ? h : new Header(h.kind(), h.typeFlag(), h.name(), h.linkName(), 0, h.mode(), h.mtime(),
          h.uid(), h.gid());
    }
  }

  /** Reads content of the current entry; returns -1 at its end. */
  public int read(byte[] b, int off, int len) throws IOException {
    if (remaining <= 0) {
      return -1;
    }
    int n = in.read(b, off, (int) Math.min(len, remaining));
    if (n < 0) {
      throw new EOFException("the archive ends in the middle of an entry: it is truncated");
    }
    remaining -= n;
    return n;
  }

  private Header header(char type, long size, @Nullable String longName, @Nullable String longLink,
      @Nullable PaxHeaders pax) throws IOException {
    String name = longName != null ? longName : ustarName();
    String link = longLink != null ? longLink : cString(157, 100);
    long mtime = number(136, 12, "mtime");
    long uid = number(108, 8, "uid");
    long gid = number(116, 8, "gid");
    int mode = (int) (number(100, 8, "mode") & 07777);
    if (pax != null) {
      if (pax.sparse) {
        type = 'S';
      }
      name = pax.path != null ? pax.path : name;
      link = pax.linkpath != null ? pax.linkpath : link;
      size = pax.size >= 0 ? pax.size : size;
      mtime = pax.mtime != Long.MIN_VALUE ? pax.mtime : mtime;
      uid = pax.uid >= 0 ? pax.uid : uid;
      gid = pax.gid >= 0 ? pax.gid : gid;
      if (size > MAX_SIZE) {
        throw new IOException("an entry header holds the impossible size " + size);
      }
    }
    if (name.isEmpty()) {
      throw new IOException("an entry has an empty name");
    }
    Kind kind;
    switch (type) {
      case '0':
      case '\0':
      case '7':
        kind = name.endsWith("/") ? Kind.DIRECTORY : Kind.FILE;
        break;
      case '1':
        kind = Kind.HARDLINK;
        break;
      case '2':
        kind = Kind.SYMLINK;
        break;
      case '3':
        kind = Kind.CHARACTER_DEVICE;
        break;
      case '4':
        kind = Kind.BLOCK_DEVICE;
        break;
      case '5':
      case 'D':
        kind = Kind.DIRECTORY;
        break;
      case '6':
        kind = Kind.FIFO;
        break;
      default:
        kind = Kind.UNSUPPORTED;
    }
    return new Header(kind, type, name, link, size, mode, mtime, uid, gid);
  }

  private String ustarName() {
    String name = cString(0, 100);
    boolean posix = block[257] == 'u' && block[258] == 's' && block[259] == 't' && block[260] == 'a'
        && block[261] == 'r' && block[262] == 0;
    if (posix) {
      String prefix = cString(345, 155);
      if (!prefix.isEmpty()) {
        return prefix + "/" + name;
      }
    }
    return name;
  }

  private String cString(int offset, int length) {
    int end = offset;
    while (end < offset + length && block[end] != 0) {
      end++;
    }
    return FileNames.latin1(Arrays.copyOfRange(block, offset, end));
  }

  private long number(int offset, int length, String field) throws IOException {
    if ((block[offset] & 0x80) != 0) {
      // base-256: big-endian two's complement in the remaining bits
      boolean negative = (block[offset] & 0x40) != 0;
      long v = negative ? -1 : 0;
      for (int i = 0; i < length; i++) {
        int b = block[offset + i] & 0xff;
        if (i == 0) {
          b &= 0x7f;
          if (negative) {
            b |= 0x80;
          }
        }
        if (i < length - 8 && b != (negative ? 0xff : 0)) {
          throw new IOException("the " + field + " field of an entry header overflows");
        }
        v = (v << 8) | b;
      }
      return v;
    }
    long v = 0;
    int i = offset;
    int end = offset + length;
    while (i < end && (block[i] == ' ' || block[i] == 0)) {
      i++;
    }
    boolean digits = false;
    for (; i < end; i++) {
      byte c = block[i];
      if (c == 0 || c == ' ') {
        break;
      }
      if (c < '0' || c > '7') {
        throw new IOException("the " + field + " field of an entry header is not a number: the archive is damaged"
            + " or not a tar archive");
      }
      if (v > (Long.MAX_VALUE >> 3)) {
        throw new IOException("the " + field + " field of an entry header overflows");
      }
      v = (v << 3) + (c - '0');
      digits = true;
    }
    return digits ? v : 0;
  }

  private void verifyChecksum() throws IOException {
    long stored;
    try {
      stored = number(148, 8, "checksum");
    } catch (IOException e) {
      throw new IOException("a block where an entry header should be is not a tar header: the archive is damaged"
          + " or not a tar archive");
    }
    long unsigned = 0;
    long signed = 0;
    for (int i = 0; i < BLOCK; i++) {
      byte b = i >= 148 && i < 156 ? (byte) ' ' : block[i];
      unsigned += b & 0xff;
      signed += b;
    }
    if (stored != unsigned && stored != signed) {
      throw new IOException("an entry header's checksum does not match: the archive is damaged or not a tar"
          + " archive");
    }
  }

  private boolean readBlock(boolean atBoundary) throws IOException {
    int n = in.readNBytes(block, 0, BLOCK);
    if (n == 0 && atBoundary) {
      return false;
    }
    if (n < BLOCK) {
      throw new EOFException("the archive ends in the middle of a block: it is truncated");
    }
    return true;
  }

  private String readSmallContent(long size, int max, String what) throws IOException {
    return FileNames.latin1(readSmallContentBytes(size, max, what));
  }

  private byte[] readSmallContentBytes(long size, int max, String what) throws IOException {
    if (size > max) {
      throw new IOException("a " + what + " of " + size + " bytes is larger than any valid one (" + max + ")");
    }
    byte[] content = in.readNBytes((int) size);
    if (content.length < size) {
      throw new EOFException("the archive ends in the middle of a " + what + ": it is truncated");
    }
    skipExactly(pad(size));
    return content;
  }

  private void skipContent(long size) throws IOException {
    skipExactly(size + pad(size));
  }

  private void skipRest() throws IOException {
    skipExactly(remaining + padding);
    remaining = 0;
    padding = 0;
  }

  private void skipExactly(long n) throws IOException {
    byte[] skip = new byte[8192];
    while (n > 0) {
      int r = in.read(skip, 0, (int) Math.min(skip.length, n));
      if (r < 0) {
        throw new EOFException("the archive ends in the middle of an entry: it is truncated");
      }
      n -= r;
    }
  }

  private static long pad(long size) {
    long r = size % BLOCK;
    return r == 0 ? 0 : BLOCK - r;
  }

  private static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  private static String stripTrailingNuls(String s) {
    int end = s.length();
    while (end > 0 && s.charAt(end - 1) == 0) {
      end--;
    }
    return s.substring(0, end);
  }

  /** The pax keys bbdiy reads; values are bytes, numbers are decimal. */
  private static final class PaxHeaders {
    @Nullable String path;
    @Nullable String linkpath;
    long size = -1;
    long mtime = Long.MIN_VALUE;
    long uid = -1;
    long gid = -1;
    boolean sparse;

    static PaxHeaders parse(byte[] data) throws IOException {
      PaxHeaders h = new PaxHeaders();
      int i = 0;
      while (i < data.length) {
        int space = i;
        while (space < data.length && data[space] != ' ') {
          space++;
        }
        long len;
        try {
          len = Long.parseLong(new String(data, i, space - i, java.nio.charset.StandardCharsets.US_ASCII));
        } catch (NumberFormatException e) {
          throw new IOException("a pax header record has no valid length");
        }
        if (len <= space - i + 1 || i + len > data.length || data[(int) (i + len - 1)] != '\n') {
          throw new IOException("a pax header record has an invalid length");
        }
        int end = (int) (i + len - 1);
        int eq = space + 1;
        while (eq < end && data[eq] != '=') {
          eq++;
        }
        if (eq >= end) {
          throw new IOException("a pax header record has no '='");
        }
        String key = new String(data, space + 1, eq - space - 1, java.nio.charset.StandardCharsets.UTF_8);
        String value = FileNames.latin1(Arrays.copyOfRange(data, eq + 1, end));
        switch (key) {
          case "path":
            h.path = value;
            break;
          case "linkpath":
            h.linkpath = value;
            break;
          case "size":
            h.size = decimal(value, key);
            break;
          case "uid":
            h.uid = decimal(value, key);
            break;
          case "gid":
            h.gid = decimal(value, key);
            break;
          case "mtime":
            h.mtime = seconds(value);
            break;
          default:
            if (key.startsWith("GNU.sparse.")) {
              h.sparse = true;
            }
        }
        i = (int) (i + len);
      }
      return h;
    }

    private static long decimal(String v, String key) throws IOException {
      try {
        long n = Long.parseLong(v);
        if (n < 0) {
          throw new NumberFormatException();
        }
        return n;
      } catch (NumberFormatException e) {
        throw new IOException("the pax header " + key + " is not a valid number");
      }
    }

    private static long seconds(String v) throws IOException {
      try {
        return new java.math.BigDecimal(v).setScale(0, java.math.RoundingMode.FLOOR).longValueExact();
      } catch (ArithmeticException | NumberFormatException e) {
        throw new IOException("the pax header mtime is not a valid time");
      }
    }
  }
}
