package dev.bbdiy.restic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.ContentSource;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.simulator.Trees;
import dev.bbdiy.testkit.TestContexts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The restic archiver storing parts read in place from content sources (as the btrfs, lvm and zfs home providers
 * hand them over: an empty placeholder in the working directory, the files in a read-only snapshot elsewhere),
 * against real restic.
 */
class ResticContentSourceTest {
  private static final String STORE = BackupLayout.DATA_STORES + "/mnt/store";

  @TempDir Path temp;

  private Path work;
  private Path home;
  private Path store;
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
    home = temp.resolve("snapshots/home-snapshot");
    BitbucketHomes.generate(home, BitbucketHomes.spec().useGit(false).repositories(3).attachments(10, 32 * 1024)
        .plugins(2, 4096));
    Files.createDirectories(home.resolve("caches/idx"));
    Files.writeString(home.resolve("caches/idx/x"), "cache");
    Files.createDirectories(home.resolve("data"));
    Files.writeString(home.resolve("data/a[c"), "excluded, a glob character in its name");
    Files.writeString(home.resolve("data/abc"), "excluded");
    Files.writeString(home.resolve("data/a*bc"), "kept: the pattern matches one character");
    Files.writeString(home.resolve("data/a\\c"), "excluded, a backslash in its name");
    Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxr-x---"));
    store = temp.resolve("snapshots/store-snapshot");
    Files.createDirectories(store.resolve("repositories/1/2"));
    Files.writeString(store.resolve("repositories/1/2/HEAD"), "ref: refs/heads/main\n");
    Files.createDirectories(work.resolve(BackupLayout.HOME));
    Files.createDirectories(work.resolve(STORE));
    Path db = Files.createDirectories(work.resolve(BackupLayout.DATABASE));
    Files.writeString(db.resolve("toc.dat"), "table of contents");
    wholeSeconds(temp);
    Files.setLastModifiedTime(home, FileTime.fromMillis(1_600_000_000_000L));
    repo = temp.resolve("repo");
    password = ResticTool.passwordFile(temp);
    config = ResticTool.config(repo, password);
  }

  private BackupContent content(String timestamp) {
    BackupId id = new BackupId("bitbucket-" + timestamp);
    return new BackupContent(work, List.of(BackupLayout.HOME, STORE, BackupLayout.DATABASE), TestContexts.summary(id),
        List.of(new ContentSource(BackupLayout.HOME, home, List.of("/caches/", "/data/a?c", "/tmp")),
            new ContentSource(STORE, store, List.of())));
  }

  private StoredBackup backup(Archiver archiver, String timestamp) {
    StoredBackup pending = archiver.store(content(timestamp), TestContexts.run(work, Phase.ARCHIVE));
    return archiver.commit(pending.id());
  }

  @Test
  void stores_snapshots_in_place_in_the_layout_and_restores_the_same_trees() throws Exception {
    Archiver archiver = ResticTool.archiver(config, work);
    StoredBackup b = backup(archiver, "20260101-000000");

    assertThat(archiver.verify(b.id(), TestContexts.run(work, Phase.VERIFY)).ok()).isTrue();
    Path restored = temp.resolve("restored");
    archiver.extract(b.id(), ExtractionPlan.builder().map(BackupLayout.HOME, restored.resolve("home"))
        .map(STORE, restored.resolve("store")).map(BackupLayout.DATABASE, restored.resolve("db")).build(),
        TestContexts.run(work, Phase.EXTRACT));
    assertThat(Trees.differences(home, restored.resolve("home"), rel -> rel.equals("caches")
        || rel.startsWith("caches/") || rel.equals("tmp") || rel.startsWith("tmp/")
        || rel.startsWith("data/a") && !rel.equals("data/a*bc"),
        Trees.Check.MODE, Trees.Check.MTIME)).isEmpty();
    assertThat(restored.resolve("home/caches")).doesNotExist();
    assertThat(restored.resolve("home/tmp")).doesNotExist();
    assertThat(restored.resolve("home/data/a[c")).doesNotExist();
    assertThat(restored.resolve("home/data/a\\c")).doesNotExist();
    assertThat(restored.resolve("home/data/a*bc")).hasContent("kept: the pattern matches one character");
    assertThat(Trees.differences(store, restored.resolve("store"), Trees.Check.MODE, Trees.Check.MTIME)).isEmpty();
    assertThat(Trees.differences(work.resolve(BackupLayout.DATABASE), restored.resolve("db"))).isEmpty();
    assertThat(work.resolve(".bbdiy/restic-view")).as("the view is removed").doesNotExist();
    assertThat(home.resolve("caches/idx/x")).as("the snapshot is left alone").exists();

    // restic alone gives Atlassian's layout, the home's own mode and time included
    Path plain = temp.resolve("plain");
    ResticTool.Run r = ResticTool.run(repo, password, "restore", "latest", "--target", plain.toString());
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(plain.resolve(BackupLayout.MANIFEST)).isRegularFile();
    assertThat(Files.getPosixFilePermissions(plain.resolve(BackupLayout.HOME)))
        .isEqualTo(PosixFilePermissions.fromString("rwxr-x---"));
    assertThat(Files.getLastModifiedTime(plain.resolve(BackupLayout.HOME)).toMillis()).isEqualTo(1_600_000_000_000L);
    assertThat(Trees.differences(store, plain.resolve(STORE))).isEmpty();
    assertThat(plain.resolve(BackupLayout.HOME + "/data/abc")).doesNotExist();
  }

  @Test
  void the_next_backup_finds_its_parent_and_reads_only_what_changed() throws Exception {
    Archiver archiver = ResticTool.archiver(config, work);
    backup(archiver, "20260101-000000");
    Files.writeString(home.resolve("shared/new-file"), "new");

    backup(archiver, "20260102-000000");

    ResticTool.Run r = ResticTool.run(repo, password, "snapshots", "--json");
    assertThat(r.exitCode()).as(r.output()).isZero();
    List<Snapshots.Snapshot> snapshots = Snapshots.parse(new java.io.ByteArrayInputStream(
        r.output().getBytes(java.nio.charset.StandardCharsets.UTF_8))).snapshots();
    assertThat(snapshots).hasSize(2);
    assertThat(r.output()).as("the second snapshot names the first as its parent").contains("\"parent\":\""
        + snapshots.stream().min(java.util.Comparator.comparing(Snapshots.Snapshot::time)).orElseThrow().id());
  }

  @Test
  void an_excluded_name_restic_cannot_express_fails_the_backup_and_stores_nothing() throws Exception {
    Files.writeString(home.resolve("data/a$c"), "excluded, but restic would expand $c");
    Archiver archiver = ResticTool.archiver(config, work);

    assertThatThrownBy(() -> archiver.store(content("20260101-000000"), TestContexts.run(work, Phase.ARCHIVE)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION);
          assertThat(e.getMessage()).contains("a$c").contains("archive.type=tar");
        });
    assertThat(archiver.list()).isEmpty();
  }

  private static void wholeSeconds(Path root) throws IOException {
    try (var s = Files.walk(root)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        if (!Files.isSymbolicLink(p)) {
          Files.setLastModifiedTime(p, FileTime.fromMillis(Files.getLastModifiedTime(p).toMillis() / 1000 * 1000));
        }
      }
    }
  }
}
