package dev.bbdiy.core.internal.archive;

import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.ProgressReporter;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.jspecify.annotations.Nullable;

/**
 * Reads a tar backup in one pass, recomputing every entry (type, size, SHA-256, mode, time, link target) and,
 * when given an {@link ExtractionPlan}, writing the entries to their targets. At the end the recomputed entries
 * are compared with the manifest, in canonical order, so any changed, missing or extra entry is found; damage
 * that stops the stream (a flipped compressed byte, a truncated file) is a problem too.
 *
 * <p>Archives without a manifest (made by Atlassian's scripts) are read and extracted, reported as unverified.
 */
public final class TarBackupReader {
  private static final int MAX_PROBLEMS = 100;

  /**
   * What a read found.
   *
   * @param summary the manifest summary, {@code null} if the archive has no manifest
   * @param entries entries read
   * @param files regular files read
   * @param bytes file bytes read
   * @param problems mismatches and damage, at most 100
   */
  public record Outcome(
      @Nullable BackupSummary summary, long entries, long files, long bytes, boolean readable,
      List<String> problems) {
    /** Returns whether the archive has a manifest and everything matched it. */
    public boolean verified() {
      return summary != null && problems.isEmpty();
    }

    /** Returns whether the archive was read to its end without damage, manifest or not. */
    public boolean intact() {
      return readable && (summary == null ? problems.size() == 1 : problems.isEmpty());
    }
  }

  private TarBackupReader() {}

  /**
   * Reads (and with a plan, extracts) a tar backup.
   *
   * @param compressed the archive bytes, compressed or not
   * @param plan where to extract, or {@code null} to only verify
   * @param tempDir where temporary lists are kept
   * @throws BbdiyException {@link ErrorCode#PROVIDER_FAILED} if a target cannot be written, {@link
   *     ErrorCode#REFUSED} if extraction would overwrite something, {@link ErrorCode#VERIFICATION_FAILED} for an
   *     unsafe entry name
   */
  public static Outcome read(
      InputStream compressed, @Nullable ExtractionPlan plan, Path tempDir, ProgressReporter progress,
      CancellationSignal cancellation) throws IOException {
    Files.createDirectories(tempDir);
    Path actualFile = Files.createTempFile(tempDir, "actual-", ".bin");
    Path manifestFile = null;
    List<String> problems = new ArrayList<>();
    long entries = 0;
    long files = 0;
    long bytes = 0;
    Extractor extractor = plan == null ? null : new Extractor(plan, progress);
    // Hashing runs on its own thread; it also writes the recomputed entries, in order.
    AsyncDigest sha256 = new AsyncDigest("bbdiy-sha256-read", 16, 1 << 20);
    byte[] buffer = new byte[1 << 20];
    String lastName = "(start of archive)";
    boolean readable = true;
    try (DataOutputStream actual = new DataOutputStream(
        new BufferedOutputStream(Files.newOutputStream(actualFile), 1 << 16)); AsyncDigest hashing = sha256) {
      try (TarArchiveInputStream tar = new TarArchiveInputStream(Compression.decompress(compressed), "UTF-8")) {
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
          String name = ExtractionPlan.normalize(e.getName());
          if (name.isEmpty()) {
            continue;
          }
          lastName = name;
          if ((entries & 63) == 0) {
            cancellation.throwIfCancelled();
            progress.progress((plan == null ? "verified " : "restored ") + files + " files", bytes, -1, "bytes");
          }
          if (name.equals(BackupLayout.MANIFEST) && e.isFile()) {
            manifestFile = Files.createTempFile(tempDir, "manifest-", ".json");
            try (OutputStream out = Files.newOutputStream(manifestFile)) {
              tar.transferTo(out);
            }
            continue;
          }
          entries++;
          int mode = e.getMode() & 07777;
          long mtime = Math.floorDiv(e.getModTime().getTime(), 1000);
          EntryRecord record;
          if (e.isDirectory()) {
            record = new EntryRecord(name, FileMeta.Type.DIRECTORY, 0, null, mode, mtime, null);
            if (extractor != null) {
              extractor.directory(name, e);
            }
          } else if (e.isSymbolicLink()) {
            record = new EntryRecord(name, FileMeta.Type.SYMLINK, 0, null, mode, mtime, e.getLinkName());
            if (extractor != null) {
              extractor.symlink(name, e);
            }
          } else if (e.isLink()) {
            record = null; // hard links appear in archives of other tools only, which have no manifest
            if (extractor != null) {
              extractor.hardLink(name, ExtractionPlan.normalize(e.getLinkName()));
            }
          } else if (e.isFile()) {
            java.nio.channels.FileChannel target = extractor == null ? null : extractor.openFile(name);
            long size = 0;
            try {
              int n;
              while ((n = tar.read(buffer)) > 0) {
                sha256.update(buffer, 0, n);
                if (target != null) {
                  Extractor.write(target, buffer, n, name);
                }
                size += n;
              }
            } finally {
              if (target != null) {
                Extractor.close(target, name);
              }
            }
            if (extractor != null) {
              extractor.finishFile(name, e);
            }
            files++;
            bytes += size;
            long fileSize = size;
            String fileName = name;
            sha256.end(digest -> write(new EntryRecord(fileName, FileMeta.Type.FILE, fileSize, digest, mode, mtime,
                null), actual));
            record = null;
          } else {
            record = null;
            progress.warning("skipped " + name + ": special files are not restored");
          }
          if (record != null) {
            EntryRecord r = record;
            sha256.then(() -> write(r, actual));
          }
        }
        sha256.finish();
      } catch (IOException damaged) {
        readable = false;
        problems.add("The archive is damaged or truncated after " + lastName + ": " + damaged.getMessage());
      } finally {
        if (extractor != null) {
          extractor.finishDirectories();
        }
      }
    }
    try {
      BackupSummary summary = null;
      if (manifestFile == null) {
        problems.add("The archive has no " + BackupLayout.MANIFEST + ": it was not made by bbdiy, or it is"
            + " truncated; it cannot be verified.");
      } else {
        summary = compare(manifestFile, actualFile, files, bytes, problems);
      }
      return new Outcome(summary, entries, files, bytes, readable, List.copyOf(problems));
    } finally {
      Files.deleteIfExists(actualFile);
      if (manifestFile != null) {
        Files.deleteIfExists(manifestFile);
      }
    }
  }

  static @Nullable BackupSummary compare(
      Path manifestFile, Path actualFile, long files, long bytes, List<String> problems) throws IOException {
    try (InputStream min = new BufferedInputStream(Files.newInputStream(manifestFile), 1 << 16);
        ManifestCodec.Reader manifest = ManifestCodec.reader(min);
        DataInputStream actual = new DataInputStream(new BufferedInputStream(Files.newInputStream(actualFile),
            1 << 16))) {
      BackupSummary summary = manifest.summary();
      EntryRecord expected = manifest.next();
      EntryRecord found = EntryRecord.readFrom(actual);
      long extra = 0;
      while (expected != null || found != null) {
        int c = expected == null ? 1 : found == null ? -1 : TreeWalker.ORDER.compare(expected.path(), found.path());
        String problem = null;
        if (c == 0) {
          problem = expected.difference(found);
          expected = manifest.next();
          found = EntryRecord.readFrom(actual);
        } else if (c < 0) {
          problem = expected.path() + ": missing from the archive";
          expected = manifest.next();
        } else {
          problem = found.path() + ": in the archive but not in the manifest";
          found = EntryRecord.readFrom(actual);
        }
        if (problem != null) {
          if (problems.size() < MAX_PROBLEMS) {
            problems.add(problem);
          } else {
            extra++;
          }
        }
      }
      if (extra > 0) {
        problems.add("... and " + extra + " more differences");
      }
      if (summary.files() != files || summary.bytes() != bytes) {
        problems.add("The manifest counts " + summary.files() + " files of " + summary.bytes() + " bytes, the"
            + " archive holds " + files + " files of " + bytes + " bytes");
      }
      return summary;
    } catch (IOException | RuntimeException e) {
      problems.add("The manifest is unreadable: " + e.getMessage());
      return null;
    }
  }

  private static void write(EntryRecord r, DataOutputStream out) {
    try {
      r.writeTo(out);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Thrown for failures writing to restore targets, which are not damage of the archive. */
  static BbdiyException targetFailure(String name, Path target, IOException e) {
    if (e instanceof java.nio.file.FileAlreadyExistsException) {
      return BbdiyException.refused("Restore refuses to overwrite " + target + " (entry " + name + "). Restore"
          + " into empty directories only.");
    }
    return new BbdiyException(ErrorCode.PROVIDER_FAILED, "Cannot write " + target + " (entry " + name + "): "
        + e.getMessage(), e);
  }
}
