package dev.bbdiy.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.ExtractResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.simulator.Trees;
import dev.bbdiy.testkit.ArchiverContract;
import dev.bbdiy.testkit.TestContexts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The tar archiver with OpenPGP encryption ({@code tar.encrypt-to}): the archiver contract with the secret key
 * configured, and interoperability both ways with real {@code gpg}.
 */
class EncryptedTarArchiverTest extends ArchiverContract {
  private static Path gpgHome;
  private static Path keys;
  private static Path publicKey;
  private static Path secretKey;
  private static Path otherSecretKey;
  private static final String PASSPHRASE = "bbdiy test passphrase";

  private Path dir;

  @BeforeAll
  static void keys() throws Exception {
    keys = Files.createTempDirectory("bbdiy-gpg-keys");
    // The keyring bbdiy's own gpg calls use (the build sets GNUPGHOME for the tests), made afresh.
    String configured = System.getenv("GNUPGHOME");
    assertThat(configured).as("GNUPGHOME, set by the module's surefire configuration").isNotBlank();
    gpgHome = Path.of(configured);
    deleteTree(gpgHome);
    Files.createDirectories(gpgHome);
    Files.setPosixFilePermissions(gpgHome, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    // The agent calibrates the passphrase's key derivation to ~100 ms of hashing on this machine, paid again by
    // every decryption of every test; the lowest count it allows keeps the same protection scheme, only cheaper.
    Files.writeString(gpgHome.resolve("gpg-agent.conf"), "s2k-count 65536\n");
    Path pass = keys.resolve("pass");
    Files.writeString(pass, PASSPHRASE + "\n");
    for (String name : List.of("bbdiy backup", "someone else")) {
      Path params = keys.resolve("params");
      Files.writeString(params, "Key-Type: RSA\nKey-Length: 2048\nSubkey-Type: RSA\nSubkey-Length: 2048\n"
          + "Name-Real: " + name + "\nName-Email: " + name.replace(' ', '.') + "@example.com\nExpire-Date: 0\n"
          + "Passphrase: " + PASSPHRASE + "\n%commit\n");
      gpg("--batch", "--gen-key", params.toString());
    }
    publicKey = keys.resolve("backup.pub.asc");
    secretKey = keys.resolve("backup.sec.asc");
    otherSecretKey = keys.resolve("other.sec.asc");
    Files.writeString(publicKey, gpg("--armor", "--export", "bbdiy.backup@example.com"));
    Files.writeString(secretKey, gpg("--batch", "--pinentry-mode", "loopback", "--passphrase-file", pass.toString(),
        "--armor", "--export-secret-keys", "bbdiy.backup@example.com"));
    Files.writeString(otherSecretKey, gpg("--batch", "--pinentry-mode", "loopback", "--passphrase-file",
        pass.toString(), "--armor", "--export-secret-keys", "someone.else@example.com"));
  }

  @AfterAll
  static void stopAgent() throws Exception {
    new ProcessBuilder("gpgconf", "--homedir", gpgHome.toString(), "--kill", "gpg-agent").redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(10, TimeUnit.SECONDS);
    deleteTree(keys);
    deleteTree(gpgHome);
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (var s = Files.walk(root)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /** Runs gpg with the test's home; fails naming the package when gpg is missing. */
  static String gpg(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("gpg", "--homedir", gpgHome.toString(), "--quiet"));
    command.addAll(List.of(args));
    Process p;
    try {
      p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      return fail("gpg is not installed: apt-get install gnupg (scripts/test.sh installs it)", e);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("gpg %s", command).isZero();
    return out;
  }

  static Process shell(String script) throws IOException {
    ProcessBuilder pb = new ProcessBuilder("sh", "-c", script).redirectErrorStream(true);
    pb.environment().put("GNUPGHOME", gpgHome.toString());
    return pb.start();
  }

  private static ArchiveEncryption encryption(Path secret, String passphrase) {
    return new ArchiveEncryption("tar", List.of(publicKey), List.of(), secret, passphrase.toCharArray());
  }

  @Override
  protected Archiver newArchiver(Path dir, Path workDir) {
    this.dir = dir;
    return archiver(encryption(secretKey, PASSPHRASE));
  }

  private TarArchiver archiver(ArchiveEncryption encryption) {
    return new TarArchiver(dir, new TarFormat(Compression.ZSTD, -1, 2), work.resolve(".bbdiy/tmp"), encryption);
  }

  private Path file(BackupId id) {
    return dir.resolve(id.value() + ".tar.zst.gpg");
  }

  @Override
  protected void corrupt(BackupId id) throws Exception {
    flipByte(file(id), Files.size(file(id)) / 2);
  }

  @Override
  protected List<Path> storedFiles(StoredBackup backup) {
    return List.of(Path.of(backup.location()), Path.of(backup.location() + TarFormat.SIDECAR_SUFFIX));
  }

  @Test
  void gpg_decrypts_what_bbdiy_encrypted_and_tar_reads_it() throws Exception {
    StoredBackup stored = store("20260102-030405");
    assertThat(stored.location()).endsWith(".tar.zst.gpg");
    assertThat(stored.format()).isEqualTo("tar.zst.gpg");

    Process p = shell("gpg --batch --quiet --pinentry-mode loopback --passphrase '" + PASSPHRASE + "' --decrypt '"
        + stored.location() + "' | zstd -dc | tar -tf -");
    String listing = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(listing).isZero();
    assertThat(listing).contains("bitbucket-home/").contains("bitbucket-db/toc.dat").contains("manifest.json");
  }

  @Test
  void bbdiy_restores_and_verifies_an_archive_gpg_encrypted() throws Exception {
    TarArchiver plain = new TarArchiver(temp.resolve("plain"), new TarFormat(Compression.ZSTD, -1, 2),
        work.resolve(".bbdiy/tmp"));
    BackupId id = new BackupId("bitbucket-20260103-000000");
    archiverStore(plain, id);
    Path plainFile = temp.resolve("plain").resolve(id.value() + ".tar.zst");
    Process p = shell("gpg --batch --quiet --trust-model always --recipient bbdiy.backup@example.com --output '"
        + file(id) + "' --encrypt '" + plainFile + "'");
    assertThat(p.waitFor()).as(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
    Files.copy(Path.of(plainFile + TarFormat.SIDECAR_SUFFIX), Path.of(file(id) + TarFormat.SIDECAR_SUFFIX));

    assertThat(archiver.list()).extracting(StoredBackup::id).contains(id);
    assertThat(archiver.verify(id, TestContexts.run(work, Phase.VERIFY)).ok()).isTrue();
    Path restored = temp.resolve("restored/home");
    ExtractResult r = archiver.extract(id, ExtractionPlan.builder().map(BackupLayout.HOME, restored).build(),
        TestContexts.run(work, Phase.EXTRACT));
    assertThat(r.verified()).isTrue();
    assertThat(Trees.differences(work.resolve(BackupLayout.HOME), restored)).isEmpty();
  }

  private void archiverStore(TarArchiver a, BackupId id) {
    a.commit(a.store(new dev.bbdiy.api.spi.BackupContent(work, List.of(BackupLayout.HOME, BackupLayout.DATABASE),
        summary(id)), TestContexts.run(work, Phase.ARCHIVE)).id());
  }

  @Test
  void a_wrong_passphrase_or_key_is_a_clear_error_and_writes_nothing() {
    StoredBackup stored = store("20260102-030405");
    Path target = temp.resolve("restored/home");

    assertThatThrownBy(() -> archiver(encryption(secretKey, "wrong")).extract(stored.id(),
        ExtractionPlan.builder().map(BackupLayout.HOME, target).build(), TestContexts.run(work, Phase.EXTRACT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION);
          assertThat(e.getMessage()).contains("passphrase").contains("Nothing was restored");
        });
    assertThat(target).doesNotExist();

    assertThatThrownBy(() -> archiver(encryption(otherSecretKey, PASSPHRASE)).extract(stored.id(),
        ExtractionPlan.builder().map(BackupLayout.HOME, target).build(), TestContexts.run(work, Phase.EXTRACT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION);
          assertThat(e.getMessage()).contains("holds the secret key of none of them");
        });
    assertThat(target).doesNotExist();

    assertThatThrownBy(() -> archiver(new ArchiveEncryption("tar", List.of(publicKey), List.of(), null, null)).extract(
        stored.id(), ExtractionPlan.builder().map(BackupLayout.HOME, target).build(),
        TestContexts.run(work, Phase.EXTRACT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION);
          assertThat(e.getMessage()).contains("tar.decrypt-key");
        });
    assertThat(target).doesNotExist();
  }

  @Test
  void without_the_key_verify_checks_the_encrypted_file_and_says_so() throws Exception {
    TarArchiver publicOnly = archiver(new ArchiveEncryption("tar", List.of(publicKey), List.of(), null, null));
    BackupId id = new BackupId("bitbucket-20260104-000000");
    StoredBackup pending = publicOnly.store(new dev.bbdiy.api.spi.BackupContent(work,
        List.of(BackupLayout.HOME, BackupLayout.DATABASE), summary(id)), TestContexts.run(work, Phase.ARCHIVE));
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.VERIFY);

    VerifyResult before = publicOnly.verify(pending.id(), ctx);
    publicOnly.commit(id);
    VerifyResult published = publicOnly.verify(id, TestContexts.run(work, Phase.VERIFY));
    corrupt(id);
    VerifyResult after = publicOnly.verify(id, TestContexts.run(work, Phase.VERIFY));

    assertThat(before.ok()).as(before.problems().toString()).isTrue();
    assertThat(published.ok()).isTrue();
    assertThat(ctx.progress().messages()).anyMatch(m -> m.contains("without the secret key")
        && m.contains("not its content against the manifest"));
    assertThat(after.ok()).isFalse();
    assertThat(after.problems()).anyMatch(p -> p.contains("changed since it was written"));
  }

  @Test
  void a_key_file_that_cannot_encrypt_is_a_configuration_error() throws Exception {
    Path notAKey = temp.resolve("not-a-key.asc");
    Files.writeString(notAKey, "hello");
    assertThatThrownBy(() -> OpenPgp.recipients(List.of(notAKey), "tar.encrypt-to"))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION));
  }

  @Test
  void a_gpg_recipient_is_exported_from_the_keyring_and_encrypted_to() throws Exception {
    TarArchiver byRecipient = archiver(new ArchiveEncryption("tar", List.of(), List.of("bbdiy.backup@example.com"),
        secretKey, PASSPHRASE.toCharArray()));
    byRecipient.preflight(TestContexts.run(work, Phase.PREFLIGHT));
    BackupId id = new BackupId("bitbucket-20260105-000000");

    archiverStore(byRecipient, id);

    assertThat(byRecipient.verify(id, TestContexts.run(work, Phase.VERIFY)).ok()).isTrue();
    Process p = shell("gpg --batch --quiet --pinentry-mode loopback --passphrase '" + PASSPHRASE + "' --decrypt '"
        + file(id) + "' | zstd -dc | tar -tf -");
    String listing = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(listing).isZero();
    assertThat(listing).contains("bitbucket-home/").contains("manifest.json");
    try (var files = Files.list(work.resolve(".bbdiy/tmp"))) {
      assertThat(files.filter(f -> f.getFileName().toString().startsWith("gpg-export-")))
          .as("the exported key file is removed").isEmpty();
    }
  }

  @Test
  void a_recipient_missing_from_the_keyring_fails_preflight_saying_how_to_import_it() {
    TarArchiver unknown = archiver(new ArchiveEncryption("tar", List.of(), List.of("nobody@example.com"), null,
        null));

    assertThatThrownBy(() -> unknown.preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION);
          assertThat(e.getMessage()).contains("no public key for 'nobody@example.com'").contains("gpg --import");
        });
  }

  @Test
  void a_recipient_that_gpg_would_read_as_an_option_is_refused() {
    assertThatThrownBy(() -> new ArchiveEncryption("tar", List.of(), List.of("--output=/tmp/bbdiy-pwned"), null,
        null)).isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION);
          assertThat(e.getMessage()).contains("tar.gpg-recipient");
        });
  }

  @Test
  void required_encryption_without_a_key_is_a_configuration_error() {
    TarArchiverProvider provider = new TarArchiverProvider();

    assertThatThrownBy(() -> provider.create(TestContexts.providerContext(provider, java.util.Map.of("tar.dir",
        dir.toString(), "tar.require-encryption", "true"), dev.bbdiy.api.BitbucketInstance.of("bitbucket", work),
        work))).isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION);
          assertThat(e.getMessage()).contains("tar.encrypt-to").contains("BITBUCKET_BACKUP_GPG_RECIPIENT");
        });
  }

  /** Makes {@code <dir>/<id>.tar.gz.gpg} as Atlassian's gpg-zip strategy does: gpg-zip of the backup root. */
  private Path atlassianGpgZip(BackupId id, Path root) throws Exception {
    Path out = dir.resolve(id.value() + ".tar.gz.gpg");
    Process p = shell("gpg-zip --encrypt --recipient bbdiy.backup@example.com --output '" + out + "' --tar-args '-C "
        + root + "' .");
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as("gpg-zip: " + output).isZero();
    return out;
  }

  @Test
  void an_archive_of_atlassians_gpg_zip_is_listed_and_restored_unverified() throws Exception {
    BackupId id = new BackupId("bitbucket-20250101-000000");
    atlassianGpgZip(id, work);

    StoredBackup listed = archiver.find(id).orElseThrow();
    assertThat(listed.hasManifest()).isFalse();
    assertThat(listed.format()).isEqualTo("tar.gz.gpg");
    VerifyResult withKey = archiver.verify(id, TestContexts.run(work, Phase.VERIFY));
    assertThat(withKey.ok()).isFalse();
    assertThat(withKey.problems()).singleElement().asString().contains("no manifest");
    VerifyResult withoutKey = archiver(new ArchiveEncryption("tar", List.of(publicKey), List.of(), null, null))
        .verify(id, TestContexts.run(work, Phase.VERIFY));
    assertThat(withoutKey.ok()).isFalse();
    assertThat(withoutKey.problems()).singleElement().asString().contains("has no manifest", "tar.decrypt-key");

    Path home = temp.resolve("restored/home");
    Path db = temp.resolve("restored/db");
    ExtractResult r = archiver.extract(id, ExtractionPlan.builder().map(BackupLayout.HOME, home)
        .map(BackupLayout.DATABASE, db).build(), TestContexts.run(work, Phase.EXTRACT));

    assertThat(r.verified()).isFalse();
    assertThat(Trees.differences(work.resolve(BackupLayout.HOME), home, Trees.Check.MODE)).isEmpty();
    assertThat(Files.readString(db.resolve("toc.dat"))).isEqualTo("table of contents");
  }

  @Test
  void a_crafted_gpg_zip_archive_gets_the_same_entry_checks() throws Exception {
    Path root = Files.createDirectories(temp.resolve("crafted"));
    Files.createDirectories(root.resolve("bitbucket-home"));
    Files.writeString(root.resolve("bitbucket-home/ok.txt"), "fine");
    Files.createSymbolicLink(root.resolve("bitbucket-home/link"), Path.of("/etc"));
    Files.createDirectories(root.resolve("bitbucket-home/link-target"));
    BackupId id = new BackupId("bitbucket-20250102-000000");
    // A symbolic link out of the home, and an entry written through it: tar keeps both as given.
    Path plainTar = temp.resolve("crafted.tar");
    Process t = shell("cd '" + root + "' && tar -cf '" + plainTar + "' ./bitbucket-home/link && mkdir -p x/bitbucket-home/link"
        + " && echo pwned > x/bitbucket-home/link/bbdiy-crafted && tar -rf '" + plainTar + "' -C x"
        + " ./bitbucket-home/link/bbdiy-crafted && gpg --batch --quiet --trust-model always --recipient"
        + " bbdiy.backup@example.com --output '" + dir.resolve(id.value() + ".tar.gz.gpg") + "' --encrypt '" + plainTar
        + "'");
    assertThat(t.waitFor()).as(new String(t.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
    Path home = temp.resolve("restored/home");

    assertThatThrownBy(() -> archiver.extract(id, ExtractionPlan.builder().map(BackupLayout.HOME, home).build(),
        TestContexts.run(work, Phase.EXTRACT))).isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED));
    assertThat(Path.of("/etc/bbdiy-crafted")).doesNotExist();
  }

  @Test
  void closing_the_encrypting_stream_closes_the_store_beneath_it() throws Exception {
    boolean[] closed = {false};
    java.io.OutputStream store = new java.io.ByteArrayOutputStream() {
      @Override
      public void close() {
        closed[0] = true;
      }
    };

    OpenPgp.encrypt(store, OpenPgp.recipients(List.of(publicKey), "tar.encrypt-to")).close();

    assertThat(closed[0]).as("the file (or upload) under the OpenPGP packets is closed").isTrue();
  }

  @Test
  void without_the_key_an_archive_whose_summary_records_a_sha256_is_checked_against_it() throws Exception {
    // What tar.encrypt-to wrote before the CRC-32C: the encrypted file's SHA-256 in the summary.
    TarArchiver publicOnly = archiver(new ArchiveEncryption("tar", List.of(publicKey), List.of(), null, null));
    BackupId id = new BackupId("bitbucket-20260106-000000");
    archiverStore(publicOnly, id);
    Path sidecar = Path.of(file(id) + TarFormat.SIDECAR_SUFFIX);
    String summary = Files.readString(sidecar);
    assertThat(summary).contains("\"" + ArchiveEncryption.ENCRYPTED_CRC32C + "\"");
    String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
        .digest(Files.readAllBytes(file(id))));
    Files.writeString(sidecar, summary.replaceAll("\"" + ArchiveEncryption.ENCRYPTED_CRC32C + "\"\\s*:\\s*\"[0-9a-f]+\"",
        "\"" + ArchiveEncryption.ENCRYPTED_SHA256 + "\":\"" + sha + "\""));

    VerifyResult intact = publicOnly.verify(id, TestContexts.run(work, Phase.VERIFY));
    corrupt(id);
    VerifyResult changed = publicOnly.verify(id, TestContexts.run(work, Phase.VERIFY));

    assertThat(intact.ok()).as(intact.problems().toString()).isTrue();
    assertThat(changed.ok()).isFalse();
    assertThat(changed.problems()).anyMatch(p -> p.contains("its SHA-256 is"));
  }
}
