package dev.bbdiy.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.ArchiverProvider;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.ExtractResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.kit.FileNames;
import dev.bbdiy.kit.Ownership;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.copy.CopyProvider;
import dev.bbdiy.testkit.CraftedTar;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import dev.bbdiy.testkit.ScriptedProvider;
import dev.bbdiy.testkit.TestClock;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Regression tests of what adversarial testing broke (issue 10), through the engine. */
class HardeningTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  @TempDir Path temp;

  final TestClock clock = new TestClock();
  final List<BackupEvent> events = Collections.synchronizedList(new ArrayList<>());

  MaintenanceClient client() {
    return MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
        .retries(3, Duration.ofMillis(10), Duration.ofMillis(50)).unlockRetryBudget(Duration.ofMillis(500))
        .pollInterval(Duration.ofMillis(50)).build();
  }

  BackupEngine.Builder engine(BitbucketInstance instance, Path workDir) {
    return BackupEngine.builder().instance(instance).workDir(workDir).bitbucket(client())
        .home(new CopyProvider()).database(null).archiver(new TarArchiverProvider())
        .configuration(Map.of("tar.dir", temp.resolve("archives").toString())).clock(clock).listener(events::add);
  }

  // ---------------------------------------------------------------------------------------------------------
  // 3. File names are bytes

  /** Raw names (one character per byte) of files that differ only in bytes that are not UTF-8, and others. */
  static final List<String> ODD_NAMES = List.of("x-\u00ff.txt", "x-\u00fe.txt", FileNames.fromText("é.txt"),
      "line\nbreak", "a".repeat(140) + "\u00ff" + ".long", "\u00c3(", "back\\slash");

  @Test
  void names_that_are_not_utf8_round_trip_byte_for_byte_through_copy_and_tar() throws Exception {
    Path home = Files.createDirectories(temp.resolve("home"));
    Path dir = Files.createDirectories(FileNames.resolve(home, "shared/odd-\u00e9"));
    int i = 0;
    for (String raw : ODD_NAMES) {
      Files.writeString(FileNames.resolve(dir, raw), "content " + i++);
    }
    Files.createSymbolicLink(FileNames.resolve(dir, "link-\u00ff"), FileNames.path("x-\u00fe.txt"));
    BitbucketInstance instance = BitbucketInstance.of("bitbucket", home);

    BackupResult backup = engine(instance, temp.resolve("work")).build().backup();
    assertThat(backup.summary().files()).isEqualTo(ODD_NAMES.size());

    Path target = temp.resolve("restored");
    engine(instance, temp.resolve("work")).build().restore(RestoreRequest.builder(backup.id()).targetHome(target)
        .homeOnly().build());

    Path restoredDir = FileNames.resolve(target, "shared/odd-\u00e9");
    assertThat(rawNames(restoredDir)).isEqualTo(rawNames(dir));
    i = 0;
    for (String raw : ODD_NAMES) {
      assertThat(Files.readString(FileNames.resolve(restoredDir, raw))).as(FileNames.display(raw))
          .isEqualTo("content " + i++);
    }
    assertThat(FileNames.raw(Files.readSymbolicLink(FileNames.resolve(restoredDir, "link-\u00ff"))))
        .isEqualTo("x-\u00fe.txt");

    // GNU tar reads the same names from the archive.
    Path gnu = Files.createDirectories(temp.resolve("gnu"));
    Process tar = new ProcessBuilder("tar", "-xf", backup.stored().location(), "-C", gnu.toString())
        .redirectErrorStream(true).start();
    String out = new String(tar.getInputStream().readAllBytes());
    assertThat(tar.waitFor()).as(out).isZero();
    assertThat(rawNames(FileNames.resolve(gnu, "bitbucket-home/shared/odd-\u00e9"))).isEqualTo(rawNames(dir));
  }

  static TreeSet<String> rawNames(Path dir) throws IOException {
    TreeSet<String> names = new TreeSet<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      for (Path p : s) {
        names.add(FileNames.rawFileName(p));
      }
    }
    return names;
  }

  // ---------------------------------------------------------------------------------------------------------
  // 2. Destinations come from the command line and the configuration, never from the archive

  @Test
  void a_data_store_the_manifest_names_is_never_restored_where_the_manifest_says() throws Exception {
    Path outside = Files.createDirectories(temp.resolve("outside"));
    String store = "bitbucket-data-stores" + outside;
    Path archives = Files.createDirectories(temp.resolve("archives"));
    BackupId id = new BackupId("bitbucket-20260101-000000");
    CraftedTar tar = withDataStore(store);
    publish(tar, id, tar.manifestJson(id.value()));

    BitbucketInstance instance = BitbucketInstance.of("bitbucket", temp.resolve("home"));
    assertThatThrownBy(() -> engine(instance, temp.resolve("work")).build().restore(RestoreRequest.builder(id)
        .targetHome(temp.resolve("restored")).homeOnly().build()))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("--target-data-store");
    try (Stream<Path> s = Files.list(outside)) {
      assertThat(s.toList()).isEmpty();
    }

    // Mapped on the command line, it goes there and nowhere else.
    Path mapped = temp.resolve("mapped-store");
    engine(instance, temp.resolve("work")).build().restore(RestoreRequest.builder(id)
        .targetHome(temp.resolve("restored")).dataStore(outside, mapped).homeOnly().build());
    assertThat(mapped.resolve("planted")).hasContent("planted");
    try (Stream<Path> s = Files.list(outside)) {
      assertThat(s.toList()).isEmpty();
    }
  }

  /** A home and one data store, with every directory entry a real archive has, in canonical order. */
  private static CraftedTar withDataStore(String store) {
    CraftedTar tar = new CraftedTar().artifactPaths("bitbucket-home", store);
    String[] parts = store.split("/");
    StringBuilder p = new StringBuilder(parts[0]);
    tar.directory(p.toString());
    for (int i = 1; i < parts.length; i++) {
      p.append('/').append(parts[i]);
      tar.directory(p.toString());
    }
    tar.file(store + "/planted", "planted");
    tar.directory("bitbucket-home").file("bitbucket-home/a", "a");
    return tar;
  }

  /** Writes a crafted archive with its manifest, and the summary next to it, as a published backup has. */
  private void publish(CraftedTar tar, BackupId id, String manifest) throws IOException {
    Path archives = Files.createDirectories(temp.resolve("archives"));
    tar.manifestText(manifest).writeTo(archives.resolve(id.value() + ".tar"));
    Files.writeString(archives.resolve(id.value() + ".tar.summary.json"), manifest);
  }

  // ---------------------------------------------------------------------------------------------------------
  // 4. A prune never counts an unverified backup

  @Test
  void a_prune_elsewhere_while_a_backup_verifies_never_leaves_zero_backups() throws Exception {
    Path home = Files.createDirectories(temp.resolve("home/shared"));
    Files.writeString(home.resolve("a"), "a");
    BitbucketInstance instance = BitbucketInstance.of("bitbucket", temp.resolve("home"));
    BackupResult good = engine(instance, temp.resolve("work-a")).build().backup();
    clock.advance(Duration.ofSeconds(2));

    CountDownLatch verifying = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    ArchiverProvider failingVerify = new FailingVerify(verifying, release);
    CompletableFuture<BackupResult> second = CompletableFuture.supplyAsync(() ->
        engine(instance, temp.resolve("work-a")).archiver(failingVerify).build().backup());
    assertThat(verifying.await(30, TimeUnit.SECONDS)).isTrue();

    // Another working directory, the same store: its prune keeps one backup.
    List<BackupId> pruned = engine(instance, temp.resolve("work-b")).retention(RetentionPolicy.keepLast(1))
        .build().prune();
    release.countDown();

    assertThatThrownBy(second::join).hasCauseInstanceOf(BbdiyException.class);
    assertThat(pruned).isEmpty();
    assertThat(engine(instance, temp.resolve("work-b")).build().list()).extracting(StoredBackup::id)
        .containsExactly(good.id());
  }

  /** The tar archiver, but verification waits for the test and then finds a flipped byte. */
  static final class FailingVerify implements ArchiverProvider {
    private final CountDownLatch verifying;
    private final CountDownLatch release;

    FailingVerify(CountDownLatch verifying, CountDownLatch release) {
      this.verifying = verifying;
      this.release = release;
    }

    @Override
    public String name() {
      return "tar";
    }

    @Override
    public String description() {
      return "tar whose verification fails";
    }

    @Override
    public List<Setting> settings() {
      return new TarArchiverProvider().settings();
    }

    @Override
    public Archiver create(ProviderContext context) {
      Archiver real = new TarArchiverProvider().create(context);
      return new Archiver() {
        @Override
        public boolean compresses() {
          return real.compresses();
        }

        @Override
        public StoredBackup store(BackupContent content, RunContext ctx) {
          return real.store(content, ctx);
        }

        @Override
        public StoredBackup commit(BackupId id) {
          return real.commit(id);
        }

        @Override
        public Lock lock(Duration wait, RunContext ctx) {
          return real.lock(wait, ctx);
        }

        @Override
        public List<StoredBackup> list() {
          return real.list();
        }

        @Override
        public VerifyResult verify(BackupId id, RunContext ctx) {
          verifying.countDown();
          try {
            release.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return new VerifyResult(id, false, 0, 0, List.of("a flipped byte"), Duration.ZERO);
        }

        @Override
        public ExtractResult extract(BackupId id, ExtractionPlan plan, RunContext ctx) {
          return real.extract(id, plan, ctx);
        }

        @Override
        public void delete(BackupId id) {
          real.delete(id);
        }
      };
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // 9. A file that is not an archive

  @Test
  void restoring_a_file_that_is_not_an_archive_fails_even_unverified() throws Exception {
    Path archives = Files.createDirectories(temp.resolve("archives"));
    BitbucketInstance instance = BitbucketInstance.of("bitbucket", temp.resolve("home"));
    for (String content : List.of("", "not an archive\n")) {
      BackupId id = new BackupId("bitbucket-2026010" + (content.isEmpty() ? 1 : 2) + "-000000");
      Files.writeString(archives.resolve(id.value() + ".tar.zst"), content);

      assertThatThrownBy(() -> engine(instance, temp.resolve("work")).build().restore(RestoreRequest.builder(id)
          .targetHome(temp.resolve("restored")).homeOnly().allowUnverified(true).build()))
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED));
      assertThat(temp.resolve("restored")).satisfiesAnyOf(p -> assertThat(p).doesNotExist(),
          p -> assertThat(p).isEmptyDirectory());
    }
  }

  @Test
  void what_a_failed_restore_extracted_is_removed() throws Exception {
    CraftedTar listed = new CraftedTar().directory("bitbucket-home").file("bitbucket-home/a", "a");
    BackupId id = new BackupId("bitbucket-20260101-000000");
    String manifest = listed.manifestJson(id.value());
    Path archives = Files.createDirectories(temp.resolve("archives"));
    publish(new CraftedTar().directory("bitbucket-home").file("bitbucket-home/a", "a")
        .file("bitbucket-home/extra", "not listed"), id, manifest);
    Path target = temp.resolve("restored");

    assertThatThrownBy(() -> engine(BitbucketInstance.of("bitbucket", temp.resolve("home")), temp.resolve("work"))
        .build().restore(RestoreRequest.builder(id).targetHome(target).homeOnly().build()))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED));
    assertThat(target).isEmptyDirectory();
  }

  // ---------------------------------------------------------------------------------------------------------
  // 10. A failed database restore leaves a finished home

  @Test
  void a_failed_database_restore_leaves_the_home_owned_and_without_stale_git_locks() throws Exception {
    Path repo = Files.createDirectories(temp.resolve("home/shared/data/repositories/1"));
    Files.writeString(repo.resolve("HEAD"), "ref: refs/heads/master\n");
    Files.createDirectories(repo.resolve("objects"));
    Files.createDirectories(repo.resolve("refs/heads"));
    Files.writeString(repo.resolve("HEAD.lock"), "stale");
    Files.writeString(repo.resolve("refs/heads/master.lock"), "stale");
    int owner = Ownership.isRoot() ? 4321 : -1;
    BitbucketInstance instance = new BitbucketInstance("bitbucket", InstanceType.BITBUCKET, temp.resolve("home"),
        List.of(), List.of(), owner, owner);
    ScriptedProvider.Database db = ScriptedProvider.database();
    BackupResult backup = engine(instance, temp.resolve("work")).database(db).build().backup();

    Path target = temp.resolve("restored");
    assertThatThrownBy(() -> engine(instance, temp.resolve("work")).database(ScriptedProvider.database()
        .failIn("restore")).build().restore(RestoreRequest.builder(backup.id()).targetHome(target)
        .targetDatabase("restored").build()))
        .isInstanceOf(BbdiyException.class);

    Path restoredRepo = target.resolve("shared/data/repositories/1");
    assertThat(restoredRepo.resolve("HEAD")).exists();
    assertThat(restoredRepo.resolve("HEAD.lock")).doesNotExist();
    assertThat(restoredRepo.resolve("refs/heads/master.lock")).doesNotExist();
    if (owner >= 0) {
      assertThat(Files.getAttribute(restoredRepo.resolve("HEAD"), "unix:uid", LinkOption.NOFOLLOW_LINKS))
          .isEqualTo(owner);
    }
    assertThat(events).filteredOn(e -> e instanceof BackupEvent.Warning)
        .extracting(e -> ((BackupEvent.Warning) e).message())
        .anySatisfy(m -> assertThat(m).contains("--database-only").contains("complete"));
  }
}
