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

  private final @Nullable Encryption encryption;

  private record Pending(Path file, byte[] sidecar, StoredBackup stored) {}

  /**
   * OpenPGP encryption of the archives: the public key files they are encrypted to (none: archives are not
   * encrypted) and, to restore and fully verify encrypted archives, a secret key file and its passphrase.
   */
  public record Encryption(List<Path> encryptTo, @Nullable Path secretKey, char @Nullable [] passphrase) {
    public Encryption {
      encryptTo = List.copyOf(encryptTo);
    }
  }

  /** Sidecar field of an encrypted archive: the key ids it is encrypted to. */
  public static final String ENCRYPTED_TO = "encryptedTo";
  /** Sidecar field of an encrypted archive: the SHA-256 of the encrypted file, checkable without the key. */
  public static final String ENCRYPTED_SHA256 = "encryptedSha256";
  private static final String GPG = ".gpg";

  public TarArchiver(Path dir, TarFormat format, Path tempDir) {
    this(dir, format, tempDir, null);
  }

  public TarArchiver(Path dir, TarFormat format, Path tempDir, @Nullable Encryption encryption) {
    this.dir = dir.toAbsolutePath().normalize();
    this.format = format;
    this.tempDir = tempDir;
    this.encryption = encryption;
  }

  private boolean encrypting() {
    return encryption != null && !encryption.encryptTo().isEmpty();
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
      Encryption enc = encryption;
      List<org.bouncycastle.openpgp.PGPPublicKey> keys = enc != null && encrypting()
          ? OpenPgp.recipients(enc.encryptTo(), "tar.encrypt-to") : List.of();
      FileChannel ch = PrivateFiles.createPrivate(partial);
      java.io.OutputStream out = Channels.newOutputStream(ch);
      java.security.MessageDigest sha = null;
      if (!keys.isEmpty()) {
        sha = java.security.MessageDigest.getInstance("SHA-256");
        out = OpenPgp.encrypt(new java.security.DigestOutputStream(out, sha), keys);
      }
      TarFormat.Written written = format.write(out, content, tempDir, ctx);
      java.util.Map<String, String> extra = new java.util.LinkedHashMap<>();
      if (sha != null) {
        extra.put(ENCRYPTED_TO, String.join(",", keys.stream().map(k -> OpenPgp.keyId(k.getKeyID())).toList()));
        extra.put(ENCRYPTED_SHA256, java.util.HexFormat.of().formatHex(sha.digest()));
      }
      try (FileChannel sync = FileChannel.open(partial, StandardOpenOption.WRITE)) {
        sync.force(true);
      }
      String formatName = format.formatName() + (sha != null ? GPG : "");
      long size = Files.size(partial);
      StoredBackup stored = new StoredBackup(id, partial.toString(), formatName, size, Instant.now(),
          written.summary());
      pending.put(id, new Pending(partial, format.sidecar(written, extra), new StoredBackup(id, target.toString(),
          formatName, size, Instant.now(), written.summary())));
      return stored;
    } catch (IOException | RuntimeException | java.security.NoSuchAlgorithmException e) {
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
        if (encryption == null || encryption.secretKey() == null) {
          in.close();
          return verifyEncrypted(id, file, ctx);
        }
        Instant start = Instant.now();
        in = OpenPgp.decrypt(in, encryption.secretKey(), passphrase(), "backup " + id);
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

  @Override
  public ExtractResult extract(BackupId id, ExtractionPlan plan, RunContext ctx) {
    Path file = file(id);
    try {
      InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20);
      if (encrypted(file)) {
        if (encryption == null || encryption.secretKey() == null) {
          in.close();
          throw BbdiyException.configuration("Backup " + id + " is encrypted (" + file.getFileName() + "): give"
              + " the secret key with tar.decrypt-key and its passphrase with tar.decrypt-passphrase.file");
        }
        // Fails on a wrong key or passphrase before anything is written.
        in = OpenPgp.decrypt(in, encryption.secretKey(), passphrase(), "backup " + id);
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
    String n = file.getFileName().toString();
    return n.endsWith(GPG) || n.contains(GPG + ".pending-");
  }

  private char[] passphrase() {
    return encryption == null || encryption.passphrase() == null ? new char[0] : encryption.passphrase().clone();
  }

  /**
   * Verifies an encrypted archive without its secret key: the SHA-256 of the encrypted file against the one its
   * sidecar recorded when it was written (any changed byte), and its OpenPGP recipients. The content itself is
   * checked against the manifest only with the key.
   */
  private VerifyResult verifyEncrypted(BackupId id, Path file, RunContext ctx) throws IOException {
    Instant start = Instant.now();
    Pending p = pending.get(id);
    byte[] sidecar = p != null ? p.sidecar()
        : Files.readAllBytes(file.resolveSibling(file.getFileName() + TarFormat.SIDECAR_SUFFIX));
    java.util.Map<String, String> extra;
    BackupSummary summary;
    try (ManifestCodec.Reader r = ManifestCodec.reader(new java.io.ByteArrayInputStream(sidecar))) {
      extra = r.extra();
      summary = r.summary();
    }
    List<String> problems = new ArrayList<>();
    String expected = extra.get(ENCRYPTED_SHA256);
    java.security.MessageDigest sha;
    try {
      sha = java.security.MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    List<String> recipients;
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      recipients = OpenPgp.encryptedTo(in);
    } catch (IOException | RuntimeException e) {
      problems.add(file.getFileName() + " is not an OpenPGP encrypted archive: " + e.getMessage());
      recipients = List.of();
    }
    // A pass of its own: the OpenPGP reader marks and resets its input, which a digest would count twice.
    try (InputStream in = new java.security.DigestInputStream(Files.newInputStream(file), sha)) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
    }
    String actual = java.util.HexFormat.of().formatHex(sha.digest());
    if (expected == null) {
      problems.add(file.getFileName() + " is encrypted and its summary records no digest of it: it can be checked"
          + " only with the secret key (tar.decrypt-key)");
    } else if (!expected.equals(actual)) {
      problems.add(file.getFileName() + " changed since it was written: its SHA-256 is " + actual + ", " + expected
          + " was recorded");
    }
    String to = extra.get(ENCRYPTED_TO);
    if (to != null && problems.isEmpty() && !List.of(to.split(",")).equals(recipients)) {
      problems.add(file.getFileName() + " is encrypted to " + recipients + ", not to " + to + " as recorded");
    }
    ctx.progress().message("tar: " + id + " is encrypted; without the secret key bbdiy checked the encrypted"
        + " file's SHA-256 and its recipients (" + String.join(", ", recipients) + "), not its content against the"
        + " manifest: set tar.decrypt-key to check that too");
    boolean ok = problems.isEmpty();
    return new VerifyResult(id, ok, 0, ok && summary != null ? summary.bytes() : 0, problems,
        Duration.between(start, Instant.now()));
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
