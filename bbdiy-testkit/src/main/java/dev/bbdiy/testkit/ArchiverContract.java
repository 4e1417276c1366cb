package dev.bbdiy.testkit;

import java.util.Objects;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.simulator.Trees;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.ContentSource;
import dev.bbdiy.api.spi.ExtractResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract every {@link Archiver} must pass. Extend it in the archiver's tests and implement {@link
 * #newArchiver} and {@link #corrupt}; see the {@link Archiver} Javadoc for the contract itself. Besides the happy
 * path it covers a store cancelled before it starts and while it runs (nothing left, the id free again), an
 * extraction cancelled while it runs, a failed extraction, and retention's delete.
 */
public abstract class ArchiverContract {
  /** A temporary directory for the test; the working copy lives in {@code work/}. */
  @TempDir protected Path temp;

  protected Path work;
  protected Archiver archiver;

  /** Returns a new archiver storing its backups somewhere below {@code dir}. */
  protected abstract Archiver newArchiver(Path dir, Path workDir) throws Exception;

  /**
   * Returns a second archiver on the same store as {@link #archiver}, as another process would create it. The
   * default calls {@link #newArchiver} with the same directory; override it if {@code newArchiver} makes a new
   * store each time.
   */
  protected Archiver sameStore() throws Exception {
    return newArchiver(temp.resolve("archive"), work);
  }

  /** Changes one byte of the stored backup {@code id}, as storage corruption would. */
  protected abstract void corrupt(BackupId id) throws Exception;

  /** Returns local files the stored backup consists of, to check their permissions; empty for remote stores. */
  protected List<Path> storedFiles(StoredBackup backup) throws Exception {
    return List.of();
  }

  @BeforeEach
  void setUpArchiver() throws Exception {
    work = Files.createDirectories(temp.resolve("work"));
    BitbucketHomes.generate(work.resolve(BackupLayout.HOME),
        BitbucketHomes.spec().useGit(false).repositories(2).attachments(3, 2048).plugins(1, 4096));
    Path db = Files.createDirectories(work.resolve(BackupLayout.DATABASE));
    Files.writeString(db.resolve("toc.dat"), "table of contents");
    Files.write(db.resolve("3001.dat"), new byte[200_000]);
    Path store = Files.createDirectories(work.resolve(BackupLayout.dataStore(Path.of("/mnt/store one"))));
    Files.createDirectories(store.resolve("repositories/12/34/5"));
    Files.writeString(store.resolve("repositories/12/34/5/HEAD"), "ref: refs/heads/master\n");
    ageTimestamps(work);
    archiver = newArchiver(Files.createDirectories(temp.resolve("archive")), work);
  }

  /**
   * Gives every entry a distinct time years in the past, so that a tree restored "now" cannot match the original
   * by accident: times must really be restored (directories after their contents).
   */
  static void ageTimestamps(Path root) throws IOException {
    long[] t = {1_600_000_000L};
    List<Path> all;
    try (var s = Files.walk(root)) {
      all = s.sorted(java.util.Comparator.reverseOrder()).toList();
    }
    for (Path p : all) {
      if (!Files.isSymbolicLink(p)) {
        Files.setLastModifiedTime(p, java.nio.file.attribute.FileTime.from(t[0]++, java.util.concurrent.TimeUnit.SECONDS));
      }
    }
  }

  protected BackupSummary summary(BackupId id) {
    return TestContexts.summary(id);
  }

  /** Stores a backup and publishes it, as the engine does once it verified. */
  protected StoredBackup store(String timestamp) {
    StoredBackup pending = storePending(timestamp);
    return archiver.commit(pending.id());
  }

  /** Stores a backup without publishing it. */
  protected StoredBackup storePending(String timestamp) {
    BackupId id = new BackupId("bitbucket-" + timestamp);
    BackupContent content = new BackupContent(work,
        List.of(BackupLayout.HOME, BackupLayout.dataStore(Path.of("/mnt/store one")), BackupLayout.DATABASE),
        summary(id));
    return archiver.store(content, TestContexts.run(work, Phase.ARCHIVE));
  }

  @Test
  void a_pending_backup_is_verified_but_never_listed_until_published() {
    StoredBackup published = store("20260101-000000");
    StoredBackup pending = storePending("20260102-030405");

    assertThat(archiver.list()).extracting(StoredBackup::id).containsExactly(published.id());
    assertThat(archiver.find(pending.id())).isEmpty();
    assertThat(archiver.verify(pending.id(), TestContexts.run(work, Phase.VERIFY)).ok()).isTrue();

    archiver.commit(pending.id());
    assertThat(archiver.list()).extracting(StoredBackup::id).containsExactly(pending.id(), published.id());
  }

  @Test
  void a_deleted_pending_backup_leaves_nothing() {
    StoredBackup pending = storePending("20260102-030405");

    archiver.delete(pending.id());

    assertThat(archiver.list()).isEmpty();
    assertThatThrownBy(() -> archiver.commit(pending.id()))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
  }

  @Test
  void the_store_lock_excludes_a_second_holder_until_released() throws Exception {
    Archiver other = sameStore();
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.RETENTION);
    try (Archiver.Lock held = archiver.lock(Duration.ofSeconds(5), ctx)) {
      assertThatThrownBy(() -> other.lock(Duration.ofMillis(300), ctx).close())
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED));
    }
    other.lock(Duration.ofSeconds(5), ctx).close();
  }

  @Test
  void stores_lists_and_keeps_the_summary() {
    StoredBackup stored = store("20260102-030405");

    assertThat(stored.id().value()).isEqualTo("bitbucket-20260102-030405");
    assertThat(stored.summary()).isNotNull();
    assertThat(Objects.requireNonNull(stored.summary()).files()).isGreaterThan(5);
    List<StoredBackup> listed = archiver.list();
    assertThat(listed).extracting(StoredBackup::id).containsExactly(stored.id());
    BackupSummary summary = listed.get(0).summary();
    assertThat(summary).isNotNull();
    assertThat(summary.lockWindow()).isEqualTo(Duration.ofSeconds(3));
    assertThat(summary.artifacts()).hasSize(2);
    assertThat(summary.artifact(Artifact.Kind.DATABASE).orElseThrow().property("rows.public.repository"))
        .isEqualTo("2");
    assertThat(summary.files()).isEqualTo(Objects.requireNonNull(stored.summary()).files());
  }

  @Test
  void round_trip_restores_an_identical_tree() throws Exception {
    StoredBackup stored = store("20260102-030405");
    Path restoredHome = temp.resolve("restored/home");
    Path restoredDb = temp.resolve("restored/db");
    Path restoredStore = temp.resolve("restored/store");

    ExtractResult result = archiver.extract(stored.id(), ExtractionPlan.builder()
        .map(BackupLayout.HOME, restoredHome)
        .map(BackupLayout.DATABASE, restoredDb)
        .map(BackupLayout.dataStore(Path.of("/mnt/store one")), restoredStore)
        .build(), TestContexts.run(work, Phase.EXTRACT));

    assertThat(result.verified()).isTrue();
    assertThat(result.files()).isEqualTo(Objects.requireNonNull(stored.summary()).files());
    assertThat(Trees.differences(work.resolve(BackupLayout.HOME), restoredHome, Trees.Check.MODE,
        Trees.Check.MTIME, Trees.Check.DIRECTORY_MTIME)).isEmpty();
    assertThat(Trees.differences(work.resolve(BackupLayout.DATABASE), restoredDb)).isEmpty();
    assertThat(Trees.differences(work.resolve(BackupLayout.dataStore(Path.of("/mnt/store one"))), restoredStore))
        .isEmpty();
  }

  /**
   * Whether the archiver stores parts from {@link ContentSource}s (it declares {@code READS_CONTENT_SOURCES}); one that
   * does not must refuse content with sources rather than store the empty placeholder.
   */
  protected boolean readsContentSources() {
    return true;
  }

  @Test
  void an_archiver_that_cannot_read_content_sources_refuses_them() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeFalse(readsContentSources(), "the archiver reads content sources");
    Path snapshot = temp.resolve("snapshot of the home");
    Files.move(work.resolve(BackupLayout.HOME), snapshot);
    Files.createDirectories(work.resolve(BackupLayout.HOME));
    BackupId id = new BackupId("bitbucket-20260103-000000");
    assertThatThrownBy(() -> archiver.store(new BackupContent(work, List.of(BackupLayout.HOME), summary(id),
        List.of(new ContentSource(BackupLayout.HOME, snapshot, List.of()))), TestContexts.run(work, Phase.ARCHIVE)))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(dev.bbdiy.api.ErrorCode.CONFIGURATION));
    assertThat(archiver.list()).isEmpty();
  }

  @Test
  void stores_a_part_read_from_a_content_source_without_its_excluded_entries() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(readsContentSources(), "the archiver refuses content sources");
    // As a snapshot provider hands it over: an empty placeholder in the working copy, the files elsewhere.
    Path snapshot = temp.resolve("snapshot of the home");
    Files.move(work.resolve(BackupLayout.HOME), snapshot);
    Files.createDirectories(work.resolve(BackupLayout.HOME));
    Files.createDirectories(snapshot.resolve("caches/index"));
    Files.writeString(snapshot.resolve("caches/index/big.bin"), "cache");
    Files.createDirectories(snapshot.resolve("tmp"));
    Files.writeString(snapshot.resolve("tmp/scratch"), "temporary");
    Files.createDirectories(snapshot.resolve("shared/data/repositories/99"));
    Files.writeString(snapshot.resolve("shared/data/repositories/99/HEAD"), "ref: refs/heads/master\n");
    Path outside = Files.writeString(temp.resolve("outside.txt"), "never stored");
    Files.createSymbolicLink(snapshot.resolve("link-out"), outside);
    List<String> excludes = List.of("/caches/", "/tmp", "/shared/data/repositories/99");
    ageTimestamps(snapshot); // whole seconds, which every archiver keeps (restic's tar output rounds the rest)
    BackupId id = new BackupId("bitbucket-20260103-000000");

    StoredBackup pending = archiver.store(new BackupContent(work, List.of(BackupLayout.HOME, BackupLayout.DATABASE),
        summary(id), List.of(new ContentSource(BackupLayout.HOME, snapshot, excludes))),
        TestContexts.run(work, Phase.ARCHIVE));
    assertThat(archiver.verify(pending.id(), TestContexts.run(work, Phase.VERIFY)).ok()).isTrue();
    archiver.commit(pending.id());
    Path restored = temp.resolve("restored/home");
    archiver.extract(id, ExtractionPlan.builder().map(BackupLayout.HOME, restored).build(),
        TestContexts.run(work, Phase.EXTRACT));

    assertThat(Trees.differences(snapshot, restored, rel -> rel.equals("caches") || rel.startsWith("caches/")
        || rel.equals("tmp") || rel.startsWith("tmp/") || rel.startsWith("shared/data/repositories/99"), Trees.Check.MODE,
        Trees.Check.MTIME)).isEmpty();
    assertThat(restored.resolve("caches")).doesNotExist();
    assertThat(restored.resolve("tmp")).doesNotExist();
    assertThat(restored.resolve("shared/data/repositories/99")).doesNotExist();
    assertThat(Files.isSymbolicLink(restored.resolve("link-out"))).as("stored as a link, not followed").isTrue();
    assertThat(Files.getLastModifiedTime(restored).toInstant().getEpochSecond()).as("the part's own time")
        .isEqualTo(Files.getLastModifiedTime(snapshot).toInstant().getEpochSecond());
  }

  @Test
  void refuses_a_content_source_that_is_a_symbolic_link() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(readsContentSources(), "the archiver refuses content sources");
    Path real = temp.resolve("real");
    Files.move(work.resolve(BackupLayout.HOME), real);
    Files.createDirectories(work.resolve(BackupLayout.HOME));
    Path link = Files.createSymbolicLink(temp.resolve("link"), real);
    BackupId id = new BackupId("bitbucket-20260103-000000");

    assertThatThrownBy(() -> archiver.store(new BackupContent(work, List.of(BackupLayout.HOME), summary(id),
        List.of(new ContentSource(BackupLayout.HOME, link, List.of()))), TestContexts.run(work, Phase.ARCHIVE)))
        .isInstanceOf(BbdiyException.class)
        .hasMessageContaining("not a directory");
    assertThat(archiver.list()).isEmpty();
  }

  @Test
  void extracts_only_what_the_plan_maps() throws Exception {
    StoredBackup stored = store("20260102-030405");
    Path restoredDb = temp.resolve("restored/db");

    archiver.extract(stored.id(), ExtractionPlan.builder().map(BackupLayout.DATABASE, restoredDb).build(),
        TestContexts.run(work, Phase.EXTRACT));

    assertThat(Trees.differences(work.resolve(BackupLayout.DATABASE), restoredDb)).isEmpty();
    assertThat(temp.resolve("restored")).isDirectoryContaining(p -> p.getFileName().toString().equals("db"));
    try (var s = Files.list(temp.resolve("restored"))) {
      assertThat(s.count()).isEqualTo(1);
    }
  }

  @Test
  void never_overwrites_on_extract() throws Exception {
    StoredBackup stored = store("20260102-030405");
    Path target = Files.createDirectories(temp.resolve("restored/db"));
    Files.writeString(target.resolve("toc.dat"), "precious");

    assertThatThrownBy(() -> archiver.extract(stored.id(),
        ExtractionPlan.builder().map(BackupLayout.DATABASE, target).build(), TestContexts.run(work, Phase.EXTRACT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED));
    assertThat(Files.readString(target.resolve("toc.dat"))).isEqualTo("precious");
  }

  @Test
  void verifies_a_good_backup() {
    StoredBackup stored = store("20260102-030405");

    VerifyResult result = archiver.verify(stored.id(), TestContexts.run(work, Phase.VERIFY));

    assertThat(result.problems()).isEmpty();
    assertThat(result.ok()).isTrue();
    assertThat(result.bytes()).isEqualTo(Objects.requireNonNull(stored.summary()).bytes());
  }

  @Test
  void detects_a_flipped_byte() throws Exception {
    StoredBackup stored = store("20260102-030405");

    corrupt(stored.id());

    VerifyResult result = archiver.verify(stored.id(), TestContexts.run(work, Phase.VERIFY));
    assertThat(result.ok()).isFalse();
    assertThat(result.problems()).isNotEmpty();
  }

  @Test
  void a_damaged_backup_fails_extraction() throws Exception {
    StoredBackup stored = store("20260102-030405");
    corrupt(stored.id());

    assertThatThrownBy(() -> archiver.extract(stored.id(),
        ExtractionPlan.builder().map(BackupLayout.HOME, temp.resolve("restored/home")).build(),
        TestContexts.run(work, Phase.EXTRACT)))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED));
  }

  @Test
  void refuses_to_replace_a_backup() {
    store("20260102-030405");

    assertThatThrownBy(() -> store("20260102-030405"))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED));
    assertThat(archiver.list()).hasSize(1);
  }

  @Test
  void a_cancelled_store_leaves_nothing() {
    BackupId id = new BackupId("bitbucket-20260102-030405");
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.ARCHIVE);
    ctx.cancellation().cancel("test");

    assertThatThrownBy(() -> archiver.store(new BackupContent(work, List.of(BackupLayout.HOME), summary(id)), ctx))
        .isInstanceOf(BbdiyException.class);
    assertThat(archiver.list()).isEmpty();
  }

  @Test
  void cancellation_during_store_leaves_nothing() throws Exception {
    BackupId id = new BackupId("bitbucket-20260102-030405");
    CancelDuring cancel = new CancelDuring();
    TestContexts.TestRunContext ctx = new TestContexts.TestRunContext(id, Phase.ARCHIVE, work,
        new TestContexts.RecordingProgress(), cancel.signal(), true);

    Throwable thrown = cancel.during(() -> archiver.store(new BackupContent(work, List.of(BackupLayout.HOME,
        BackupLayout.DATABASE), summary(id)), ctx));

    CancelDuring.assertInterrupted(thrown, "store");
    assertThat(archiver.list()).isEmpty();
    assertThatThrownBy(() -> archiver.commit(id)).as("nothing pending is left to publish")
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    store("20260102-030405"); // the same id stores afterwards: nothing of the cancelled one is in the way
  }

  @Test
  void cancellation_during_extract_stops_it_and_keeps_the_backup() throws Exception {
    StoredBackup stored = store("20260102-030405");
    CancelDuring cancel = new CancelDuring();
    TestContexts.TestRunContext ctx = new TestContexts.TestRunContext(stored.id(), Phase.EXTRACT, work,
        new TestContexts.RecordingProgress(), cancel.signal(), true);

    Throwable thrown = cancel.during(() -> archiver.extract(stored.id(), ExtractionPlan.builder()
        .map(BackupLayout.HOME, temp.resolve("restored/home")).build(), ctx));

    CancelDuring.assertInterrupted(thrown, "extract");
    assertThat(archiver.verify(stored.id(), TestContexts.run(work, Phase.VERIFY)).ok()).isTrue();
  }

  @Test
  void deletes_one_backup_only_and_lists_newest_first() {
    StoredBackup older = store("20260101-000000");
    StoredBackup newer = store("20260102-000000");

    assertThat(archiver.list()).extracting(StoredBackup::id).containsExactly(newer.id(), older.id());
    archiver.delete(older.id());

    assertThat(archiver.list()).extracting(StoredBackup::id).containsExactly(newer.id());
    assertThat(archiver.verify(newer.id(), TestContexts.run(work, Phase.VERIFY)).ok()).isTrue();
  }

  @Test
  void stored_backups_are_private() throws Exception {
    StoredBackup stored = store("20260102-030405");
    for (Path p : storedFiles(stored)) {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
      assertThat(perms).as("permissions of %s", p).doesNotContain(PosixFilePermission.GROUP_READ,
          PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);
    }
  }

  @Test
  void unknown_backups_are_not_found() {
    assertThatThrownBy(() -> archiver.verify(new BackupId("bitbucket-20000101-000000"),
        TestContexts.run(work, Phase.VERIFY)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
  }

  /** Flips one byte at {@code offset} (negative counts from the end) of a local file. */
  protected static void flipByte(Path file, long offset) throws IOException {
    try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ,
        java.nio.file.StandardOpenOption.WRITE)) {
      long pos = offset >= 0 ? offset : ch.size() + offset;
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
      ch.read(b, pos);
      b.flip();
      byte v = b.get(0);
      b.clear();
      b.put((byte) (v ^ 0x01)).flip();
      ch.write(b, pos);
    }
  }
}
