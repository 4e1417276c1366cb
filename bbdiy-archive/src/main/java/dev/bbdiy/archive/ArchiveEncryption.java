package dev.bbdiy.archive;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.kit.ChildProcess;
import dev.bbdiy.kit.PrivateFiles;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.Checksum;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.jspecify.annotations.Nullable;

/**
 * OpenPGP encryption of a tar archive store, the same for every store that writes {@link TarFormat} (local files,
 * S3 objects): the settings ({@code <provider>.encrypt-to}, {@code .gpg-recipient}, {@code .decrypt-key}, {@code
 * .decrypt-passphrase}), the encrypting stream and the two fields it adds to the summary, decryption for verify and
 * restore, and what verify checks without the secret key. Encrypted archives end in {@value #SUFFIX}. Immutable.
 */
public final class ArchiveEncryption {
  /** Summary field of an encrypted archive: the key ids it is encrypted to. */
  public static final String ENCRYPTED_TO = "encryptedTo";
  /**
   * Summary field of an encrypted archive: the CRC-32C of the encrypted bytes, checkable without the key (what S3
   * itself checks objects with). Not a cryptographic digest, and it need not be: whoever can change the archive
   * can change the summary beside it; a change made on purpose is caught by the integrity packet and the
   * manifest's SHA-256 digests when the archive is read with the key.
   */
  public static final String ENCRYPTED_CRC32C = "encryptedCrc32c";
  /** Summary field of archives encrypted by earlier versions: the SHA-256 of the encrypted bytes. */
  public static final String ENCRYPTED_SHA256 = "encryptedSha256";
  /** The suffix of encrypted archives, after the tar format's ({@code .tar.zst.gpg}). */
  public static final String SUFFIX = ".gpg";

  public static final Setting ENCRYPT_TO = Setting.of("encrypt-to", SettingType.LIST,
      "OpenPGP public key files (gpg --export) to encrypt archives to while they are written (.tar.zst.gpg, read by"
          + " gpg --decrypt). Default: none, archives are not encrypted.");
  public static final Setting GPG_RECIPIENT = Setting.of("gpg-recipient", SettingType.LIST,
      "Recipients in the gpg keyring of the user running bbdiy (GNUPGHOME) to encrypt archives to, as gpg"
          + " --recipient takes them (BITBUCKET_BACKUP_GPG_RECIPIENT); their public keys are exported with gpg"
          + " --export. Adds to encrypt-to.");
  public static final Setting REQUIRE = Setting.of("require-encryption", SettingType.BOOLEAN,
      "Refuse to run unless encrypt-to or gpg-recipient names a key (BACKUP_ARCHIVE_TYPE=gpg-zip sets it).")
      .withDefault("false");
  public static final Setting DECRYPT_KEY = Setting.of("decrypt-key", SettingType.PATH,
      "OpenPGP secret key file (gpg --export-secret-keys) to restore and fully verify encrypted archives.");
  public static final Setting DECRYPT_PASSPHRASE = Setting.of("decrypt-passphrase", SettingType.SECRET,
      "Passphrase of decrypt-key; give it as decrypt-passphrase.file=<0600 file>.");

  /** How long {@code gpg --export} of one recipient may take. */
  private static final Duration EXPORT_TIMEOUT = Duration.ofSeconds(60);

  private final String provider;
  private final List<Path> encryptTo;
  private final List<String> gpgRecipients;
  private final @Nullable Path secretKey;
  private final char @Nullable [] passphrase;

  /**
   * Creates the encryption of a store.
   *
   * @param provider the provider's name, the prefix of the settings that messages name ({@code tar})
   * @param encryptTo public key files to encrypt to
   * @param gpgRecipients recipients whose keys {@code gpg --export} gives
   * @param secretKey the secret key file that decrypts, or {@code null}
   * @param passphrase its passphrase, or {@code null} for none
   */
  public ArchiveEncryption(String provider, List<Path> encryptTo, List<String> gpgRecipients,
      @Nullable Path secretKey, char @Nullable [] passphrase) {
    this.provider = provider;
    this.encryptTo = List.copyOf(encryptTo);
    this.gpgRecipients = List.copyOf(gpgRecipients);
    for (String r : gpgRecipients) {
      if (r.isBlank() || r.startsWith("-") || r.chars().anyMatch(Character::isISOControl)) {
        throw BbdiyException.configuration(provider + "." + GPG_RECIPIENT.key() + ": '" + r + "' is not a gpg"
            + " recipient (a key id, fingerprint, e-mail address or name, not starting with '-')");
      }
    }
    this.secretKey = secretKey;
    this.passphrase = passphrase == null ? null : passphrase.clone();
  }

  /** Returns the settings every encrypting store declares. */
  public static List<Setting> settings() {
    return List.of(ENCRYPT_TO, GPG_RECIPIENT, REQUIRE, DECRYPT_KEY, DECRYPT_PASSPHRASE);
  }

  /**
   * Returns the encryption the settings configure, or {@code null} if they configure none. Public key files are
   * read now, so that a bad one is a configuration error before anything runs.
   *
   * @throws BbdiyException {@link ErrorCode#CONFIGURATION} for a key file that cannot encrypt, or encryption
   *     required but no key given
   */
  public static @Nullable ArchiveEncryption of(String provider, Settings s) {
    List<Path> files = s.isSet(ENCRYPT_TO) ? s.list(ENCRYPT_TO).stream().map(Path::of).toList() : List.of();
    List<String> recipients = s.isSet(GPG_RECIPIENT) ? s.list(GPG_RECIPIENT) : List.of();
    Path key = s.optionalPath(DECRYPT_KEY).orElse(null);
    char[] passphrase = s.secret(DECRYPT_PASSPHRASE).map(p -> p.reveal().toCharArray()).orElse(null);
    if (s.bool(REQUIRE) && files.isEmpty() && recipients.isEmpty()) {
      throw BbdiyException.configuration(s.fullKey(REQUIRE) + " is set and no key to encrypt to is given: set "
          + s.fullKey(ENCRYPT_TO) + " to a public key file, or " + s.fullKey(GPG_RECIPIENT)
          + " (BITBUCKET_BACKUP_GPG_RECIPIENT in a vars file) to a recipient in gpg's keyring");
    }
    if (files.isEmpty() && recipients.isEmpty() && key == null) {
      return null;
    }
    if (!files.isEmpty()) {
      OpenPgp.recipients(files, s.fullKey(ENCRYPT_TO));
    }
    return new ArchiveEncryption(provider, files, recipients, key, passphrase);
  }

  /** Returns whether new archives are encrypted. */
  public boolean encrypts() {
    return !encryptTo.isEmpty() || !gpgRecipients.isEmpty();
  }

  /** Returns whether a secret key is configured, so that encrypted archives can be read. */
  public boolean canDecrypt() {
    return secretKey != null;
  }

  /** Returns whether a stored name is that of an encrypted archive (or of one being written). */
  public static boolean isEncrypted(String name) {
    return name.endsWith(SUFFIX) || name.contains(SUFFIX + ".pending-");
  }

  /**
   * Returns the public keys to encrypt to: those of the key files, then those {@code gpg --export} gives for the
   * recipients (run without a shell, bounded in time, its output kept in a private file under {@code tempDir}
   * while it is read).
   *
   * @throws BbdiyException {@link ErrorCode#CONFIGURATION} for a key file or recipient that gives no key that
   *     may encrypt
   */
  public List<PGPPublicKey> recipients(Path tempDir) {
    List<PGPPublicKey> keys = new ArrayList<>(encryptTo.isEmpty() ? List.of()
        : OpenPgp.recipients(encryptTo, provider + "." + ENCRYPT_TO.key()));
    for (String r : gpgRecipients) {
      keys.addAll(export(r, tempDir));
    }
    return List.copyOf(keys);
  }

  private List<PGPPublicKey> export(String recipient, Path tempDir) {
    String setting = provider + "." + GPG_RECIPIENT.key();
    Path dir = null;
    try {
      PrivateFiles.createPrivateDirectories(tempDir);
      // gpg writes the key itself, into a directory only this user can enter.
      dir = Files.createTempDirectory(tempDir, "gpg-export-");
      Path file = dir.resolve("recipient.gpg");
      ChildProcess.Result result = ChildProcess.builder("gpg", "--batch", "--no-tty", "--yes", "--output",
          file.toString(), "--export", "--", recipient).name("gpg --export").timeout(EXPORT_TIMEOUT)
          .grace(Duration.ofSeconds(2)).build().run();
      if (!result.succeeded()) {
        throw BbdiyException.configuration(setting + ": gpg --export " + recipient + " failed (exit "
            + result.exitCode() + "): " + String.join(" ", result.stderrTail()));
      }
      if (!Files.exists(file) || Files.size(file) == 0) {
        throw BbdiyException.configuration(setting + ": gpg's keyring (" + keyring() + ") has no public key for '"
            + recipient + "'. Import it as the user bbdiy runs as (gpg --import <key file>), or give the key file"
            + " with " + provider + "." + ENCRYPT_TO.key());
      }
      return OpenPgp.recipients(List.of(file), setting + " (" + recipient + ")");
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, setting + ": cannot export the public key of '" + recipient
          + "' with gpg: " + e.getMessage(), e);
    } finally {
      if (dir != null) {
        try {
          PrivateFiles.deleteTree(dir);
        } catch (IOException ignored) {
          // a public key, in a private directory: harmless if it stays
        }
      }
    }
  }

  private static String keyring() {
    String home = System.getenv("GNUPGHOME");
    return home != null ? "GNUPGHOME=" + home : "~/.gnupg of " + System.getProperty("user.name");
  }

  /** An encrypting stream and, once it is closed, the summary fields that describe what it wrote. */
  public static final class Sink {
    private final OutputStream stream;
    private final Checksum crc;
    private final List<PGPPublicKey> keys;
    private final long[] size;

    private Sink(OutputStream stream, Checksum crc, List<PGPPublicKey> keys, long[] size) {
      this.stream = stream;
      this.crc = crc;
      this.keys = keys;
      this.size = size;
    }

    /** Returns the number of encrypted bytes written so far. */
    public long size() {
      return size[0];
    }

    /** Returns the stream to write the archive to; closing it finishes the OpenPGP packets and closes the store. */
    public OutputStream stream() {
      return stream;
    }

    /** Returns {@link #ENCRYPTED_TO} and {@link #ENCRYPTED_CRC32C}; call after the stream was closed. */
    public Map<String, String> summaryFields() {
      Map<String, String> m = new LinkedHashMap<>();
      m.put(ENCRYPTED_TO, String.join(",", keys.stream().map(k -> OpenPgp.keyId(k.getKeyID())).toList()));
      m.put(ENCRYPTED_CRC32C, crc32c(crc));
      return m;
    }
  }

  /** Returns a sink that encrypts to {@code keys} into {@code out}, checksumming the encrypted bytes. */
  public static Sink encrypt(OutputStream out, List<PGPPublicKey> keys) throws IOException {
    // CRC-32C, not SHA-256: on this path a SHA-256 cost about as much CPU as the AES itself (bench/RESULTS.md).
    Checksum crc = new CRC32C();
    long[] size = new long[1];
    OutputStream counted = new java.io.FilterOutputStream(out) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        crc.update(b, off, len);
        size[0] += len;
      }

      @Override
      public void write(int b) throws IOException {
        out.write(b);
        crc.update(b);
        size[0]++;
      }
    };
    return new Sink(OpenPgp.encrypt(counted, keys), crc, keys, size);
  }

  private static String crc32c(Checksum crc) {
    return String.format(java.util.Locale.ROOT, "%08x", crc.getValue());
  }

  /**
   * Returns the decrypted content of the encrypted backup {@code id} read from {@code in}; fails on a wrong key
   * or passphrase before any content is returned.
   *
   * @throws BbdiyException {@link ErrorCode#CONFIGURATION} if no secret key is configured or it is the wrong one
   */
  public InputStream decrypt(InputStream in, BackupId id, String location) {
    if (secretKey == null) {
      try {
        in.close();
      } catch (IOException ignored) {
        // nothing was read
      }
      throw BbdiyException.configuration("Backup " + id + " is encrypted (" + location + "): give the secret key"
          + " with " + provider + "." + DECRYPT_KEY.key() + " and its passphrase with " + provider + "."
          + DECRYPT_PASSPHRASE.key() + ".file");
    }
    char[] p = passphrase == null ? new char[0] : passphrase.clone();
    return OpenPgp.decrypt(in, secretKey, p, "backup " + id);
  }

  /** {@link #decrypt} with {@code null} encryption: the same message when nothing is configured. */
  public static InputStream decrypt(@Nullable ArchiveEncryption encryption, String provider, InputStream in,
      BackupId id, String location) {
    return (encryption != null ? encryption : new ArchiveEncryption(provider, List.of(), List.of(), null, null))
        .decrypt(in, id, location);
  }

  /**
   * Verifies an encrypted archive without its secret key, in one pass over {@code in} (which this closes): the
   * CRC-32C (SHA-256 for archives of earlier versions) of the encrypted bytes against the one its summary recorded
   * when it was written (a changed byte),
   * and its OpenPGP recipients. The content is checked against the manifest only with the key; the progress
   * reporter is told so.
   *
   * @param summary the archive's summary as stored, or {@code null} if there is none (an archive of Atlassian's)
   */
  public static VerifyResult verifyWithoutKey(BackupId id, String name, InputStream in, byte @Nullable [] summary,
      String provider, RunContext ctx) throws IOException {
    Instant start = Instant.now();
    Map<String, String> extra = Map.of();
    BackupSummary backup = null;
    if (summary != null) {
      try (ManifestCodec.Reader r = ManifestCodec.reader(new ByteArrayInputStream(summary))) {
        extra = r.extra();
        backup = r.summary();
      }
    }
    List<String> problems = new ArrayList<>();
    String expectedSha = extra.get(ENCRYPTED_SHA256);
    String expectedCrc = extra.get(ENCRYPTED_CRC32C);
    MessageDigest sha = sha256();
    Checksum crc = new CRC32C();
    List<String> recipients;
    // The checksum below the buffer: the OpenPGP reader marks and resets the buffer, the sum sees each byte once.
    try (InputStream summed = expectedSha != null ? new DigestInputStream(in, sha) : new CheckedInputStream(in, crc);
        BufferedInputStream buffered = new BufferedInputStream(summed, 1 << 16)) {
      try {
        recipients = OpenPgp.encryptedTo(buffered);
      } catch (IOException | RuntimeException e) {
        problems.add(name + " is not an OpenPGP encrypted archive: " + e.getMessage());
        recipients = List.of();
      }
      buffered.transferTo(OutputStream.nullOutputStream());
    }
    String kind = expectedSha != null ? "SHA-256" : "CRC-32C";
    String expected = expectedSha != null ? expectedSha : expectedCrc;
    String actual = expectedSha != null ? HexFormat.of().formatHex(sha.digest()) : crc32c(crc);
    if (summary == null) {
      problems.add(name + " has no manifest (an archive of Atlassian's gpg-zip?): without the secret key only its"
          + " OpenPGP recipients can be read; set " + provider + "." + DECRYPT_KEY.key() + " to read its content");
    } else if (expected == null) {
      problems.add(name + " is encrypted and its summary records no checksum of it: it can be checked only with"
          + " the secret key (" + provider + "." + DECRYPT_KEY.key() + ")");
    } else if (!expected.equals(actual)) {
      problems.add(name + " changed since it was written: its " + kind + " is " + actual + ", " + expected
          + " was recorded");
    }
    String to = extra.get(ENCRYPTED_TO);
    if (to != null && problems.isEmpty() && !List.of(to.split(",")).equals(recipients)) {
      problems.add(name + " is encrypted to " + recipients + ", not to " + to + " as recorded");
    }
    ctx.progress().message(provider + ": " + id + " is encrypted; without the secret key bbdiy checked the"
        + " encrypted file's " + kind + " and its recipients (" + String.join(", ", recipients) + "), not its content"
        + " against the manifest: set " + provider + "." + DECRYPT_KEY.key() + " to check that too");
    boolean ok = problems.isEmpty();
    return new VerifyResult(id, ok, 0, ok && backup != null ? backup.bytes() : 0, problems,
        Duration.between(start, Instant.now()));
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
