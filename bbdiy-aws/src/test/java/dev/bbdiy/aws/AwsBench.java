package dev.bbdiy.aws;

import com.adobe.testing.s3mock.junit5.S3MockExtension;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.ArchiverProvider;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.simulator.FakeBitbucketServer;
import dev.bbdiy.testkit.TestContexts;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Not a test: the measurements of {@code bench/aws.sh}, run on the test classpath because the fakes live there.
 * Surefire's default includes do not match the name, so {@code mvn verify} does not run it.
 */
class AwsBench {
  @RegisterExtension
  static final S3MockExtension S3_MOCK = S3MockExtension.builder().silent().withHttpPort(0)
      .withSecureConnection(false).withInitialBuckets("bench").build();

  @TempDir Path temp;

  /** Lock window of full amazon-ebs + amazon-rds backups against the fakes, next to the drain time alone. */
  @Test
  void lock_window() throws Exception {
    Duration drain = Duration.ofMillis(Long.getLong("bench.drain-ms", 200));
    Path mount = Files.createTempDirectory(Path.of("/dev/shm"), "bbdiy-bench-"); // not on the root file system
    Path freeze = temp.resolve("fsfreeze");
    Files.writeString(freeze, "#!/bin/sh\n[ \"$1\" = --version ] && echo 'fsfreeze from util-linux 2.38'\nexit 0\n");
    freeze.toFile().setExecutable(true);
    List<Double> windows = new ArrayList<>();
    try (FakeAws aws = new FakeAws();
        FakeBitbucketServer bitbucket = FakeBitbucketServer.builder().drainTime(drain).start()) {
      for (int i = 0; i < 7; i++) {
        Map<String, String> config = new HashMap<>();
        config.put("amazon-ebs.volumes", mount + ":/dev/xvdf");
        config.put("amazon-ebs.endpoint", aws.url());
        config.put("amazon-ebs.imds-endpoint", aws.url());
        config.put("amazon-ebs.freeze-command", freeze.toString());
        config.put("amazon-ebs.poll-interval", "20ms");
        config.put("amazon-rds.instance-id", "bitbucket-db");
        config.put("amazon-rds.endpoint", aws.url());
        config.put("amazon-rds.region", "us-east-1");
        config.put("amazon-rds.poll-interval", "20ms");
        config.put("tar.dir", temp.resolve("archives").toString());
        BackupResult r = BackupEngine.builder()
            .instance(BitbucketInstance.of("bitbucket", mount))
            .workDir(temp.resolve("work"))
            .bitbucket(MaintenanceClient.builder(bitbucket.url())
                .credentials(bitbucket.adminUser(), Secret.of(bitbucket.adminPassword())).build())
            .home(new EbsProvider()).database(new RdsProvider()).archiver(new TarArchiverProvider())
            .configuration(config).listener(e -> {
              if (Boolean.getBoolean("bench.trace")) {
                System.out.println("  " + e);
              }
            }).build().backup();
        if (i > 1) { // the first runs warm up the JIT and the SDK clients
          windows.add(seconds(r.lockWindow()));
          System.out.printf(Locale.ROOT, "run %d: lock %.3f capture %.3f unlock %.3f%n", i,
              seconds(r.phases().get(Phase.LOCK)), seconds(r.phases().get(Phase.CAPTURE)),
              seconds(r.phases().get(Phase.UNLOCK)));
        }
        if (Boolean.getBoolean("bench.trace")) {
          bitbucket.events().forEach(ev -> System.out.println("  bitbucket " + ev));
        }
        Thread.sleep(1100); // backup ids have a one-second resolution
      }
    }
    Files.delete(mount);
    windows.sort(null);
    double median = windows.get(windows.size() / 2);
    double drainSeconds = seconds(drain);
    System.out.printf(Locale.ROOT, "RESULT lock-window median=%.3f min=%.3f max=%.3f drain=%.3f"
        + " window/drain=%.2f runs=%d%n", median, windows.get(0), windows.get(windows.size() - 1), drainSeconds,
        median / drainSeconds, windows.size());
  }

  /** Storing the same content into S3Mock with the s3 archiver and onto local disk with the tar archiver. */
  @Test
  void s3_throughput() throws Exception {
    int megabytes = Integer.getInteger("bench.s3-mb", 512);
    Path work = Files.createDirectories(temp.resolve("work"));
    Path home = Files.createDirectories(work.resolve(BackupLayout.HOME).resolve("shared/data/repositories/1"));
    SplittableRandom random = new SplittableRandom(1);
    byte[] chunk = new byte[1 << 20];
    for (int f = 0; f < megabytes / 32; f++) { // 32 MB incompressible "packs", as git repositories hold
      try (OutputStream out = Files.newOutputStream(home.resolve("pack-" + f + ".pack"))) {
        for (int m = 0; m < 32; m++) {
          random.nextBytes(chunk);
          out.write(chunk);
        }
      }
    }
    Map<String, String> config = new HashMap<>();
    config.put("tar.dir", temp.resolve("local").toString());
    config.put("s3.bucket", "bench");
    config.put("s3.endpoint", S3_MOCK.getServiceEndpoint());
    config.put("s3.path-style", "true");
    config.put("s3.region", "us-east-1");
    double local = Double.MAX_VALUE;
    double s3 = Double.MAX_VALUE;
    double put = Double.MAX_VALUE;
    double multipartPut = Double.MAX_VALUE;
    try (S3Client client = S3_MOCK.createS3ClientV2()) {
      for (int round = 0; round < 2; round++) {
        local = Math.min(local, store(new TarArchiverProvider(), config, work, round));
        s3 = Math.min(s3, store(new S3ArchiverProvider(), config, work, round));
        // The store's own speed: one plain PutObject of the archive the tar archiver wrote.
        Path archive = temp.resolve("local/bitbucket-20260102-03040" + round + ".tar.zst");
        long start = System.nanoTime();
        String rawKey = "raw-" + round;
        client.putObject(r -> r.bucket("bench").key(rawKey), RequestBody.fromFile(archive));
        put = Math.min(put, (System.nanoTime() - start) / 1e9);
        start = System.nanoTime();
        multipart(client, archive, rawKey + "-multipart");
        multipartPut = Math.min(multipartPut, (System.nanoTime() - start) / 1e9);
      }
    }
    System.out.printf(Locale.ROOT, "RESULT s3 size=%dMB local=%.3fs s3=%.3fs plain-put=%.3fs"
        + " plain-multipart=%.3fs s3/local=%.2f s3/plain-put=%.2f s3/plain-multipart=%.2f local=%.0fMB/s"
        + " s3=%.0fMB/s%n", megabytes, local, s3, put, multipartPut, s3 / local, s3 / put, s3 / multipartPut,
        megabytes / local, megabytes / s3);
  }

  /** A plain sequential multipart upload of a file in 16 MiB parts, the archiver's default. */
  private static void multipart(S3Client client, Path file, String key) throws java.io.IOException {
    String upload = client.createMultipartUpload(r -> r.bucket("bench").key(key)).uploadId();
    List<software.amazon.awssdk.services.s3.model.CompletedPart> parts = new ArrayList<>();
    byte[] buffer = new byte[16 << 20];
    try (var in = Files.newInputStream(file)) {
      int n;
      int number = 0;
      while ((n = in.readNBytes(buffer, 0, buffer.length)) > 0) {
        int part = ++number;
        int length = n;
        String etag = client.uploadPart(r -> r.bucket("bench").key(key).uploadId(upload).partNumber(part)
            .contentLength((long) length), RequestBody.fromByteBuffer(java.nio.ByteBuffer.wrap(buffer, 0, length)))
            .eTag();
        parts.add(software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(part).eTag(etag)
            .build());
      }
    }
    client.completeMultipartUpload(r -> r.bucket("bench").key(key).uploadId(upload)
        .multipartUpload(m -> m.parts(parts)));
  }

  private double store(ArchiverProvider provider, Map<String, String> config, Path work, int round) {
    Archiver archiver = provider.create(TestContexts.providerContext(provider, config,
        BitbucketInstance.of("bitbucket", work), work));
    BackupId id = new BackupId("bitbucket-20260102-03040" + round);
    BackupContent content = new BackupContent(work, List.of(BackupLayout.HOME), TestContexts.summary(id));
    long start = System.nanoTime();
    archiver.store(content, TestContexts.run(work, Phase.ARCHIVE));
    return (System.nanoTime() - start) / 1e9;
  }

  private static double seconds(Duration d) {
    return d.toNanos() / 1e9;
  }
}
