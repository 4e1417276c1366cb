package dev.bbdiy.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.adobe.testing.s3mock.junit5.S3MockExtension;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.testkit.ArchiverContract;
import dev.bbdiy.testkit.TestContexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/** The archiver contract against S3Mock (a real S3 API server in-process), plus multipart and failure cases. */
class S3ArchiverTest extends ArchiverContract {
  @RegisterExtension
  static final S3MockExtension S3_MOCK = S3MockExtension.builder().silent().withHttpPort(0)
      .withSecureConnection(false).withInitialBuckets("bbdiy").build();

  private static final AtomicInteger PREFIXES = new AtomicInteger();
  private static S3Client s3;

  private String prefix;
  private Map<String, String> config;

  @BeforeAll
  static void client() {
    s3 = S3_MOCK.createS3ClientV2();
  }

  @AfterAll
  static void closeClient() {
    s3.close();
  }

  @Override
  protected Archiver newArchiver(Path dir, Path workDir) {
    // Every test gets its own prefix, so backups of other tests are not in its listings.
    prefix = "test" + PREFIXES.incrementAndGet() + "/bitbucket/";
    config = new HashMap<>(Map.of("s3.bucket", "bbdiy", "s3.prefix", prefix, "s3.endpoint",
        S3_MOCK.getServiceEndpoint(), "s3.path-style", "true", "s3.region", "us-east-1", "s3.part-size", "5",
        "s3.threads", "2"));
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

  @Override
  protected void corrupt(BackupId id) {
    String key = prefix + id.value() + ".tar.zst";
    byte[] data = s3.getObjectAsBytes(r -> r.bucket("bbdiy").key(key)).asByteArray();
    data[data.length / 2] ^= 0x20;
    s3.putObject(r -> r.bucket("bbdiy").key(key), RequestBody.fromBytes(data));
  }

  private List<String> keys() {
    return s3.listObjectsV2Paginator(r -> r.bucket("bbdiy").prefix(prefix)).contents().stream()
        .map(S3Object::key).toList();
  }

  @Test
  void stores_the_archive_and_its_summary_under_the_prefix() {
    StoredBackup stored = store("20260102-030405");

    assertThat(stored.location()).isEqualTo("s3://bbdiy/" + prefix + "bitbucket-20260102-030405.tar.zst");
    assertThat(keys()).containsExactlyInAnyOrder(prefix + "bitbucket-20260102-030405.tar.zst",
        prefix + "bitbucket-20260102-030405.tar.zst.summary.json");
  }

  @Test
  void large_backups_are_uploaded_in_parts_and_restore_byte_for_byte() throws Exception {
    byte[] big = new byte[13 << 20];
    new Random(7).nextBytes(big);
    Path pack = work.resolve(BackupLayout.HOME).resolve("shared/data/repositories/1/objects/pack/pack-1.pack");
    Files.createDirectories(pack.getParent());
    Files.write(pack, big);

    StoredBackup stored = store("20260102-030405");

    String etag = s3.headObject(r -> r.bucket("bbdiy").key(prefix + "bitbucket-20260102-030405.tar.zst")).eTag();
    assertThat(etag).as("a multipart ETag ends in the part count").matches("\"?[0-9a-f]+-3\"?");
    assertThat(archiver.verify(stored.id(), TestContexts.run(work, Phase.VERIFY)).ok()).isTrue();
    Path restored = temp.resolve("restored");
    archiver.extract(stored.id(), ExtractionPlan.builder().map(BackupLayout.HOME, restored).build(),
        TestContexts.run(work, Phase.EXTRACT));
    assertThat(Files.readAllBytes(restored.resolve("shared/data/repositories/1/objects/pack/pack-1.pack")))
        .isEqualTo(big);
  }

  @Test
  void a_cancelled_upload_leaves_neither_object_nor_multipart_upload() throws Exception {
    Files.write(work.resolve(BackupLayout.HOME).resolve("big.bin"), new byte[12 << 20]);
    BackupId id = new BackupId("bitbucket-20260102-030405");
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.ARCHIVE);
    ctx.cancellation().cancel("test");

    assertThatThrownBy(() -> archiver.store(new BackupContent(work, List.of(BackupLayout.HOME), summary(id)), ctx))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERRUPTED));

    assertThat(keys()).isEmpty();
    assertThat(s3.listMultipartUploads(r -> r.bucket("bbdiy").prefix(prefix)).uploads()).isEmpty();
    assertThat(archiver.list()).isEmpty();
  }

  @Test
  void an_archive_without_its_summary_is_never_listed_as_a_backup() {
    // What a run that died between upload and publication leaves: not a backup anyone may count or restore.
    StoredBackup pending = storePending("20260102-030405");

    assertThat(archiver.list()).isEmpty();
    assertThat(sameStore().list()).as("another process").isEmpty();
    assertThat(archiver.verify(pending.id(), TestContexts.run(work, Phase.VERIFY)).ok()).isTrue();
    corrupt(pending.id());
    assertThat(archiver.verify(pending.id(), TestContexts.run(work, Phase.VERIFY)).ok()).isFalse();
  }

  @Test
  void without_a_prefix_backups_are_at_the_top_of_the_bucket() {
    Map<String, String> top = new HashMap<>(config);
    top.remove("s3.prefix");
    Archiver topLevel = archiver(top, work);
    BackupId id = new BackupId("bitbucket-20260102-030405");

    topLevel.store(new BackupContent(work, List.of(BackupLayout.HOME), summary(id)),
        TestContexts.run(work, Phase.ARCHIVE));
    StoredBackup stored = topLevel.commit(id);
    try {
      assertThat(stored.location()).isEqualTo("s3://bbdiy/bitbucket-20260102-030405.tar.zst");
      assertThat(topLevel.list()).extracting(StoredBackup::id).as("backups under other prefixes are not listed")
          .containsExactly(id);
    } finally {
      topLevel.delete(id);
    }
    assertThat(topLevel.list()).isEmpty();
  }

  @Test
  void a_missing_bucket_fails_preflight_with_what_to_check() {
    Map<String, String> wrong = new HashMap<>(config);
    wrong.put("s3.bucket", "no-such-bucket");

    assertThatThrownBy(() -> archiver(wrong, work).preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOf(BbdiyException.class).hasMessageContaining("no-such-bucket");
  }

  @Test
  void part_size_below_the_s3_minimum_is_a_configuration_error() {
    Map<String, String> wrong = new HashMap<>(config);
    wrong.put("s3.part-size", "4");

    assertThatThrownBy(() -> archiver(wrong, work)).isInstanceOfSatisfying(BbdiyException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION)).hasMessageContaining("part-size");
  }
}
