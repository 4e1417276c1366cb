package dev.bbdiy.archive;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.ExtractResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.kit.LockFile;
import dev.bbdiy.kit.PrivateFiles;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.LinkOption;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Stores backups as {@code <id>.tar.zst} (or {@code .tar.gz}, {@code .tar}) files in a directory, each with a
 * {@code <file>.summary.json} sidecar. {@link #store} writes a hidden, owner-only {@code .<file>.pending-<pid>}
 * file, forced to disk; {@link #commit} writes the sidecar and links the archive into place, never over an
 * existing one. So an interrupted or unverified run never leaves an archive that is listed. Pending files of
 * processes that died are removed by the next store. Archives of Atlassian's scripts in the same directory are
 * listed and can be restored. The store's lock is {@code .bbdiy-store.lock}, an OS file lock.
 */
public final class TarArchiver implements Archiver {
  private final Path dir;
  private final TarFormat format;
  private final Path tempDir;
  /** What {@link #store} left for {@link #commit}: the pending file and the sidecar to write. */
  private final java.util.Map<BackupId, Pending> pending = new java.util.concurrent.ConcurrentHashMap<>();

  private final @Nullable ArchiveEncryption encryption;

  private record Pending(Path file, byte[] sidecar, StoredBackup stored) {}

  private static final String GPG = ArchiveEncryption.SUFFIX;

  public TarArchiver(Path dir, TarFormat format, Path tempDir) {
    this(dir, format, tempDir, null);
  }

  public TarArchiver(Path dir, TarFormat format, Path tempDir, @Nullable ArchiveEncryption encryption) {
    this.dir = dir.toAbsolutePath().normalize();
    this.format = format;
    this.tempDir = tempDir;
    this.encryption = encryption;
  }

  private boolean encrypting() {
    return encryption != null && encryption.encrypts();
  }

  /** Returns the directory archives are stored in. */
  public Path directory() {
    return dir;
  }

  @Override
  public boolean compresses() {
    return format.compression() != Compression.NONE;
  }

  @Override
  public void preflight(RunContext context) {
    PrivateFiles.requireWritableDirectory(dir, "archive directory");
    if (encryption != null && encryption.encrypts()) {
      encryption.recipients(tempDir); // a recipient missing from gpg's keyring fails now, not after the lock
    }
  }

  @Override
  public StoredBackup store(BackupContent content, RunContext ctx) {
    BackupId id = content.summary().id();
    String name = id.value() + format.compression().extension() + (encrypting() ? GPG : "");
    Path target = dir.resolve(name);
    Path partial = dir.resolve("." + name + ".pending-" + ProcessHandle.current().pid());
    try {
      PrivateFiles.createPrivateDirectories(dir);
      removeStalePartials();
      if (find(id).isPresent() || pending.containsKey(id)) {
        throw BbdiyException.refused("A backup named " + id + " already exists in " + dir + "; not replacing it");
      }
      ArchiveEncryption enc = encryption;
      List<org.bouncycastle.openpgp.PGPPublicKey> keys = enc != null && enc.encrypts()
          ? enc.recipients(tempDir) : List.of();
      FileChannel ch = PrivateFiles.createPrivate(partial);
      java.io.OutputStream out = Channels.newOutputStream(ch);
      ArchiveEncryption.Sink sink = null;
      if (!keys.isEmpty()) {
        sink = ArchiveEncryption.encrypt(out, keys);
        out = sink.stream();
      }
      TarFormat.Written written = format.write(out, content, tempDir, ctx);
      java.util.Map<String, String> extra = sink != null ? sink.summaryFields() : java.util.Map.of();
      try (FileChannel sync = FileChannel.open(partial, StandardOpenOption.WRITE)) {
        sync.force(true);
      }
      String formatName = format.formatName() + (sink != null ? GPG : "");
      long size = Files.size(partial);
      StoredBackup stored = new StoredBackup(id, partial.toString(), formatName, size, Instant.now(),
          written.summary());
      pending.put(id, new Pending(partial, format.sidecar(written, extra), new StoredBackup(id, target.toString(),
          formatName, size, Instant.now(), written.summary())));
      return stored;
    } catch (IOException | RuntimeException e) {
      deleteQuietly(partial);
      throw BbdiyException.wrap(e, ErrorCode.PROVIDER_FAILED, "tar: cannot store " + target);
    }
  }

  @Override
  public StoredBackup commit(BackupId id) {
    Pending p = pending.get(id);
    if (p == null) {
      throw new BbdiyException(ErrorCode.NOT_FOUND, "tar: no pending backup " + id + " to publish in " + dir);
    }
    Path target = Path.of(p.stored().location());
    Path sidecar = target.resolveSibling(target.getFileName() + TarFormat.SIDECAR_SUFFIX);
    try {
      if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
        throw BbdiyException.refused("A backup file " + target + " appeared while this one was written; not"
            + " replacing it");
      }
      // The sidecar first: an archive is never listed without its summary.
      PrivateFiles.writeAtomically(sidecar, p.sidecar());
      publish(p.file(), target);
      pending.remove(id);
      return p.stored();
    } catch (IOException | RuntimeException e) {
      if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
        deleteQuietly(sidecar);
      }
      throw BbdiyException.wrap(e, ErrorCode.PROVIDER_FAILED, "tar: cannot publish " + target);
    }
  }

  @Override
  public Lock lock(Duration wait, RunContext context) {
    PrivateFiles.requireWritableDirectory(dir, "archive directory");
    return LockFile.acquireStore(dir.resolve(".bbdiy-store.lock"), "the archive directory " + dir,
        context.phase().name().toLowerCase(java.util.Locale.ROOT), wait, context.cancellation(), context.progress());
  }

  /** Moves the finished file into place without ever replacing an existing one. */
  private static void publish(Path partial, Path target) throws IOException {
    try {
      Files.createLink(target, partial);
      Files.delete(partial);
    } catch (FileAlreadyExistsException e) {
      throw BbdiyException.refused("A backup file " + target + " appeared while this one was written");
    } catch (UnsupportedOperationException | IOException e) {
      if (Files.exists(target)) {
        throw e;
      }
      Files.move(partial, target);
    }
    PrivateFiles.forceDirectory(PrivateFiles.parentOf(target));
  }

  private void removeStalePartials() throws IOException {
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, ".*.{partial,pending}-*")) {
      for (Path p : stream) {
        String n = p.getFileName().toString();
        long pid;
        try {
          pid = Long.parseLong(n.substring(n.lastIndexOf('-') + 1));
        } catch (NumberFormatException e) {
          continue;
        }
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
          continue;
        }
        deleteQuietly(p);
      }
    }
  }

  @Override
  public List<StoredBackup> list() {
    List<StoredBackup> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      throw new BbdiyException(ErrorCode.NOT_FOUND, "The archive directory " + dir + " does not exist: no backup"
          + " was ever stored there. Check tar.dir (BITBUCKET_BACKUP_ARCHIVE_ROOT).");
    }
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      for (Path p : stream) {
        String n = p.getFileName().toString();
        String gpg = n.endsWith(GPG) ? GPG : "";
        String plain = n.substring(0, n.length() - gpg.length());
        String suffix = Compression.suffixOf(plain);
        if (n.startsWith(".") || suffix == null || !Files.isRegularFile(p)) {
          continue;
        }
        Optional<BackupId> id = BackupId.parse(plain.substring(0, plain.length() - suffix.length()));
        if (id.isEmpty()) {
          continue;
        }
        Instant stored = Files.getLastModifiedTime(p).toInstant();
        out.add(new StoredBackup(id.get(), p.toString(), suffix.substring(1) + gpg, Files.size(p), stored,
            readSidecar(p)));
      }
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "tar: cannot list " + dir + ": " + e.getMessage(), e);
    }
    out.sort(StoredBackup.NEWEST_FIRST);
    return out;
  }

  private static @Nullable BackupSummary readSidecar(Path archive) {
    Path sidecar = archive.resolveSibling(archive.getFileName() + TarFormat.SIDECAR_SUFFIX);
    try {
      return TarFormat.parseSidecar(Files.readAllBytes(sidecar));
    } catch (IOException e) {
      return null;
    }
  }

  private Path file(BackupId id) {
    Pending p = pending.get(id);
    if (p != null) {
      return p.file();
    }
    Optional<StoredBackup> b = find(id);
    if (b.isEmpty()) {
      throw new BbdiyException(ErrorCode.NOT_FOUND, "No backup " + id + " in " + dir + "; 'bbdiy list' shows"
          + " the backups there");
    }
    return Path.of(b.get().location());
  }

  @Override
  public VerifyResult verify(BackupId id, RunContext ctx) {
    Path file = file(id);
    try {
      InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20);
      if (encrypted(file)) {
        if (encryption == null || !encryption.canDecrypt()) {
          return ArchiveEncryption.verifyWithoutKey(id, file.getFileName().toString(), in, sidecar(id, file),
              "tar", ctx);
        }
        Instant start = Instant.now();
        in = encryption.decrypt(in, id, file.toString());
        try {
          return TarFormat.verify(id, in, tempDir, ctx);
        } catch (IOException e) {
          // the integrity packet, checked when the decrypted stream is closed
          return new VerifyResult(id, false, 0, 0, List.of(String.valueOf(e.getMessage())),
              Duration.between(start, Instant.now()));
        }
      }
      return TarFormat.verify(id, in, tempDir, ctx);
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "tar: cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /** Returns the summary stored beside an archive (or waiting to be), or null if it has none. */
  private byte @Nullable [] sidecar(BackupId id, Path file) throws IOException {
    Pending p = pending.get(id);
    if (p != null) {
      return p.sidecar();
    }
    try {
      return Files.readAllBytes(file.resolveSibling(file.getFileName() + TarFormat.SIDECAR_SUFFIX));
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  @Override
  public ExtractResult extract(BackupId id, ExtractionPlan plan, RunContext ctx) {
    Path file = file(id);
    try {
      InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20);
      if (encrypted(file)) {
        // Fails on a missing or wrong key or passphrase before anything is written.
        in = ArchiveEncryption.decrypt(encryption, "tar", in, id, file.getFileName().toString());
        try {
          return TarFormat.extract(id, in, plan, tempDir, ctx);
        } catch (IOException e) {
          throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "Backup " + id + " failed verification while it"
              + " was restored: " + e.getMessage() + ". Restore an older backup.", e);
        }
      }
      return TarFormat.extract(id, in, plan, tempDir, ctx);
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "tar: cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /** Whether a stored (or pending) archive is OpenPGP encrypted, by its name. */
  private static boolean encrypted(Path file) {
    return ArchiveEncryption.isEncrypted(file.getFileName().toString());
  }

  @Override
  public void delete(BackupId id) {
    Pending p = pending.remove(id);
    if (p != null) {
      deleteQuietly(p.file());
      return;
    }
    Path file = file(id);
    try {
      Files.delete(file);
      Files.deleteIfExists(file.resolveSibling(file.getFileName() + TarFormat.SIDECAR_SUFFIX));
      PrivateFiles.forceDirectory(dir);
    } catch (NoSuchFileException e) {
      // already gone
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "tar: cannot delete " + file + ": " + e.getMessage(), e);
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // best effort: a stale partial is removed by the next run
    }
  }
}
