package dev.bbdiy.archive;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import dev.bbdiy.api.BbdiyException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import org.jspecify.annotations.Nullable;

/** How a tar stream is compressed. */
public enum Compression {
  /** Zstandard, multi-threaded, with frame checksums; level 1 by default: on Bitbucket homes (mostly compressed data) it is as small as gzip and about ten times faster. */
  ZSTD(".tar.zst", 1),
  /** gzip in parallel members, readable by {@code tar -xzf} and by Atlassian's restore script. */
  GZIP(".tar.gz", 6),
  /** No compression. */
  NONE(".tar", 0);

  private final String extension;
  private final int defaultLevel;

  Compression(String extension, int defaultLevel) {
    this.extension = extension;
    this.defaultLevel = defaultLevel;
  }

  /** Returns the file name extension, with the leading dot. */
  public String extension() {
    return extension;
  }

  /**
   * Returns {@code level} if this compression has it (-1 for the default), or throws a configuration error
   * naming {@code key}: zstd has levels 1 to 22, gzip 1 to 9, none only the default.
   */
  public int checkedLevel(int level, String key) {
    int max = this == ZSTD ? 22 : this == GZIP ? 9 : 0;
    if (level != -1 && (level < 1 || level > max)) {
      throw BbdiyException.configuration("Bad value for " + key + ": " + name().toLowerCase(Locale.ROOT)
          + (max == 0 ? " has no levels; remove " + key : " levels are 1 to " + max));
    }
    return level;
  }

  /** Returns the level used when none is configured. */
  public int defaultLevel() {
    return defaultLevel;
  }

  /** Parses a configured value: {@code zstd}, {@code gzip} (or {@code gz}), {@code none}. */
  public static Compression parse(String value) {
    switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "zstd":
      case "zst":
        return ZSTD;
      case "gzip":
      case "gz":
        return GZIP;
      case "none":
        return NONE;
      default:
        throw BbdiyException.configuration("Unknown compression '" + value + "': use zstd, gzip or none");
    }
  }

  /** Returns the compression of a file by its name, or {@code null} if it is not a tar archive. */
  public static @Nullable Compression ofFileName(String name) {
    String suffix = suffixOf(name);
    if (suffix == null) {
      return null;
    }
    return suffix.endsWith("zst") ? ZSTD : suffix.endsWith("gz") ? GZIP : NONE;
  }

  /** Returns the archive suffix {@code name} ends with ({@code .tar.zst}, {@code .tgz}...), or null. */
  public static @Nullable String suffixOf(String name) {
    for (String suffix : SUFFIXES) {
      if (name.endsWith(suffix)) {
        return suffix;
      }
    }
    return null;
  }

  private static final List<String> SUFFIXES = List.of(".tar.zst", ".tzst", ".tar.gz", ".tgz", ".tar");

  /**
   * Wraps {@code out} in a compressor.
   *
   * @param level the compression level, or -1 for the default
   * @param threads worker threads; 0 or less for one per core
   */
  public OutputStream compress(OutputStream out, int level, int threads) throws IOException {
    int lvl = level < 0 ? defaultLevel : level;
    int workers = threads <= 0 ? Runtime.getRuntime().availableProcessors() : threads;
    switch (this) {
      case ZSTD:
        ZstdOutputStream z = new ZstdOutputStream(out);
        z.setLevel(lvl);
        z.setChecksum(true);
        if (workers > 1) {
          z.setWorkers(workers);
        }
        return z;
      case GZIP:
        return new ParallelGzipOutputStream(out, lvl, workers);
      default:
        return out;
    }
  }

  /** Wraps {@code in} in the decompressor its first bytes call for: zstd, gzip, or none. */
  public static InputStream decompress(InputStream in) throws IOException {
    BufferedInputStream buffered = new BufferedInputStream(in, 1 << 16);
    buffered.mark(4);
    byte[] magic = buffered.readNBytes(4);
    buffered.reset();
    if (magic.length == 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5 && (magic[2] & 0xff) == 0x2f
        && (magic[3] & 0xff) == 0xfd) {
      return new BufferedInputStream(new ZstdInputStream(buffered), 1 << 20);
    }
    if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
      return new BufferedInputStream(new GZIPInputStream(buffered, 1 << 16), 1 << 20);
    }
    return buffered;
  }
}
