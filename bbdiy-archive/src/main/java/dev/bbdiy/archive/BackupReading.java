package dev.bbdiy.archive;

import java.util.Objects;
import dev.bbdiy.kit.FileMeta;
import dev.bbdiy.kit.TreeWalker;

import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.kit.FileNames;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Reads a stored backup entry by entry, from any archiver (a tar stream, a directory): recomputes every entry
 * (type, size, SHA-256, mode, time, link target), writes it to its restore target when there is an {@link
 * ExtractionPlan}, and at the end checks the whole against the manifest. Verify and restore are the same code,
 * so they agree on every archive.
 *
 * <p>The check at the end finds, in constant memory (the recomputed entries wait in a temporary file):
 *
 * <ul>
 *   <li>any changed, missing or extra entry, compared with the manifest in its order;
 *   <li>an archive that is not in canonical order, or holds a name twice;
 *   <li>an entry whose directory is not a directory entry of the archive before it (an entry below a symbolic
 *       link), and top-level names outside the {@linkplain BackupLayout backup layout};
 *   <li>a hard link that does not name a regular file stored before it;
 *   <li>a second manifest, or entries after it;
 *   <li>damage that stops the stream.
 * </ul>
 *
 * Archives without a manifest (made by Atlassian's scripts) are read and extracted, and reported unverified.
 */
final class BackupReading implements Closeable {

  /**
   * What a read found.
   *
   * @param summary the manifest summary, {@code null} if there is no readable manifest
   * @param entries entries read
   * @param files regular files read
   * @param bytes file bytes read
   * @param readable whether the archive was read to its end without damage
   * @param problems mismatches and damage, at most about 100
   */
  record Outcome(@Nullable BackupSummary summary, long entries, long files, long bytes, boolean readable,
      List<String> problems) {
    /** Returns whether the archive has a manifest and everything matched it. */
    boolean verified() {
      return summary != null && problems.isEmpty();
    }
  }

  private final @Nullable Extractor extractor;
  private final @Nullable ExtractionPlan plan;
  /** Prefixes someone waits for that are not complete yet, in canonical order. */
  private final java.util.TreeSet<String> awaited = new java.util.TreeSet<>(dev.bbdiy.kit.TreeWalker.ORDER);
  private final Path tempDir;
  private final ProgressReporter progress;
  private final CancellationSignal cancellation;
  private final Path actualFile;
  private final DataOutputStream actual;
  private final AsyncDigest sha256 = new AsyncDigest("bbdiy-sha256-read", 16, 1 << 20);
  /**
   * One read buffer for every file entry (entries are read one at a time, and the digest copies what it gets).
   * A buffer allocated per entry zeroed 1 MiB for every file: at a million small files, verify took five times as
   * long as the archive phase.
   */
  private final byte[] buffer = new byte[1 << 20];
  private final List<String> problems = new ArrayList<>();
  private final String verb;
  private @Nullable Path manifestFile;
  private boolean afterManifest;
  private long entries;
  private long files;
  private long bytes;
  private long layoutEntries;
  private boolean readable = true;
  private boolean finished;

  BackupReading(@Nullable ExtractionPlan plan, Path tempDir, ProgressReporter progress,
      CancellationSignal cancellation) throws IOException {
    this.extractor = plan == null ? null : new Extractor(plan, progress);
    this.plan = plan;
    if (plan != null) {
      awaited.addAll(plan.awaited());
    }
    this.tempDir = tempDir;
    this.progress = progress;
    this.cancellation = cancellation;
    this.verb = plan == null ? "verified " : "restored ";
    Files.createDirectories(tempDir);
    this.actualFile = Files.createTempFile(tempDir, "actual-", ".bin");
    DataOutputStream out;
    try {
      out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(actualFile), 1 << 16));
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(actualFile);
      sha256.close();
      throw e;
    }
    this.actual = out;
  }

  /**
   * Returns the normalized raw name of an entry, or {@code null} for the archive's root ({@code ./}).
   *
   * @throws BbdiyException {@link ErrorCode#VERIFICATION_FAILED} for an unsafe name
   */
  @Nullable String name(String rawName) {
    String name = safe(rawName);
    if (name == null || name.isEmpty()) {
      return null;
    }
    tellCompleted(name);
    if ((entries & 63) == 0) {
      cancellation.throwIfCancelled();
      progress.progress(verb + files + " files", bytes, -1, "bytes");
    }
    return name;
  }

  /**
   * Returns a name after checking it is safe; an unsafe one fails a restore at once and is a problem of a
   * verification (which goes on reading, to report everything).
   */
  private @Nullable String safe(String rawName) {
    try {
      return ExtractionPlan.normalize(rawName);
    } catch (BbdiyException e) {
      if (extractor != null) {
        throw e;
      }
      problem(String.valueOf(e.getMessage()));
      return null;
    }
  }

  /**
   * Tells the plan about the awaited prefixes that {@code name} sorts after: in canonical order nothing more of
   * them can come (an archive out of order fails verification at the end, which undoes what was started).
   */
  private void tellCompleted(String name) {
    while (!awaited.isEmpty()) {
      String first = awaited.first();
      if (name.equals(first) || name.startsWith(first + "/")
          || dev.bbdiy.kit.TreeWalker.ORDER.compare(name, first) < 0) {
        return;
      }
      awaited.pollFirst();
      java.util.Objects.requireNonNull(plan).completed(first);
    }
  }

  /** Returns whether {@code name} is the manifest, which {@link #manifest} then takes. */
  boolean isManifest(String name) {
    return name.equals(BackupLayout.MANIFEST);
  }

  /** Keeps the manifest's content, read from {@code in}. */
  void manifest(InputStream in) throws IOException {
    if (manifestFile != null) {
      problem("The archive holds a second " + BackupLayout.MANIFEST);
      in.transferTo(OutputStream.nullOutputStream());
      return;
    }
    manifestFile = Files.createTempFile(tempDir, "manifest-", ".json");
    try (OutputStream out = Files.newOutputStream(manifestFile)) {
      in.transferTo(out);
    }
    afterManifest = true;
  }

  private void entry(EntryRecord r) throws IOException {
    count(r.path());
    sha256.then(() -> write(r));
  }

  private void count(String name) {
    entries++;
    if (afterManifest) {
      problem(FileNames.display(name) + ": stored after the manifest");
      afterManifest = false; // one report is enough
    }
    int slash = name.indexOf('/');
    if (ArchiveCheck.TOP_LEVEL.contains(slash < 0 ? name : name.substring(0, slash))) {
      layoutEntries++;
    }
  }

  void directory(String name, int mode, long mtime, long uid, long gid) throws IOException {
    entry(new EntryRecord(name, FileMeta.Type.DIRECTORY, 0, null, mode, mtime, null));
    if (extractor != null) {
      extractor.directory(name, mode, mtime, uid, gid);
    }
  }

  void symlink(String name, String target, int mode, long mtime, long uid, long gid) throws IOException {
    entry(new EntryRecord(name, FileMeta.Type.SYMLINK, 0, null, mode, mtime, target));
    if (extractor != null) {
      extractor.symlink(name, target, mtime, uid, gid);
    }
  }

  void hardLink(String name, String existing, int mode, long mtime) throws IOException {
    String target = safe(existing);
    if (target == null) {
      return;
    }
    entry(new EntryRecord(name, FileMeta.Type.HARDLINK, 0, null, mode, mtime, target));
    if (extractor != null) {
      extractor.hardLink(name, target);
    }
  }

  /** Records an entry that bbdiy never restores (a device, pipe, socket). */
  void special(String name, String what, int mode, long mtime) throws IOException {
    entry(new EntryRecord(name, FileMeta.Type.OTHER, 0, null, mode, mtime, null));
    if (extractor != null) {
      extractor.special(name, what);
    }
  }

  /** Fails for an entry bbdiy cannot restore exactly (a sparse file). */
  void unsupported(String name, String what) {
    problem(FileNames.display(name) + ": " + what + ", which bbdiy cannot restore exactly");
    if (extractor != null) {
      throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "The archive entry " + FileNames.display(name)
          + " is " + what + ", which bbdiy cannot restore exactly; nothing was restored.");
    }
  }

  /** Reads a file entry's content from {@code source}, hashing it and writing it to its target. */
  void file(String name, int mode, long mtime, long uid, long gid, Content source) throws IOException {
    Extractor.FileEntry target = extractor == null ? null : extractor.openFile(name);
    long size = 0;
    boolean done = false;
    try {
      int n;
      while ((n = source.read(buffer)) > 0) {
        sha256.update(buffer, 0, n);
        if (target != null) {
          target.write(buffer, n);
        }
        size += n;
      }
      if (target != null) {
        target.finish(mode, mtime, uid, gid);
      }
      done = true;
    } finally {
      if (!done && target != null) {
        target.abandon();
      }
    }
    count(name);
    files++;
    bytes += size;
    long fileSize = size;
    sha256.end(digest -> write(new EntryRecord(name, FileMeta.Type.FILE, fileSize, digest, mode, mtime, null)));
  }

  /** The content of one file entry. */
  interface Content {
    /** Reads into {@code buffer}; returns -1 at the end. */
    int read(byte[] buffer) throws IOException;
  }

  /** Records that the stream could not be read to its end. */
  void damaged(String lastName, IOException e) {
    readable = false;
    problem("The archive is damaged or truncated after " + FileNames.display(lastName) + ": " + e.getMessage());
  }

  private void problem(String p) {
    if (problems.size() < ArchiveCheck.MAX_PROBLEMS) {
      problems.add(p);
    } else if (problems.size() == ArchiveCheck.MAX_PROBLEMS) {
      problems.add("... and more differences");
    }
  }

  private void write(EntryRecord r) {
    try {
      r.writeTo(actual);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Ends the read: waits for the digests, applies the directories' modes and times, and compares what was read
   * with the manifest.
   */
  Outcome finish() throws IOException {
    try {
      sha256.finish();
    } catch (IOException e) {
      if (readable) {
        throw e;
      }
    }
    actual.close();
    finished = true;
    // The last count, always: a small archive would otherwise only ever show the first one ("0 files").
    progress.progress(verb + files + " files", bytes, bytes, "bytes");
    if (extractor != null) {
      extractor.finish();
    }
    BackupSummary summary = null;
    if (manifestFile == null) {
      if (readable && layoutEntries == 0) {
        problem("The archive holds no " + BackupLayout.HOME + " and no " + BackupLayout.DATABASE + ": it is not a"
            + " Bitbucket backup");
      }
      if (readable) {
        ArchiveCheck.withoutManifest(actualFile, problems);
      }
      problems.add(0, NO_MANIFEST);
    } else {
      summary = ArchiveCheck.againstManifest(manifestFile, actualFile, files, bytes, problems);
    }
    return new Outcome(summary, entries, files, bytes, readable, List.copyOf(problems));
  }

  /** The one problem of a whole archive that has no manifest. */
  static final String NO_MANIFEST = "The archive has no " + BackupLayout.MANIFEST + ": it was not made by bbdiy,"
      + " or it is truncated; it cannot be verified.";

  /** Returns whether an outcome is a whole archive, manifest or not. */
  static boolean intact(Outcome o) {
    return o.readable() && (o.summary() == null
        ? o.problems().size() == 1 && o.problems().get(0).equals(NO_MANIFEST)
        : o.problems().isEmpty());
  }

  @Override
  public void close() throws IOException {
    sha256.close();
    if (!finished && extractor != null) {
      extractor.finish(); // a failed restore is removed, but the target's mode is given back
    }
    try {
      actual.close();
    } finally {
      Files.deleteIfExists(actualFile);
      if (manifestFile != null) {
        Files.deleteIfExists(manifestFile);
      }
    }
  }
}
