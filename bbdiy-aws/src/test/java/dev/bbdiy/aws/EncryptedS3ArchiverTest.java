package dev.bbdiy.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.adobe.testing.s3mock.junit5.S3MockExtension;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.BackupContent;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The s3 archiver with OpenPGP encryption ({@code s3.encrypt-to}) against S3Mock: the archiver contract with the
 * secret key configured, the downloaded object read by real {@code gpg --decrypt | zstd -d | tar}, and verify
 * without the key.
 */
class EncryptedS3ArchiverTest extends ArchiverContract {
  @RegisterExtension
  static final S3MockExtension S3_MOCK = S3MockExtension.builder().silent().withHttpPort(0)
      .withSecureConnection(false).withInitialBuckets("bbdiy").build();

  private static final AtomicInteger PREFIXES = new AtomicInteger();
  private static final String PASSPHRASE = "bbdiy test passphrase";
  private static S3Client s3;
  private static Path keys;
  private static Path gpgHome;
  private static Path publicKey;
  private static Path secretKey;

  private String prefix;
  private Map<String, String> config;

  @BeforeAll
  static void setUp() throws Exception {
    s3 = S3_MOCK.createS3ClientV2();
    keys = Files.createTempDirectory("bbdiy-s3-gpg");
    gpgHome = Files.createDirectories(keys.resolve("gnupg"));
    Files.setPosixFilePermissions(gpgHome, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    Path pass = keys.resolve("pass");
    Files.writeString(pass, PASSPHRASE + "\n");
    Path params = keys.resolve("params");
    Files.writeString(params, "Key-Type: RSA\nKey-Length: 2048\nSubkey-Type: RSA\nSubkey-Length: 2048\n"
        + "Name-Real: bbdiy backup\nName-Email: backup@example.com\nExpire-Date: 0\nPassphrase: " + PASSPHRASE
        + "\n%commit\n");
    gpg("--batch", "--gen-key", params.toString());
    publicKey = keys.resolve("backup.pub.asc");
    secretKey = keys.resolve("backup.sec.asc");
    Files.writeString(publicKey, gpg("--armor", "--export", "backup@example.com"));
    Files.writeString(secretKey, gpg("--batch", "--pinentry-mode", "loopback", "--passphrase-file", pass.toString(),
        "--armor", "--export-secret-keys", "backup@example.com"));
  }

  @AfterAll
  static void tearDown() throws Exception {
    s3.close();
    new ProcessBuilder("gpgconf", "--homedir", gpgHome.toString(), "--kill", "gpg-agent")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(10, TimeUnit.SECONDS);
    try (var s = Files.walk(keys)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /** Runs gpg with the test's keyring; fails naming the package when gpg is missing. */
  private static String gpg(String... args) throws Exception {
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

  @Override
  protected Archiver newArchiver(Path dir, Path workDir) {
    prefix = "enc" + PREFIXES.incrementAndGet() + "/";
    config = new HashMap<>(Map.of("s3.bucket", "bbdiy", "s3.prefix", prefix, "s3.endpoint",
        S3_MOCK.getServiceEndpoint(), "s3.path-style", "true", "s3.region", "us-east-1", "s3.part-size", "5",
        "s3.threads", "2", "s3.encrypt-to", publicKey.toString(), "s3.decrypt-key", secretKey.toString(),
        "s3.decrypt-passphrase", PASSPHRASE));
    return archiver(config, workDir);
  }

  private static Archiver archiver(Map<String, String> config, Path workDir) {
    S3ArchiverProvider provider = new S3ArchiverProvider();
    return provider.create(TestContexts.providerContext(provider, config,
        dev.bbdiy.api.BitbucketInstance.of("bitbucket", workDir), workDir));
  }

  @Override
  protected Archiver sameStore() {
    return archiver(config, work);
  }

  private String key(BackupId id) {
    return prefix + id.value() + ".tar.zst.gpg";
  }

  @Override
  protected void corrupt(BackupId id) {
    byte[] data = s3.getObjectAsBytes(r -> r.bucket("bbdiy").key(key(id))).asByteArray();
    data[data.length / 2] ^= 0x20;
    s3.putObject(r -> r.bucket("bbdiy").key(key(id)), RequestBody.fromBytes(data));
  }

  private Archiver withoutSecretKey() {
    Map<String, String> publicOnly = new HashMap<>(config);
    publicOnly.remove("s3.decrypt-key");
    publicOnly.remove("s3.decrypt-passphrase");
    return archiver(publicOnly, work);
  }

  @Test
  void gpg_decrypts_the_downloaded_object_and_tar_reads_it() throws Exception {
    StoredBackup stored = store("20260102-030405");
    assertThat(stored.location()).isEqualTo("s3://bbdiy/" + key(stored.id()));
    assertThat(stored.format()).isEqualTo("tar.zst.gpg");
    Path downloaded = temp.resolve("downloaded.tar.zst.gpg");
    Files.write(downloaded, s3.getObjectAsBytes(r -> r.bucket("bbdiy").key(key(stored.id()))).asByteArray());
    assertThat(Files.size(downloaded)).isEqualTo(stored.size());

    ProcessBuilder pb = new ProcessBuilder("sh", "-c", "gpg --batch --quiet --pinentry-mode loopback --passphrase '"
        + PASSPHRASE + "' --decrypt '" + downloaded + "' | zstd -dc | tar -tf -").redirectErrorStream(true);
    pb.environment().put("GNUPGHOME", gpgHome.toString());
    Process p = pb.start();
    String listing = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(listing).isZero();
    assertThat(listing).contains("bitbucket-home/").contains("bitbucket-db/toc.dat").contains("manifest.json");
  }

  @Test
  void nothing_unencrypted_is_stored() {
    StoredBackup stored = store("20260102-030405");

    byte[] object = s3.getObjectAsBytes(r -> r.bucket("bbdiy").key(key(stored.id()))).asByteArray();
    String text = new String(object, StandardCharsets.ISO_8859_1);
    assertThat(text).doesNotContain("bitbucket-home").doesNotContain("manifest.json");
    assertThat(object[0] & 0x80).as("an OpenPGP packet").isNotZero();
  }

  @Test
  void without_the_key_verify_checks_the_encrypted_object_and_says_so() {
    Archiver publicOnly = withoutSecretKey();
    BackupId id = new BackupId("bitbucket-20260104-000000");
    StoredBackup pending = publicOnly.store(new BackupContent(work, List.of(BackupLayout.HOME,
        BackupLayout.DATABASE), summary(id)), TestContexts.run(work, Phase.ARCHIVE));
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.VERIFY);

    VerifyResult before = publicOnly.verify(pending.id(), ctx);
    publicOnly.commit(id);
    VerifyResult published = withoutSecretKey().verify(id, TestContexts.run(work, Phase.VERIFY));
    corrupt(id);
    VerifyResult after = withoutSecretKey().verify(id, TestContexts.run(work, Phase.VERIFY));

    assertThat(before.ok()).as(before.problems().toString()).isTrue();
    assertThat(published.ok()).as(published.problems().toString()).isTrue();
    assertThat(ctx.progress().messages()).anyMatch(m -> m.contains("without the secret key")
        && m.contains("s3.decrypt-key"));
    assertThat(after.ok()).isFalse();
    assertThat(after.problems()).anyMatch(p -> p.contains("changed since it was written"));
  }

  @Test
  void restore_without_the_key_says_which_settings_to_give_and_writes_nothing() {
    StoredBackup stored = store("20260102-030405");
    Path target = temp.resolve("restored/home");

    assertThatThrownBy(() -> withoutSecretKey().extract(stored.id(), ExtractionPlan.builder()
        .map(BackupLayout.HOME, target).build(), TestContexts.run(work, Phase.EXTRACT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION);
          assertThat(e.getMessage()).contains("s3.decrypt-key").contains("s3.decrypt-passphrase.file");
        });
    assertThat(target).doesNotExist();
  }

  @Test
  void restores_byte_for_byte_with_the_key() throws Exception {
    StoredBackup stored = store("20260102-030405");
    Path restored = temp.resolve("restored/home");

    ExtractResult r = sameStore().extract(stored.id(), ExtractionPlan.builder().map(BackupLayout.HOME, restored)
        .build(), TestContexts.run(work, Phase.EXTRACT));

    assertThat(r.verified()).isTrue();
    assertThat(Trees.differences(work.resolve(BackupLayout.HOME), restored)).isEmpty();
  }
}
