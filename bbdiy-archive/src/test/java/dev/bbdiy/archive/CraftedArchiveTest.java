package dev.bbdiy.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.testkit.CraftedTar;
import dev.bbdiy.testkit.TestContexts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Archives made by an attacker (or a damaged disk): every tar entry type, links through links, names twice,
 * names outside the target, entries after the manifest. Whatever the archive holds, a restore writes only inside
 * its targets, never through a link, and {@code verify} and {@code restore} agree: an archive that fails one
 * fails the other.
 */
class CraftedArchiveTest {
  private static final BackupId ID = new BackupId("bitbucket-20260101-000000");

  @TempDir Path temp;
  Path archives;
  Path outside;
  Path secret;
  Path home;
  Path db;
  TarArchiver archiver;

  @BeforeEach
  void setUp() throws IOException {
    archives = Files.createDirectories(temp.resolve("archives"));
    outside = Files.createDirectories(temp.resolve("outside"));
    secret = outside.resolve("secret");
    Files.writeString(secret, "root's secret");
    Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
    home = temp.resolve("restore/home");
    db = temp.resolve("restore/db");
    archiver = new TarArchiver(archives, new TarFormat(Compression.NONE, -1, 1), temp.resolve("work/.bbdiy/tmp"));
  }

  private Throwable restore(CraftedTar tar) throws IOException {
    tar.writeTo(archives.resolve(ID.value() + ".tar"));
    return catchThrowable(() -> archiver.extract(ID, ExtractionPlan.builder()
        .map(BackupLayout.HOME, home).map(BackupLayout.DATABASE, db).build(), TestContexts.run(temp, Phase.EXTRACT)));
  }

  private VerifyResult verify() {
    return archiver.verify(ID, TestContexts.run(temp, Phase.VERIFY));
  }

  /** Restore failed as damaged or malicious, verify agrees, and nothing outside the target changed. */
  private void refusedAndHarmless(Throwable restore) throws IOException {
    assertThat(restore).isInstanceOfSatisfying(BbdiyException.class,
        e -> assertThat(e.code()).as(e.getMessage()).isEqualTo(ErrorCode.VERIFICATION_FAILED));
    assertThat(verify().ok()).as("verify agrees with restore").isFalse();
    outsideUntouched();
  }

  private void outsideUntouched() throws IOException {
    assertThat(Files.readString(secret)).isEqualTo("root's secret");
    assertThat(Files.getAttribute(secret, "unix:nlink")).as("no hard link to the outside file").isEqualTo(1);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(secret))).isEqualTo("rw-------");
    try (Stream<Path> s = Files.list(outside)) {
      assertThat(s.toList()).containsExactly(secret);
    }
  }

  @Test
  void a_hard_link_through_a_symlink_cannot_reach_a_file_outside() throws Exception {
    // The attack as reported: a symlink out of the target, then a hard link "inside" resolved through it,
    // which the ownership step would then have given to Bitbucket's user.
    CraftedTar tar = new CraftedTar().directory("bitbucket-home").symlink("bitbucket-home/evil", outside.toString())
        .hardLink("bitbucket-home/innocent", "bitbucket-home/evil/secret");
    refusedAndHarmless(restore(tar.manifest(ID.value())));
  }

  @Test
  void the_same_attack_without_a_manifest_as_atlassian_archives_have() throws Exception {
    CraftedTar tar = new CraftedTar().directory("./bitbucket-home").symlink("./bitbucket-home/evil",
        outside.toString()).hardLink("./bitbucket-home/innocent", "./bitbucket-home/evil/secret");
    Throwable t = restore(tar);
    assertThat(t).isInstanceOfSatisfying(BbdiyException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED));
    assertThat(verify().problems()).as("verify agrees with restore, beyond the missing manifest").hasSize(2)
        .last().asString().contains("bitbucket-home/innocent", "not a regular file stored before it");
    outsideUntouched();
  }

  @Test
  void without_a_manifest_verify_refuses_an_entry_below_a_symlink_as_restore_does() throws Exception {
    CraftedTar tar = new CraftedTar().directory("./bitbucket-home").symlink("./bitbucket-home/evil",
        outside.toString()).file("./bitbucket-home/evil/planted", "planted");
    assertThat(restore(tar)).isInstanceOf(BbdiyException.class);
    assertThat(verify().problems()).hasSize(2).last().asString()
        .contains("bitbucket-home/evil/planted", "below the symbolic link bitbucket-home/evil");
    outsideUntouched();
  }

  @Test
  void without_a_manifest_a_good_archive_has_no_problem_but_the_missing_manifest() throws Exception {
    CraftedTar tar = new CraftedTar().directory("./bitbucket-home").directory("./bitbucket-home/shared")
        .file("./bitbucket-home/shared/a", "a").symlink("./bitbucket-home/shared/link", "a")
        .hardLink("./bitbucket-home/shared/z", "./bitbucket-home/shared/a");
    assertThat(restore(tar)).isNull();
    assertThat(verify().problems()).containsExactly(BackupReading.NO_MANIFEST);
    assertThat(Files.isSameFile(home.resolve("shared/a"), home.resolve("shared/z"))).isTrue();
  }

  @Test
  void a_file_below_a_symlink_is_not_written_through_it() throws Exception {
    CraftedTar tar = new CraftedTar().directory("bitbucket-home").symlink("bitbucket-home/evil", outside.toString())
        .file("bitbucket-home/evil/planted", "planted");
    refusedAndHarmless(restore(tar.manifest(ID.value())));
  }

  @Test
  void a_directory_below_a_symlink_is_not_created_through_it() throws Exception {
    CraftedTar tar = new CraftedTar().directory("bitbucket-home").symlink("bitbucket-home/evil", outside.toString())
        .directory("bitbucket-home/evil/sub").file("bitbucket-home/evil/sub/planted", "planted");
    refusedAndHarmless(restore(tar.manifest(ID.value())));
  }

  @Test
  void links_through_links_do_not_escape() throws Exception {
    CraftedTar tar = new CraftedTar().directory("bitbucket-home")
        .symlink("bitbucket-home/a", "b").symlink("bitbucket-home/b", outside.toString())
        .file("bitbucket-home/a/planted", "planted");
    refusedAndHarmless(restore(tar.manifest(ID.value())));
  }

  @Test
  void a_symlinked_home_is_refused_and_not_left_in_the_target() throws Exception {
    CraftedTar tar = new CraftedTar().symlink("bitbucket-home", outside.toString())
        .file("bitbucket-home/planted", "planted");
    refusedAndHarmless(restore(tar.manifest(ID.value())));
    assertThat(Files.isSymbolicLink(home)).isFalse();
  }

  @Test
  void absolute_and_parent_names_are_refused() throws Exception {
    for (String name : List.of(outside.resolve("planted").toString(), "bitbucket-home/../../planted",
        "../planted")) {
      CraftedTar tar = new CraftedTar().directory("bitbucket-home").file(name, "planted");
      Throwable t = restore(tar.manifest(ID.value()));
      assertThat(t).as(name).isInstanceOfSatisfying(BbdiyException.class,
          e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED));
      outsideUntouched();
      assertThat(temp.resolve("planted")).doesNotExist();
      clean();
    }
  }

  @Test
  void a_hard_link_to_an_absolute_or_outside_path_is_refused() throws Exception {
    for (String existing : List.of(secret.toString(), "bitbucket-home/../../outside/secret")) {
      CraftedTar tar = new CraftedTar().directory("bitbucket-home").hardLink("bitbucket-home/x", existing);
      refusedAndHarmless(restore(tar.manifest(ID.value())));
      clean();
    }
  }

  @Test
  void a_hard_link_to_a_later_or_missing_file_is_refused() throws Exception {
    CraftedTar tar = new CraftedTar().directory("bitbucket-home").hardLink("bitbucket-home/a", "bitbucket-home/b")
        .file("bitbucket-home/b", "content");
    refusedAndHarmless(restore(tar.manifest(ID.value())));
  }

  @Test
  void a_name_stored_twice_is_a_damaged_archive_not_a_refusal() throws Exception {
    CraftedTar tar = new CraftedTar().directory("bitbucket-home").file("bitbucket-home/a", "first")
        .file("bitbucket-home/a", "second");
    refusedAndHarmless(restore(tar.manifest(ID.value())));
  }

  @Test
  void entries_after_the_manifest_fail_verification_and_restore() throws Exception {
    CraftedTar tar = new CraftedTar().directory("bitbucket-home").file("bitbucket-home/a", "a");
    tar.manifest(ID.value()).file("bitbucket-home/z", "smuggled");
    refusedAndHarmless(restore(tar));
  }

  @Test
  void entries_the_manifest_does_not_list_are_refused() throws Exception {
    CraftedTar listed = new CraftedTar().directory("bitbucket-home").file("bitbucket-home/a", "a");
    String manifest = listed.manifestJson(ID.value());
    CraftedTar tar = new CraftedTar().directory("bitbucket-home").file("bitbucket-home/a", "a")
        .file("bitbucket-home/extra", "not listed").manifestText(manifest);
    refusedAndHarmless(restore(tar)); // the engine then removes what was extracted (BackupEngineTest)
  }

  @Test
  void devices_and_pipes_are_never_created() throws Exception {
    CraftedTar tar = new CraftedTar().directory("./bitbucket-home").raw("./bitbucket-home/fifo", '6', new byte[0])
        .raw("./bitbucket-home/tty", '3', new byte[0]).file("./bitbucket-home/ok", "ok");
    Throwable t = restore(tar);
    assertThat(t).isNull();
    assertThat(home.resolve("fifo")).doesNotExist();
    assertThat(home.resolve("tty")).doesNotExist();
    assertThat(home.resolve("ok")).hasContent("ok");
  }

  @Test
  void a_sparse_file_is_not_restored_wrong() throws Exception {
    CraftedTar tar = new CraftedTar().directory("./bitbucket-home")
        .raw("./bitbucket-home/sparse", 'S', "data".getBytes(StandardCharsets.UTF_8));
    Throwable t = restore(tar);
    assertThat(t).isInstanceOfSatisfying(BbdiyException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED));
  }

  @Test
  void a_file_that_is_not_an_archive_is_not_restored_as_nothing() throws Exception {
    for (byte[] content : List.of(new byte[0], "this is text, not a tar archive\n".getBytes(StandardCharsets.UTF_8),
        new CraftedTar().build())) {
      Files.write(archives.resolve(ID.value() + ".tar"), content);
      Throwable t = catchThrowable(() -> archiver.extract(ID, ExtractionPlan.builder()
          .map(BackupLayout.HOME, home).build(), TestContexts.run(temp, Phase.EXTRACT)));
      assertThat(t).isInstanceOfSatisfying(BbdiyException.class,
          e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFICATION_FAILED));
      clean();
    }
  }

  @Test
  void a_good_crafted_archive_restores_so_the_suite_tests_something() throws Exception {
    CraftedTar tar = new CraftedTar().directory("bitbucket-home").directory("bitbucket-home/shared")
        .file("bitbucket-home/shared/a", "a").symlink("bitbucket-home/shared/link", "a")
        .hardLink("bitbucket-home/shared/z", "bitbucket-home/shared/a");
    assertThat(restore(tar.manifest(ID.value()))).isNull();
    assertThat(verify().problems()).isEmpty();
    assertThat(home.resolve("shared/a")).hasContent("a");
    assertThat(Files.readSymbolicLink(home.resolve("shared/link"))).isEqualTo(Path.of("a"));
    assertThat(Files.isSameFile(home.resolve("shared/a"), home.resolve("shared/z"))).isTrue();
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void random_damage_is_reported_never_followed() throws Exception {
    // A real archive (long names, names that are not UTF-8, links, a manifest), damaged at random: every read
    // either succeeds or fails with bbdiy's error, and nothing is ever written outside the target.
    CraftedTar good = new CraftedTar().directory("bitbucket-home").directory("bitbucket-home/d")
        .file("bitbucket-home/d/a", "a".repeat(700)).symlink("bitbucket-home/d/l", "a")
        .hardLink("bitbucket-home/d/h", "bitbucket-home/d/a")
        .gnuLongFile(CraftedTar.name("bitbucket-home/d/", "n".repeat(150), 0xff), new byte[1300])
        .paxFile(CraftedTar.name("bitbucket-home/d/p-", 0xfe), "pax".getBytes(StandardCharsets.UTF_8));
    byte[] bytes = good.manifest(ID.value()).build();
    java.util.Random random = new java.util.Random(42);
    for (int i = 0; i < 400; i++) {
      byte[] damaged = bytes.clone();
      if (i % 4 == 0) {
        damaged = java.util.Arrays.copyOf(damaged, random.nextInt(damaged.length));
      } else {
        for (int k = 0; k <= i % 3; k++) {
          damaged[random.nextInt(damaged.length)] = (byte) random.nextInt(256);
        }
      }
      Files.write(archives.resolve(ID.value() + ".tar"), damaged);
      Throwable t = catchThrowable(() -> archiver.extract(ID, ExtractionPlan.builder()
          .map(BackupLayout.HOME, home).build(), TestContexts.run(temp, Phase.EXTRACT)));
      if (t != null) {
        assertThat(t).as("damage %d", i).isInstanceOf(BbdiyException.class);
      }
      Throwable v = catchThrowable(this::verify);
      if (v != null) {
        assertThat(v).as("verify of damage %d", i).isInstanceOf(BbdiyException.class);
      }
      outsideUntouched();
      clean();
    }
  }

  private void clean() throws IOException {
    for (Path p : List.of(home, db)) {
      if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
        try (Stream<Path> s = Files.walk(p)) {
          for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
            Files.delete(q);
          }
        }
      }
    }
  }
}
