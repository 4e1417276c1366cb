package dev.bbdiy.aws;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ExtractResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.archive.ArchiveEncryption;
import dev.bbdiy.archive.BlockOutputStream;
import dev.bbdiy.archive.Compression;
import dev.bbdiy.archive.TarFormat;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;
import software.amazon.awssdk.services.s3.model.StorageClass;

/**
 * Backups in an S3 bucket: {@code <prefix><id>.tar.zst} objects, each listed only once its summary {@code
 * <key>.summary.json} exists. {@link #store} uploads the archive (multipart, streaming); {@link #commit} writes
 * the summary, with {@code If-None-Match: *} so that it never replaces one. An archive whose run died before
 * publishing has no summary: it is never listed, and a later store deletes it once it is a day old. The store's
 * lock is the object {@code <prefix>.bbdiy-store.lock}, created with {@code If-None-Match: *} and deleted when
 * released; one older than {@link #STALE_LOCK} is taken to be left by a dead process. (An S3-compatible store
 * that ignores {@code If-None-Match} still gets the existence check before the write, which leaves a race of one
 * round trip between two processes.)
 */
final class S3Archiver implements Archiver {
  private static final String PROVIDER = "s3";
  private static final String LOCK = ".bbdiy-store.lock";
  private static final Duration STALE_LOCK = Duration.ofHours(6);
  private static final Duration ORPHAN_AGE = Duration.ofDays(1);

  private final Settings s;
  private final String bucket;
  private final String prefix;
  private final TarFormat format;
  private final Path tempDir;
  private final @Nullable ArchiveEncryption encryption;
  private @Nullable S3Client s3;
  private final java.util.Map<BackupId, Pending> pending = new java.util.concurrent.ConcurrentHashMap<>();

  /** An uploaded archive waiting for {@link #commit}: its key, and the summary to publish. */
  private record Pending(String key, byte[] sidecar, StoredBackup stored) {}

  S3Archiver(Settings s, Path tempDir) {
    this.s = s;
    this.bucket = s.string(S3ArchiverProvider.BUCKET);
    this.prefix = s.optional(S3ArchiverProvider.PREFIX).orElse("");
    Compression compression = Compression.parse(s.string(S3ArchiverProvider.COMPRESSION));
    if (compression == Compression.NONE) {
      throw BbdiyException.configuration("s3.compression must be zstd or gzip");
    }
    this.format = new TarFormat(compression, compression.checkedLevel(s.optional(S3ArchiverProvider.LEVEL)
        .map(Integer::parseInt).orElse(-1), s.fullKey(S3ArchiverProvider.LEVEL)),
        s.integer(S3ArchiverProvider.THREADS));
    this.tempDir = tempDir;
    this.encryption = ArchiveEncryption.of(PROVIDER, s);
    if (s.integer(S3ArchiverProvider.PART_SIZE) < 5) {
      throw BbdiyException.configuration("s3.part-size must be at least 5 (MiB): S3's minimum part size");
    }
  }

  private S3Client s3() {
    if (s3 == null) {
      Region region;
      try {
        region = s.optional(AwsSupport.REGION).map(Region::of)
            .orElseGet(() -> new DefaultAwsRegionProviderChain().getRegion());
      } catch (SdkException e) {
        throw BbdiyException.configuration("Cannot tell the AWS region: set s3.region");
      }
      S3ClientBuilder b = S3Client.builder().region(region).httpClient(AwsSupport.http())
          .credentialsProvider(AwsSupport.credentials()).overrideConfiguration(AwsSupport.overrides(s))
          .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(s.bool(S3ArchiverProvider.PATH_STYLE))
              .build());
      AwsSupport.endpoint(s).ifPresent(b::endpointOverride);
      s3 = b.build();
    }
    return s3;
  }

  /** Closes the S3 client, once the operation is over. */
  @Override
  public void close() {
    S3Client client = s3;
    s3 = null;
    if (client != null) {
      client.close();
    }
  }

  private boolean encrypts() {
    return encryption != null && encryption.encrypts();
  }

  private String key(BackupId id) {
    return prefix + id.value() + format.compression().extension() + (encrypts() ? ArchiveEncryption.SUFFIX : "");
  }

  /** Returns the archive suffix of a stored name ({@code .tar.zst}, {@code .tar.zst.gpg}), or null. */
  private static @Nullable String archiveSuffix(String name) {
    String gpg = name.endsWith(ArchiveEncryption.SUFFIX) ? ArchiveEncryption.SUFFIX : "";
    String suffix = Compression.suffixOf(name.substring(0, name.length() - gpg.length()));
    return suffix == null ? null : suffix + gpg;
  }

  private String where(String key) {
    return "s3://" + bucket + "/" + key;
  }

  @Override
  public boolean compresses() {
    return true;
  }

  @Override
  public void preflight(RunContext context) {
    try {
      s3().headBucket(r -> r.bucket(bucket));
    } catch (SdkException e) {
      throw AwsSupport.failure(PROVIDER, "reaching bucket " + bucket, "s3:ListBucket", e);
    }
    if (encryption != null && encryption.encrypts()) {
      encryption.recipients(tempDir); // a recipient missing from gpg's keyring fails now, not after the lock
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Store

  @Override
  public StoredBackup store(BackupContent content, RunContext ctx) {
    BackupId id = content.summary().id();
    String key = key(id);
    removeOrphans();
    if (find(id).isPresent() || pending.containsKey(id)) {
      throw BbdiyException.refused("A backup named " + id + " already exists in " + where(prefix) + "; not"
          + " replacing it");
    }
    CreateMultipartUploadRequest.Builder create = CreateMultipartUploadRequest.builder().bucket(bucket).key(key)
        .contentType("application/octet-stream")
        .storageClass(StorageClass.fromValue(s.string(S3ArchiverProvider.STORAGE_CLASS)))
        .metadata(java.util.Map.of("bbdiy-backup-id", id.value()));
    encryption(create::serverSideEncryption, create::ssekmsKeyId);
    String uploadId;
    try {
      uploadId = s3().createMultipartUpload(create.build()).uploadId();
    } catch (SdkException e) {
      throw AwsSupport.failure(PROVIDER, "starting the upload of " + where(key), "s3:PutObject", e);
    }
    MultipartOutputStream out = new MultipartOutputStream(key, uploadId, ctx.cancellation());
    boolean completed = false;
    try {
      ArchiveEncryption enc = encryption;
      ArchiveEncryption.Sink sink = enc != null && enc.encrypts()
          ? ArchiveEncryption.encrypt(out, enc.recipients(tempDir)) : null;
      TarFormat.Written written = format.write(sink != null ? sink.stream() : out, content, tempDir, ctx);
      List<CompletedPart> parts = out.parts();
      s3().completeMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(uploadId)
          .multipartUpload(m -> m.parts(parts)));
      completed = true;
      StoredBackup stored = new StoredBackup(id, where(key), format.formatName()
          + (sink != null ? ArchiveEncryption.SUFFIX : ""), sink != null ? sink.size() : written.size(),
          Instant.now(), written.summary());
      pending.put(id, new Pending(key, format.sidecar(written, sink != null ? sink.summaryFields()
          : java.util.Map.of()), stored));
      return stored;
    } catch (IOException | RuntimeException e) {
      throw BbdiyException.wrap(e instanceof SdkException ? AwsSupport.failure(PROVIDER, "uploading " + where(key),
          "s3:PutObject", (SdkException) e) : e, ErrorCode.PROVIDER_FAILED, "s3: cannot store " + where(key));
    } finally {
      out.shutdown();
      if (!completed) {
        try {
          s3().abortMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(uploadId));
        } catch (SdkException ignored) {
          // S3's lifecycle rules clean up what an abort could not
        }
      }
    }
  }

  @Override
  public StoredBackup commit(BackupId id) {
    Pending p = pending.get(id);
    if (p == null) {
      throw new BbdiyException(ErrorCode.NOT_FOUND, "s3: no pending backup " + id + " to publish in " + where(prefix));
    }
    String sidecarKey = p.key() + TarFormat.SIDECAR_SUFFIX;
    PutObjectRequest.Builder put = PutObjectRequest.builder().bucket(bucket).key(sidecarKey)
        .contentType("application/json").ifNoneMatch("*");
    encryption(put::serverSideEncryption, put::ssekmsKeyId);
    try {
      s3().putObject(put.build(), RequestBody.fromBytes(p.sidecar()));
    } catch (SdkException e) {
      if (AwsSupport.status(e) == 412) {
        throw BbdiyException.refused("A backup named " + id + " was published in " + where(prefix) + " while this"
            + " one was uploaded; not replacing it");
      }
      throw AwsSupport.failure(PROVIDER, "publishing " + where(sidecarKey), "s3:PutObject", e);
    }
    pending.remove(id);
    return p.stored();
  }

  @Override
  public Lock lock(Duration wait, RunContext context) {
    String key = prefix + LOCK;
    long deadline = System.nanoTime() + wait.toNanos();
    long pause = 100;
    boolean reported = false;
    String holder = "pid " + ProcessHandle.current().pid() + " on " + hostName() + " since " + Instant.now();
    while (true) {
      try {
        if (!exists(key)) { // for stores that ignore If-None-Match: they exclude all but a racing holder
          s3().putObject(r -> r.bucket(bucket).key(key).contentType("text/plain").ifNoneMatch("*"),
              RequestBody.fromString(holder, java.nio.charset.StandardCharsets.UTF_8));
          return () -> {
            try {
              s3().deleteObject(r -> r.bucket(bucket).key(key));
            } catch (SdkException e) {
              context.progress().warning("could not release the lock " + where(key) + " (" + e.getMessage()
                  + "); it expires after " + STALE_LOCK.toHours() + " hours, or delete it");
            }
          };
        }
      } catch (SdkException e) {
        if (AwsSupport.status(e) != 412 && AwsSupport.status(e) != 409) {
          throw AwsSupport.failure(PROVIDER, "locking " + where(prefix), "s3:PutObject and s3:DeleteObject", e);
        }
      }
      String other = "another bbdiy process";
      try {
        var head = s3().headObject(r -> r.bucket(bucket).key(key));
        if (head.lastModified() != null && head.lastModified().isBefore(Instant.now().minus(STALE_LOCK))) {
          context.progress().warning("removing the lock " + where(key) + " left " + Duration.between(
              head.lastModified(), Instant.now()).toHours() + " hours ago by a process that did not release it");
          s3().deleteObject(r -> r.bucket(bucket).key(key));
          continue;
        }
        other = s3().getObjectAsBytes(r -> r.bucket(bucket).key(key)).asUtf8String();
      } catch (SdkException e) {
        if (AwsSupport.status(e) == 404) {
          continue; // released meanwhile
        }
        throw AwsSupport.failure(PROVIDER, "reading the lock " + where(key), "s3:GetObject", e);
      }
      if (System.nanoTime() > deadline) {
        throw BbdiyException.refused("The lock of " + where(prefix) + " is held by " + other + " for longer than "
            + wait.toSeconds() + " s. It publishes backups or applies retention; wait for it, or if that process"
            + " is gone, delete " + where(key) + ".");
      }
      if (!reported) {
        context.progress().message("waiting for the lock of " + where(prefix) + ", held by " + other);
        reported = true;
      }
      context.cancellation().throwIfCancelled();
      try {
        Thread.sleep(pause);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BbdiyException(ErrorCode.INTERRUPTED, "Interrupted while waiting for the lock of " + where(prefix));
      }
      pause = Math.min(2000, pause * 2);
    }
  }

  private boolean exists(String key) {
    try {
      s3().headObject(r -> r.bucket(bucket).key(key));
      return true;
    } catch (SdkException e) {
      if (AwsSupport.status(e) == 404) {
        return false;
      }
      throw e;
    }
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "this host";
    }
  }

  /** Deletes archives that were never published (their run died) once they are a day old. */
  private void removeOrphans() {
    java.util.Set<String> keys = new java.util.HashSet<>();
    List<S3Object> archives = new ArrayList<>();
    for (S3Object o : s3().listObjectsV2Paginator(r -> r.bucket(bucket).prefix(prefix)).contents()) {
      keys.add(o.key());
      String name = o.key().substring(prefix.length());
      if (!name.contains("/") && archiveSuffix(name) != null) {
        archives.add(o);
      }
    }
    for (S3Object o : archives) {
      if (!keys.contains(o.key() + TarFormat.SIDECAR_SUFFIX) && o.lastModified() != null
          && o.lastModified().isBefore(Instant.now().minus(ORPHAN_AGE))) {
        try {
          s3().deleteObject(r -> r.bucket(bucket).key(o.key()));
        } catch (SdkException ignored) {
          // tried again by the next store
        }
      }
    }
  }

  private void encryption(java.util.function.Consumer<ServerSideEncryption> sse,
      java.util.function.Consumer<String> kms) {
    String mode = s.string(S3ArchiverProvider.SSE);
    if (mode.equalsIgnoreCase("none")) {
      return;
    }
    sse.accept(ServerSideEncryption.fromValue(mode.equalsIgnoreCase("aes256") ? "AES256" : mode));
    s.optional(S3ArchiverProvider.KMS_KEY).ifPresent(kms);
  }

  /**
   * Cuts what is written into parts uploaded on a small pool, at most {@code uploads + 1} parts in memory; the
   * writer waits when that many are in flight.
   */
  private final class MultipartOutputStream extends BlockOutputStream {
    private final String key;
    private final String uploadId;
    private final CancellationSignal cancellation;
    private final int uploads = Math.max(1, s.integer(S3ArchiverProvider.UPLOADS));
    private final ExecutorService pool;
    private final Semaphore inFlight;
    private final List<Future<CompletedPart>> parts = new ArrayList<>();
    private int partNumber;
    private boolean closed;

    MultipartOutputStream(String key, String uploadId, CancellationSignal cancellation) {
      super(s.integer(S3ArchiverProvider.PART_SIZE) << 20);
      this.key = key;
      this.uploadId = uploadId;
      this.cancellation = cancellation;
      this.pool = Executors.newFixedThreadPool(uploads, r -> {
        Thread t = new Thread(r, "bbdiy-s3-upload");
        t.setDaemon(true);
        return t;
      });
      this.inFlight = new Semaphore(uploads);
    }

    @Override
    protected void block(byte[] data, int length) throws IOException {
      cancellation.throwIfCancelled();
      checkFailures();
      try {
        inFlight.acquire();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while uploading");
      }
      int number = ++partNumber;
      parts.add(pool.submit(() -> {
        try {
          String etag = s3().uploadPart(r -> r.bucket(bucket).key(key).uploadId(uploadId).partNumber(number)
              .contentLength((long) length), RequestBody.fromByteBuffer(java.nio.ByteBuffer.wrap(data, 0, length)))
              .eTag();
          return CompletedPart.builder().partNumber(number).eTag(etag).build();
        } finally {
          inFlight.release();
        }
      }));
    }

    private void checkFailures() throws IOException {
      for (Future<CompletedPart> f : parts) {
        if (f.isDone()) {
          await(f);
        }
      }
    }

    private CompletedPart await(Future<CompletedPart> part) throws IOException {
      try {
        return part.get();
      } catch (ExecutionException e) {
        throw new IOException("uploading a part of " + where(key) + " failed: " + String.valueOf(e.getCause()), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while uploading");
      }
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      if (buffered() > 0 || partNumber == 0) {
        handOff();
      }
    }

    /** Returns the uploaded parts, waiting for them. */
    List<CompletedPart> parts() throws IOException {
      List<CompletedPart> out = new ArrayList<>();
      for (Future<CompletedPart> f : parts) {
        out.add(await(f));
      }
      out.sort(Comparator.comparing(CompletedPart::partNumber));
      return out;
    }

    void shutdown() {
      pool.shutdownNow();
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Read

  @Override
  public List<StoredBackup> list() {
    List<StoredBackup> out = new ArrayList<>();
    try {
      java.util.Set<String> keys = new java.util.HashSet<>();
      List<S3Object> archives = new ArrayList<>();
      for (S3Object o : s3().listObjectsV2Paginator(r -> r.bucket(bucket).prefix(prefix)).contents()) {
        keys.add(o.key());
        String name = o.key().substring(prefix.length());
        if (!name.contains("/") && archiveSuffix(name) != null) {
          archives.add(o);
        }
      }
      for (S3Object o : archives) {
        if (!keys.contains(o.key() + TarFormat.SIDECAR_SUFFIX)) {
          continue; // not published: a run that died, or one still verifying
        }
        String name = o.key().substring(prefix.length());
        String suffix = archiveSuffix(name);
        if (suffix == null) {
          continue; // not an archive of ours
        }
        Optional<BackupId> id = BackupId.parse(name.substring(0, name.length() - suffix.length()));
        if (id.isPresent()) {
          out.add(new StoredBackup(id.get(), where(o.key()), suffix.substring(1), o.size(), o.lastModified(),
              sidecar(o.key())));
        }
      }
    } catch (SdkException e) {
      throw AwsSupport.failure(PROVIDER, "listing " + where(prefix), "s3:ListBucket and s3:GetObject", e);
    }
    out.sort(StoredBackup.NEWEST_FIRST);
    return out;
  }

  private @Nullable BackupSummary sidecar(String archiveKey) {
    byte[] bytes = sidecarBytes(archiveKey);
    return bytes == null ? null : TarFormat.parseSidecar(bytes);
  }

  private byte @Nullable [] sidecarBytes(String archiveKey) {
    try {
      return s3().getObjectAsBytes(r -> r.bucket(bucket).key(archiveKey + TarFormat.SIDECAR_SUFFIX)).asByteArray();
    } catch (SdkException e) {
      if (String.valueOf(AwsSupport.code(e)).equals("NoSuchKey")) {
        return null;
      }
      throw AwsSupport.failure(PROVIDER, "reading " + where(archiveKey + TarFormat.SIDECAR_SUFFIX), "s3:GetObject", e);
    }
  }

  private String existingKey(BackupId id) {
    Pending p = pending.get(id);
    if (p != null) {
      return p.key();
    }
    Optional<StoredBackup> b = find(id);
    if (b.isEmpty()) {
      throw new BbdiyException(ErrorCode.NOT_FOUND, "No backup " + id + " in " + where(prefix) + "; 'bbdiy list'"
          + " shows the backups there");
    }
    return b.get().location().substring(("s3://" + bucket + "/").length());
  }

  private InputStream open(String key) {
    try {
      return new BufferedInputStream(s3().getObject(r -> r.bucket(bucket).key(key)), 1 << 20);
    } catch (SdkException e) {
      throw AwsSupport.failure(PROVIDER, "reading " + where(key), "s3:GetObject", e);
    }
  }

  @Override
  public VerifyResult verify(BackupId id, RunContext ctx) {
    String key = existingKey(id);
    try {
      if (ArchiveEncryption.isEncrypted(key)) {
        if (encryption == null || !encryption.canDecrypt()) {
          Pending p = pending.get(id);
          return ArchiveEncryption.verifyWithoutKey(id, where(key), open(key),
              p != null ? p.sidecar() : sidecarBytes(key), PROVIDER, ctx);
        }
        Instant start = Instant.now();
        try {
          return TarFormat.verify(id, encryption.decrypt(open(key), id, where(key)), tempDir, ctx);
        } catch (IOException e) {
          // the integrity packet, checked when the decrypted stream is closed; or the download failed
          return new VerifyResult(id, false, 0, 0, List.of(String.valueOf(e.getMessage())),
              Duration.between(start, Instant.now()));
        }
      }
      return TarFormat.verify(id, open(key), tempDir, ctx);
    } catch (IOException e) {
      throw BbdiyException.provider(PROVIDER, "reading " + where(key) + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public ExtractResult extract(BackupId id, ExtractionPlan plan, RunContext ctx) {
    String key = existingKey(id);
    try {
      if (ArchiveEncryption.isEncrypted(key)) {
        // Fails on a missing or wrong key or passphrase before anything is written.
        InputStream clear = ArchiveEncryption.decrypt(encryption, PROVIDER, open(key), id, where(key));
        try {
          return TarFormat.extract(id, clear, plan, tempDir, ctx);
        } catch (IOException e) {
          throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "Backup " + id + " failed verification while it"
              + " was restored: " + e.getMessage() + ". Restore an older backup.", e);
        }
      }
      return TarFormat.extract(id, open(key), plan, tempDir, ctx);
    } catch (IOException e) {
      throw BbdiyException.provider(PROVIDER, "reading " + where(key) + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public void delete(BackupId id) {
    Pending p = pending.remove(id);
    if (p != null) {
      try {
        s3().deleteObject(r -> r.bucket(bucket).key(p.key()));
      } catch (SdkException e) {
        throw AwsSupport.failure(PROVIDER, "deleting " + where(p.key()), "s3:DeleteObject", e);
      }
      return;
    }
    String key = existingKey(id);
    try {
      s3().deleteObject(r -> r.bucket(bucket).key(key));
      s3().deleteObject(r -> r.bucket(bucket).key(key + TarFormat.SIDECAR_SUFFIX));
    } catch (SdkException e) {
      throw AwsSupport.failure(PROVIDER, "deleting " + where(key), "s3:DeleteObject", e);
    }
  }

  @Override
  public String toString() {
    return "S3Archiver[" + where(prefix) + ", " + format.formatName().toLowerCase(Locale.ROOT) + "]";
  }
}
