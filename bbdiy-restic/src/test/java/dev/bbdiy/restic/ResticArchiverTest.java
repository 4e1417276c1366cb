package dev.bbdiy.restic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.simulator.Trees;
import dev.bbdiy.testkit.TestContexts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The restic archiver against real restic 0.14 and local repositories, beyond the archiver contract. */
class ResticArchiverTest {
  @TempDir Path temp;

  private Path work;
  private Path repo;
  private Path password;
  private Map<String, String> config;

  @BeforeAll
  static void restic() {
    ResticTool.requireRestic();
  }

  @BeforeEach
  void setUp() throws Exception {
    work = Files.createDirectories(temp.resolve("work"));
    BitbucketHomes.generate(work.resolve(BackupLayout.HOME),
        BitbucketHomes.spec().useGit(false).repositories(3).attachments(20, 64 * 1024).plugins(2, 8192));
    Path db = Files.createDirectories(work.resolve(BackupLayout.DATABASE));
    Files.writeString(db.resolve("toc.dat"), "table of contents");
    wholeSeconds(work);
    repo = temp.resolve("repo");
    password = ResticTool.passwordFile(temp);
    config = ResticTool.config(repo, password);
  }

  private StoredBackup backup(Archiver archiver, String timestamp, TestContexts.TestRunContext ctx) {
    BackupId id = new BackupId("bitbucket-" + timestamp);
    StoredBackup pending = archiver.store(new BackupContent(work, List.of(BackupLayout.HOME, BackupLayout.DATABASE),
        TestContexts.summary(id)), ctx);
    return archiver.commit(pending.id());
  }

  private StoredBackup backup(Archiver archiver, String timestamp) {
    return backup(archiver, timestamp, TestContexts.run(work, Phase.ARCHIVE));
  }

  private static void random(Path file, int bytes, long seed) throws IOException {
    byte[] b = new byte[bytes];
    new Random(seed).nextBytes(b);
    Files.createDirectories(file.getParent());
    Files.write(file, b);
    wholeSeconds(file.getParent().getParent());
  }

  /**
   * Gives every entry below {@code root} a whole-second time: restic dump rounds times to the nearest second,
   * and the tree comparison truncates.
   */
  private static void wholeSeconds(Path root) throws IOException {
    try (var s = Files.walk(root)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        if (!Files.isSymbolicLink(p)) {
          Files.setLastModifiedTime(p, java.nio.file.attribute.FileTime.fromMillis(
              Files.getLastModifiedTime(p).toMillis() / 1000 * 1000));
        }
      }
    }
  }

  @Test
  void an_incremental_backup_adds_only_what_changed_and_restores_whole() throws Exception {
    random(work.resolve(BackupLayout.HOME).resolve("shared/data/big-1.bin"), 3 << 20, 1);
    random(work.resolve(BackupLayout.HOME).resolve("shared/data/big-2.bin"), 3 << 20, 2);
    Archiver archiver = ResticTool.archiver(config, work);
    backup(archiver, "20260101-000000");
    long sizeAfterFirst = repositoryBytes();

    random(work.resolve(BackupLayout.HOME).resolve("shared/data/changed.bin"), 64 * 1024, 3);
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.ARCHIVE);
    StoredBackup second = backup(archiver, "20260102-000000", ctx);

    assertThat(repositoryBytes() - sizeAfterFirst).as("bytes the second backup added")
        .isLessThan(sizeAfterFirst / 10);
    assertThat(ctx.progress().messages()).anyMatch(m -> m.matches("restic: \\d+ of \\d+ files unchanged.*"));
    assertThat(ctx.progress().messages()).anyMatch(m -> m.startsWith("restic backup: "));
    assertThat(archiver.list()).extracting(StoredBackup::id)
        .containsExactly(second.id(), new BackupId("bitbucket-20260101-000000"));
    assertThat(archiver.verify(second.id(), TestContexts.run(work, Phase.VERIFY)).ok()).isTrue();

    Path restored = temp.resolve("restored/home");
    archiver.extract(second.id(), ExtractionPlan.builder().map(BackupLayout.HOME, restored).build(),
        TestContexts.run(work, Phase.EXTRACT));
    assertThat(Trees.differences(work.resolve(BackupLayout.HOME), restored, Trees.Check.MODE, Trees.Check.MTIME))
        .isEmpty();
  }

  @Test
  void a_backup_of_the_same_id_published_meanwhile_makes_commit_refuse_and_forget_its_own() throws Exception {
    Archiver first = ResticTool.archiver(config, work);
    Archiver second = ResticTool.archiver(config, work);
    BackupId id = new BackupId("bitbucket-20260101-000000");
    first.store(new BackupContent(work, List.of(BackupLayout.HOME), TestContexts.summary(id)),
        TestContexts.run(work, Phase.ARCHIVE));
    backup(second, "20260101-000000"); // the first is pending, so not in the way of the second's store

    assertThatThrownBy(() -> first.commit(id))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.REFUSED))
        .hasMessageContaining("appeared");
    assertThat(first.list()).singleElement().extracting(StoredBackup::id).isEqualTo(id);
    ResticTool.Run r = ResticTool.run(repo, password, "snapshots", "--json");
    assertThat(Snapshots.parse(new java.io.ByteArrayInputStream(r.output().getBytes(
        java.nio.charset.StandardCharsets.UTF_8))).snapshots()).as("the first's snapshot is forgotten").hasSize(1);
  }

  @Test
  void restic_restore_alone_gives_the_backup_layout() throws Exception {
    Archiver archiver = ResticTool.archiver(config, work);
    backup(archiver, "20260101-000000");
    Path target = temp.resolve("plain");

    ResticTool.Run r = ResticTool.run(repo, password, "restore", "latest", "--target", target.toString());

    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(target.resolve(BackupLayout.MANIFEST)).isRegularFile();
    assertThat(Trees.differences(work.resolve(BackupLayout.HOME), target.resolve(BackupLayout.HOME))).isEmpty();
    assertThat(Trees.differences(work.resolve(BackupLayout.DATABASE), target.resolve(BackupLayout.DATABASE)))
        .isEmpty();
    assertThat(work.resolve(BackupLayout.MANIFEST)).as("the manifest is removed from the working copy").doesNotExist();
  }

  @Test
  void a_cancelled_backup_leaves_a_consistent_unlocked_repository_and_no_snapshot() throws Exception {
    for (int i = 0; i < 12; i++) {
      random(work.resolve(BackupLayout.HOME).resolve("shared/data/big-" + i + ".bin"), 8 << 20, i);
    }
    Archiver archiver = ResticTool.archiver(config, work);
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.ARCHIVE);
    Thread canceller = whenResticBacksUp(() -> ctx.cancellation().cancel("test: Ctrl-C"));

    assertThatThrownBy(() -> backup(archiver, "20260101-000000", ctx))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERRUPTED));
    canceller.join();

    assertRepositoryConsistentAndUnlocked();
    assertThat(archiver.list()).isEmpty();
    assertThat(work.resolve(BackupLayout.MANIFEST)).doesNotExist();
  }

  @Test
  void restic_killed_by_sigterm_leaves_a_consistent_unlocked_repository() throws Exception {
    for (int i = 0; i < 12; i++) {
      random(work.resolve(BackupLayout.HOME).resolve("shared/data/big-" + i + ".bin"), 8 << 20, i);
    }
    Archiver archiver = ResticTool.archiver(config, work);
    AtomicReference<ProcessHandle> killed = new AtomicReference<>();
    Thread killer = whenResticBacksUp(() -> resticBackup().ifPresent(p -> {
      killed.set(p);
      p.destroy(); // SIGTERM, as an administrator's kill or a shutdown sends it
    }));

    assertThatThrownBy(() -> backup(archiver, "20260101-000000"))
        .isInstanceOfSatisfying(BbdiyException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED));
    killer.join();

    assertThat(killed.get()).isNotNull();
    assertRepositoryConsistentAndUnlocked();
    assertThat(archiver.list()).isEmpty();
  }

  /** Runs {@code action} on another thread once a restic backup runs and has taken its repository lock. */
  private Thread whenResticBacksUp(Runnable action) {
    Thread t = new Thread(() -> {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < deadline) {
        try {
          if (resticBackup().isPresent() && hasLock()) {
            Thread.sleep(300); // let it write some packs
            action.run();
            return;
          }
          Thread.sleep(20);
        } catch (InterruptedException | IOException e) {
          return;
        }
      }
    });
    t.start();
    return t;
  }

  private boolean hasLock() throws IOException {
    Path locks = repo.resolve("locks");
    if (!Files.isDirectory(locks)) {
      return false;
    }
    try (var s = Files.list(locks)) {
      return s.findAny().isPresent();
    }
  }

  private static java.util.Optional<ProcessHandle> resticBackup() {
    return ProcessHandle.current().descendants()
        .filter(p -> p.info().arguments().map(a -> a.length > 0 && List.of(a).contains("backup")).orElse(false))
        .findFirst();
  }

  private void assertRepositoryConsistentAndUnlocked() throws Exception {
    ResticTool.Run locks = ResticTool.run(repo, password, "list", "locks", "--no-lock");
    assertThat(locks.exitCode()).as(locks.output()).isZero();
    assertThat(locks.output().strip()).as("locks left in the repository").isEmpty();
    ResticTool.Run check = ResticTool.run(repo, password, "check");
    assertThat(check.exitCode()).as(check.output()).isZero();
    assertThat(check.output()).contains("no errors were found");
  }

  @Test
  void delete_forgets_and_prunes_so_the_repository_shrinks() throws Exception {
    Archiver archiver = ResticTool.archiver(config, work);
    random(work.resolve(BackupLayout.HOME).resolve("shared/data/old.bin"), 4 << 20, 1);
    StoredBackup first = backup(archiver, "20260101-000000");
    Files.delete(work.resolve(BackupLayout.HOME).resolve("shared/data/old.bin"));
    StoredBackup second = backup(archiver, "20260102-000000");
    long before = repositoryBytes();

    archiver.delete(first.id());

    assertThat(repositoryBytes()).isLessThan(before - (3 << 20));
    assertThat(archiver.list()).extracting(StoredBackup::id).containsExactly(second.id());
    VerifyResult verified = archiver.verify(second.id(), TestContexts.run(work, Phase.VERIFY));
    assertThat(verified.problems()).isEmpty();
    assertThat(verified.ok()).isTrue();
  }

  @Test
  void verify_with_read_data_subset_finds_a_damaged_pack_of_another_backup() throws Exception {
    config.put("restic.read-data-subset", "100%");
    Archiver archiver = ResticTool.archiver(config, work);
    random(work.resolve(BackupLayout.HOME).resolve("shared/data/old.bin"), 2 << 20, 1);
    backup(archiver, "20260101-000000");
    Files.delete(work.resolve(BackupLayout.HOME).resolve("shared/data/old.bin"));
    StoredBackup second = backup(archiver, "20260102-000000");
    flipByte(ResticTool.packs(repo).get(0), 1000); // old.bin's data, not in the second

    VerifyResult result = archiver.verify(second.id(), TestContexts.run(work, Phase.VERIFY));

    assertThat(result.ok()).isFalse();
    assertThat(result.problems()).anyMatch(p -> p.startsWith("restic check found errors"));
  }

  @Test
  void lists_only_this_instances_published_bbdiy_snapshots() throws Exception {
    Archiver archiver = ResticTool.archiver(config, work);
    StoredBackup mine = backup(archiver, "20260101-000000");
    ResticArchiverProvider provider = new ResticArchiverProvider();
    Archiver other = provider.create(TestContexts.providerContext(provider, config,
        dev.bbdiy.api.BitbucketInstance.of("other", work), work));
    BackupId otherId = new BackupId("other-20260103-000000");
    other.commit(other.store(new BackupContent(work, List.of(BackupLayout.DATABASE), TestContexts.summary(otherId)),
        TestContexts.run(work, Phase.ARCHIVE)).id());
    assertThat(ResticTool.run(repo, password, "backup", "--tag", "bbdiy-id=bitbucket-20260104-000000",
        work.resolve(BackupLayout.DATABASE).toString()).exitCode()).isZero();
    assertThat(ResticTool.run(repo, password, "backup", "--tag",
        "bbdiy,bbdiy-pending,bbdiy-id=bitbucket-20260105-000000,bbdiy-instance=bitbucket",
        work.resolve(BackupLayout.DATABASE).toString()).exitCode()).isZero();

    assertThat(archiver.list()).extracting(StoredBackup::id).containsExactly(mine.id());
    assertThat(other.list()).extracting(StoredBackup::id).containsExactly(otherId);
  }

  @Test
  void the_password_never_reaches_restics_command_line() throws Exception {
    Path log = temp.resolve("argv.log");
    Path fake = temp.resolve("restic-wrapper");
    Files.writeString(fake, "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + log + "'\nexec restic \"$@\"\n");
    Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
    Map<String, String> c = new HashMap<>(config);
    c.remove("restic.password-file");
    c.put("restic.password", "correct horse battery staple");
    c.put("restic.binary", fake.toString());
    Archiver archiver = ResticTool.archiver(c, work);

    StoredBackup b = backup(archiver, "20260101-000000");
    archiver.verify(b.id(), TestContexts.run(work, Phase.VERIFY));

    String argv = Files.readString(log);
    assertThat(argv).contains("backup").contains("dump").doesNotContain("horse").doesNotContain(repo.toString());
  }

  @Test
  void preflight_names_the_fix() throws Exception {
    Map<String, String> missing = new HashMap<>(config);
    missing.put("restic.init", "false");
    assertThatThrownBy(() -> ResticTool.archiver(missing, work).preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION);
          assertThat(e.getMessage()).contains("restic init").contains("restic.init=true");
        });
    ResticTool.archiver(config, work).preflight(TestContexts.run(work, Phase.PREFLIGHT));

    backup(ResticTool.archiver(config, work), "20260101-000000");
    Path wrong = temp.resolve("wrong-password");
    Files.writeString(wrong, "not it\n");
    Map<String, String> badPassword = new HashMap<>(config);
    badPassword.put("restic.password-file", wrong.toString());
    assertThatThrownBy(() -> ResticTool.archiver(badPassword, work).preflight(
        TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION);
          assertThat(e.getMessage()).contains("restic.password-file");
        });

    Map<String, String> noBinary = new HashMap<>(config);
    noBinary.put("restic.binary", temp.resolve("no-such-restic").toString());
    assertThatThrownBy(() -> ResticTool.archiver(noBinary, work).preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION);
          assertThat(e.getMessage()).contains("apt-get install restic");
        });

    Path old = temp.resolve("old-restic");
    Files.writeString(old, "#!/bin/sh\necho 'restic 0.12.1 compiled with go1.15.9 on linux/amd64'\n");
    Files.setPosixFilePermissions(old, PosixFilePermissions.fromString("rwx------"));
    Map<String, String> tooOld = new HashMap<>(config);
    tooOld.put("restic.binary", old.toString());
    assertThatThrownBy(() -> ResticTool.archiver(tooOld, work).preflight(TestContexts.run(work, Phase.PREFLIGHT)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION);
          assertThat(e.getMessage()).contains("0.12.1 is too old").contains("0.14");
        });
  }

  @Test
  void a_password_is_required_and_options_are_checked() {
    Map<String, String> none = new HashMap<>(config);
    none.remove("restic.password-file");
    if (System.getenv("RESTIC_PASSWORD_FILE") == null && System.getenv("RESTIC_PASSWORD") == null
        && System.getenv("RESTIC_PASSWORD_COMMAND") == null) {
      assertThatThrownBy(() -> ResticTool.archiver(none, work))
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.getMessage()).contains("restic.password-file"));
    }
    Map<String, String> badOption = new HashMap<>(config);
    badOption.put("restic.options", "--password=x");
    assertThatThrownBy(() -> ResticTool.archiver(badOption, work))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION));
    Map<String, String> badSubset = new HashMap<>(config);
    badSubset.put("restic.read-data-subset", "5%; rm -rf /");
    assertThatThrownBy(() -> ResticTool.archiver(badSubset, work))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION));
  }

  @Test
  void repository_names_lose_their_credentials_in_messages() {
    assertThat(ResticArchiverProvider.displayName("rest:https://user:s3cret@host:8000/repo"))
        .isEqualTo("rest:https://***@host:8000/repo");
    assertThat(ResticArchiverProvider.localDirectory("s3:https://s3.example.com/bucket")).isNull();
    assertThat(ResticArchiverProvider.localDirectory("/srv/restic")).isEqualTo(Path.of("/srv/restic"));
    assertThat(ResticArchiver.tagValue("main")).isEqualTo("main");
    assertThat(ResticArchiver.tagValue("a,b c")).isEqualTo("a%2Cb%20c");
  }

  private long repositoryBytes() throws IOException {
    try (var s = Files.walk(repo)) {
      return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  private static void flipByte(Path file, long offset) throws IOException {
    try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ,
        java.nio.file.StandardOpenOption.WRITE)) {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
      ch.read(b, offset);
      b.put(0, (byte) (b.get(0) ^ 1)).rewind();
      ch.write(b, offset);
    }
  }
}
