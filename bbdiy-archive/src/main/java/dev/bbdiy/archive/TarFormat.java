package dev.bbdiy.archive;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.ExtractResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.RunContext;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.commons.io.output.CountingOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The tar backup format on any byte store: how a backup becomes a compressed stream plus a small summary
 * ("sidecar") stored next to it, and how a stream is verified and extracted. Local files and S3 objects use the
 * same code, so they are the same format.
 */
public final class TarFormat {
  /** Sidecar field: the stored size in bytes. */
  public static final String ARCHIVE_SIZE = "archiveSize";
  /** Sidecar field: the format, e.g. {@code tar.zst}. */
  public static final String ARCHIVE_FORMAT = "archiveFormat";
  /** The suffix of sidecar files and objects. */
  public static final String SIDECAR_SUFFIX = ".summary.json";

  private final Compression compression;
  private final int level;
  private final int threads;

  public TarFormat(Compression compression, int level, int threads) {
    this.compression = Objects.requireNonNull(compression, "compression");
    this.level = level;
    this.threads = threads;
  }

  public Compression compression() {
    return compression;
  }

  /** Returns {@code tar.zst}, {@code tar.gz} or {@code tar}. */
  public String formatName() {
    return compression.extension().substring(1);
  }

  /** What {@link #write} produced: the summary with the totals, and the archive's size in bytes. */
  public record Written(BackupSummary summary, long size) {}

  /**
   * Writes the backup to {@code out} (which this closes) as a compressed tar stream.
   *
   * @param tempDir where temporary lists go
   */
  public Written write(OutputStream out, BackupContent content, Path tempDir, RunContext ctx) throws IOException {
    // No digest of the whole archive: every file's SHA-256 is in the manifest and zstd frames carry checksums,
    // so a second SHA-256 pass over the compressed bytes would only cost a core.
    CountingOutputStream counting = new CountingOutputStream(out);
    OutputStream compressed;
    TarBackupWriter writer;
    try {
      compressed = compression.compress(new BufferedOutputStream(counting, 1 << 20), level, threads);
    } catch (IOException | RuntimeException e) {
      out.close();
      throw e;
    }
    try {
      writer = new TarBackupWriter(compressed, tempDir, ctx.progress(), ctx.cancellation());
    } catch (IOException | RuntimeException e) {
      compressed.close();
      throw e;
    }
    BackupSummary summary;
    try (writer) {
      writer.add(content.root(), content.paths(), content.sources());
      summary = writer.finish(content.summary());
    }
    return new Written(summary, counting.getByteCount());
  }

  /** Returns the sidecar for a written archive: the summary and the archive's size. */
  public byte[] sidecar(Written written) throws IOException {
    return sidecar(written, Map.of());
  }

  /** Returns the sidecar for a written archive with more fields (the encryption's, for an encrypted archive). */
  public byte[] sidecar(Written written, Map<String, String> more) throws IOException {
    Map<String, String> extra = new LinkedHashMap<>(more);
    extra.put(ARCHIVE_FORMAT, formatName());
    extra.put(ARCHIVE_SIZE, Long.toString(written.size()));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ManifestCodec.writeSummary(bytes, written.summary(), extra);
    return bytes.toByteArray();
  }

  /** Returns the summary a sidecar holds, or {@code null} if it is unreadable. */
  public static @Nullable BackupSummary parseSidecar(byte[] bytes) {
    try (ManifestCodec.Reader r = ManifestCodec.reader(new ByteArrayInputStream(bytes))) {
      return r.summary();
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /**
   * Verifies a stored archive read from {@code in} (which this closes) against its manifest: every entry's
   * SHA-256, and zstd's frame checksums on the way.
   */
  public static VerifyResult verify(
      BackupId id, InputStream in, Path tempDir, RunContext ctx) throws IOException {
    Instant start = Instant.now();
    BackupReading.Outcome outcome;
    try (in) {
      outcome = TarBackupReader.read(in, null, tempDir, ctx.progress(), ctx.cancellation());
    }
    List<String> problems = new ArrayList<>(outcome.problems());
    if (outcome.summary() != null && !outcome.summary().id().equals(id)) {
      problems.add("The manifest is of backup " + outcome.summary().id() + ", not " + id);
    }
    return new VerifyResult(id, outcome.summary() != null && problems.isEmpty(), outcome.entries(),
        outcome.bytes(), problems, Duration.between(start, Instant.now()));
  }

  /**
   * Extracts a stored archive read from {@code in} (which this closes), verifying it on the way.
   *
   * @throws BbdiyException {@link ErrorCode#VERIFICATION_FAILED} if anything did not match the manifest or the
   *     archive is damaged; the caller removes what was extracted
   */
  public static ExtractResult extract(
      BackupId id, InputStream in, ExtractionPlan plan, Path tempDir, RunContext ctx) throws IOException {
    BackupReading.Outcome outcome;
    try (in) {
      outcome = TarBackupReader.read(in, plan, tempDir, ctx.progress(), ctx.cancellation());
    }
    if (outcome.summary() != null && !outcome.summary().id().equals(id)) {
      throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "The archive of backup " + id + " holds the manifest of"
          + " backup " + outcome.summary().id() + ": it was renamed or replaced. Restore another backup.");
    }
    if (!BackupReading.intact(outcome)) {
      throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "Backup " + id + " failed verification while it"
          + " was restored: " + String.join("; ", outcome.problems().subList(0,
              Math.min(5, outcome.problems().size())))
          + (outcome.problems().size() > 5 ? " (and more)" : "") + ". Restore an older backup.");
    }
    return new ExtractResult(outcome.files(), outcome.bytes(), outcome.verified());
  }

  static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
