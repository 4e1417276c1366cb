package dev.bbdiy.aws;

import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.ArchiverProvider;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import java.util.List;
import java.util.Set;

/**
 * The {@code s3} archiver: backups streamed as {@code .tar.zst} straight into S3 with a multipart upload (no local
 * archive file), with server-side encryption and a storage class, and optionally OpenPGP-encrypted while they are
 * streamed ({@code encrypt-to}, {@code .tar.zst.gpg} objects that {@code gpg --decrypt} reads); listed, verified (streaming, against the
 * manifest), fetched for restore and deleted for retention. Works with S3-compatible stores through {@code
 * endpoint} and {@code path-style}.
 */
public final class S3ArchiverProvider implements ArchiverProvider {
  public static final Setting BUCKET = Setting.of("bucket", SettingType.STRING, "The bucket.").asRequired();
  public static final Setting PREFIX = Setting.of("prefix", SettingType.STRING,
      "Key prefix, e.g. bitbucket/ (default: none, backups at the top of the bucket).");
  public static final Setting PATH_STYLE = Setting.of("path-style", SettingType.BOOLEAN,
      "Path-style requests, for S3-compatible stores.").withDefault("false");
  public static final Setting SSE = Setting.of("sse", SettingType.STRING,
      "Server-side encryption: AES256 (default), aws:kms, none.").withDefault("AES256");
  public static final Setting KMS_KEY = Setting.of("kms-key", SettingType.STRING,
      "KMS key id or ARN for sse=aws:kms (default: the AWS managed key).");
  public static final Setting STORAGE_CLASS = Setting.of("storage-class", SettingType.STRING,
      "STANDARD (default), STANDARD_IA, GLACIER_IR, INTELLIGENT_TIERING...").withDefault("STANDARD");
  public static final Setting COMPRESSION = Setting.of("compression", SettingType.STRING,
      "zstd (default) or gzip.").withDefault("zstd");
  public static final Setting LEVEL = Setting.of("level", SettingType.INTEGER, "Compression level.")
      .withRange("1", "22");
  public static final Setting THREADS = Setting.of("threads", SettingType.INTEGER,
      "Compression threads; 0 (default) uses every core.").withDefault("0").withRange("0", "256");
  public static final Setting PART_SIZE = Setting.of("part-size", SettingType.INTEGER,
      "Multipart part size in MiB (5 or more; default 16). Memory use is about four parts.").withDefault("16")
      .withRange("5", "1024");
  public static final Setting UPLOADS = Setting.of("uploads", SettingType.INTEGER,
      "Parts uploaded in parallel (default 3).").withDefault("3").withRange("1", "64");

  @Override
  public String name() {
    return "s3";
  }

  @Override
  public String description() {
    return "tar.zst archives streamed to S3 with multipart upload, encrypted, with a SHA-256 manifest";
  }

  @Override
  public List<Setting> settings() {
    List<Setting> all = new java.util.ArrayList<>(List.of(BUCKET, PREFIX, AwsSupport.REGION, AwsSupport.ENDPOINT,
        PATH_STYLE, SSE, KMS_KEY, STORAGE_CLASS, COMPRESSION, LEVEL, THREADS, PART_SIZE, UPLOADS,
        AwsSupport.API_TIMEOUT));
    all.addAll(dev.bbdiy.archive.ArchiveEncryption.settings());
    return List.copyOf(all);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.REMOTE, Capability.READS_CONTENT_SOURCES);
  }

  @Override
  public Archiver create(ProviderContext context) {
    return new S3Archiver(context.settings(), context.workDir().resolve(".bbdiy").resolve("tmp"));
  }
}
