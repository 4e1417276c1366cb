package dev.bbdiy.restic;

import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.archive.EntryRecord;
import dev.bbdiy.archive.ManifestCodec;
import dev.bbdiy.kit.FileMeta;
import dev.bbdiy.kit.FileNames;
import dev.bbdiy.kit.TreeWalker;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * The manifest each restic snapshot holds at its top ({@code manifest.json}): every entry of the backup with its
 * SHA-256, read back against the snapshot on verify and restore. The walk reads content sources in place and
 * collects the entries their excludes leave out, so that restic is told to leave out exactly those.
 */
final class ManifestPass {
  private static final int BUFFER = 1 << 20;

  private ManifestPass() {}

  /**
   * Writes {@code manifest.json} into the working copy's root: every entry with its SHA-256, the digests of
   * unchanged files taken from the last backup's cache.
   */
  static BackupSummary write(BackupContent content, List<String> targets, Path manifest, List<String> excluded,
      Path tempDir, Path stateDir, RunContext ctx) throws IOException {
    ExcludedEntries left = new ExcludedEntries(content.sources(), excluded);
    Files.createDirectories(tempDir);
    Files.deleteIfExists(manifest);
    Path entries = Files.createTempFile(tempDir, "restic-entries-", ".json");
    long[] totals = new long[2];
    try {
      MessageDigest sha = sha256();
      ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
      try (DigestCache cache = new DigestCache(stateDir.resolve("digests.bin"))) {
        try (ManifestCodec.EntriesWriter out = new ManifestCodec.EntriesWriter(entries)) {
          new TreeWalker(ctx.cancellation()).walk(content.root(), targets, content.sources(), (path, rel, meta) -> {
            switch (meta.type()) {
              case DIRECTORY -> {
                out.add(new EntryRecord(rel, FileMeta.Type.DIRECTORY, 0, null, meta.mode(), seconds(meta), null));
                left.visitDirectory(path, rel);
              }
              case SYMLINK -> out.add(new EntryRecord(rel, FileMeta.Type.SYMLINK, 0, null, meta.mode(),
                  seconds(meta), FileNames.raw(Files.readSymbolicLink(path))));
              case FILE -> {
                byte[] digest = cache.lookup(rel, meta, inSource(content, rel));
                if (digest == null) {
                  digest = digest(path, meta, rel, sha, buffer);
                }
                cache.record(rel, meta, digest);
                // restic stores each name of a hard-linked file as a file of its own, and so does the manifest.
                out.add(new EntryRecord(rel, FileMeta.Type.FILE, meta.size(), digest, meta.mode(),
                    seconds(meta), null));
                totals[0]++;
                totals[1] += meta.size();
                if ((totals[0] & 255) == 0) {
                  ctx.progress().progress("restic: manifest of " + totals[0] + " files", totals[1], -1, "bytes");
                }
              }
              default -> throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "The working copy holds "
                  + FileNames.display(rel) + ", which is not a regular file, directory or symbolic link; restic"
                  + " would store it and bbdiy could not verify it. Remove it from the working copy");
            }
          });
        }
        BackupSummary summary = content.summary().withTotals(totals[0], totals[1]);
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(manifest,
            StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), 1 << 16)) {
          ManifestCodec.write(out, summary, entries);
        }
        cache.save();
        if (cache.hits() > 0) {
          ctx.progress().message("restic: " + cache.hits() + " of " + totals[0] + " files unchanged since the last"
              + " backup (digests reused)");
        }
        return summary;
      }
    } finally {
      Files.deleteIfExists(entries);
    }
  }

  /**
   * Returns the modification time the way {@code restic dump} writes it into a tar header: Go's archive/tar rounds
   * to the nearest second (half away from zero), where bbdiy's own archivers truncate.
   */
  static long seconds(FileMeta meta) {
    long nanos = meta.mtime().to(java.util.concurrent.TimeUnit.NANOSECONDS);
    return nanos >= 0 ? Math.floorDiv(nanos + 500_000_000L, 1_000_000_000L)
        : -Math.floorDiv(-nanos + 500_000_000L, 1_000_000_000L);
  }

  private static byte[] digest(Path path, FileMeta meta, String rel, MessageDigest sha, ByteBuffer buffer)
      throws IOException {
    sha.reset();
    long size = 0;
    try (FileChannel in = FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      while (true) {
        buffer.clear();
        int n = in.read(buffer);
        if (n < 0) {
          break;
        }
        sha.update(buffer.array(), 0, n);
        size += n;
      }
    }
    if (size != meta.size()) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "The working copy changed while it was archived: "
          + FileNames.display(rel) + ". Nothing may write to the working directory during a backup.");
    }
    return sha.digest();
  }

  /** Whether {@code rel} is read from a content source (a file-system snapshot). */
  private static boolean inSource(BackupContent content, String rel) {
    for (var s : content.sources()) {
      if (rel.startsWith(s.path() + "/")) {
        return true;
      }
    }
    return false;
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
