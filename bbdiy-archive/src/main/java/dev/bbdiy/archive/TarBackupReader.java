package dev.bbdiy.archive;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.ProgressReporter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/**
 * Reads a tar backup in one pass with {@link TarReader} (names as bytes) and hands every entry to a {@link
 * BackupReading}, which recomputes it, writes it to its target when restoring, and compares the whole with the
 * manifest at the end.
 */
public final class TarBackupReader {
  private TarBackupReader() {}

  /**
   * Reads (and with a plan, extracts) a tar backup.
   *
   * @param compressed the archive bytes, compressed or not
   * @param plan where to extract, or {@code null} to only verify
   * @param tempDir where temporary lists are kept
   * @throws BbdiyException {@link ErrorCode#PROVIDER_FAILED} if a target cannot be written, {@link
   *     ErrorCode#VERIFICATION_FAILED} for an unsafe entry (a name outside its target, a link through a link, a
   *     name stored twice)
   */
  static BackupReading.Outcome read(
      InputStream compressed, @Nullable ExtractionPlan plan, Path tempDir, ProgressReporter progress,
      CancellationSignal cancellation) throws IOException {
    try (BackupReading reading = new BackupReading(plan, tempDir, progress, cancellation)) {
      String lastName = "(start of archive)";
      try {
        TarReader tar = new TarReader(Compression.decompress(compressed));
        TarReader.Header h;
        while ((h = tar.next()) != null) {
          String name = reading.name(h.name());
          if (name == null) {
            continue;
          }
          lastName = name;
          TarReader tarStream = tar;
          switch (h.kind()) {
            case FILE:
              if (reading.isManifest(name)) {
                reading.manifest(new EntryStream(tarStream));
              } else {
                reading.file(name, h.mode(), h.mtime(), h.uid(), h.gid(),
                    buffer -> tarStream.read(buffer, 0, buffer.length));
              }
              break;
            case DIRECTORY:
              reading.directory(name, h.mode(), h.mtime(), h.uid(), h.gid());
              break;
            case SYMLINK:
              reading.symlink(name, h.linkName(), h.mode(), h.mtime(), h.uid(), h.gid());
              break;
            case HARDLINK:
              reading.hardLink(name, h.linkName(), h.mode(), h.mtime());
              break;
            case CHARACTER_DEVICE:
              reading.special(name, "a character device", h.mode(), h.mtime());
              break;
            case BLOCK_DEVICE:
              reading.special(name, "a block device", h.mode(), h.mtime());
              break;
            case FIFO:
              reading.special(name, "a named pipe", h.mode(), h.mtime());
              break;
            default:
              reading.unsupported(name, h.typeFlag() == 'S' ? "a sparse file"
                  : "an entry of tar type '" + h.typeFlag() + "'");
          }
        }
      } catch (IOException damaged) {
        reading.damaged(lastName, damaged);
      }
      return reading.finish();
    }
  }

  /** The content of the current tar entry as a stream. */
  private static final class EntryStream extends InputStream {
    private final TarReader tar;

    EntryStream(TarReader tar) {
      this.tar = tar;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      return tar.read(b, off, len);
    }
  }
}
