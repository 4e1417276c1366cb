package dev.bbdiy.rsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.testkit.TestContexts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * File names are bytes: the working copy rsync makes holds every name byte for byte, also names that are not
 * UTF-8 and files rewritten racily between the live and the locked pass, whatever the JVM's locale.
 */
class RsyncFileNameTest {
  @TempDir Path temp;
  Path home;
  Path data;
  Path store;
  Path work;

  @BeforeEach
  void trees() throws Exception {
    home = temp.resolve("home");
    data = Files.createDirectories(home.resolve("shared/data"));
    store = Files.createDirectories(temp.resolve("store"));
    work = temp.resolve("work");
    OddNames.populate(data);
    OddNames.populate(store);
  }

  @Test
  void names_that_are_not_utf8_round_trip_through_both_passes() {
    RsyncProvider p = new RsyncProvider();
    HomeSnapshotter s = p.create(TestContexts.providerContext(p, Map.of(),
        new BitbucketInstance("bitbucket", InstanceType.BITBUCKET, home, List.of(store), List.of(), -1, -1), work));
    TestContexts.TestRunContext ctx = TestContexts.run(work, Phase.PREFLIGHT);
    s.preflight(ctx);
    s.prepare(ctx.in(Phase.PREPARE));
    assertThat(OddNames.differences(data, work.resolve(BackupLayout.HOME).resolve("shared/data")))
        .as("the live pass").isEmpty();
    assertThat(OddNames.differences(store, work.resolve(BackupLayout.dataStore(store)))).as("the live pass")
        .isEmpty();
    OddNames.changeBetweenPasses(data);
    OddNames.changeBetweenPasses(store);
    CaptureHandle h = s.capture(ctx.in(Phase.CAPTURE));
    s.complete(ctx.in(Phase.COMPLETE), h);
    h.close();

    assertSameTrees();
  }

  @Test
  void names_round_trip_in_a_jvm_started_without_a_locale() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx128m", "-cp", System.getProperty("java.class.path"),
        NoLocaleBackup.class.getName(), home.toString(), store.toString(), work.toString())
        .redirectErrorStream(true);
    String path = pb.environment().get("PATH");
    pb.environment().clear();
    pb.environment().put("PATH", path);
    Process child = pb.start();
    String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();

    assertThat(child.exitValue()).as(out).isZero();
    assertThat(out).contains("jnu=ANSI_X3.4-1968");
    assertSameTrees();
  }

  @Test
  void a_path_the_locale_cannot_express_is_refused_rather_than_passed_to_rsync_as_another() throws Exception {
    Path odd;
    try (var dirs = Files.newDirectoryStream(data, "dir-*")) {
      odd = dirs.iterator().next(); // dir-\xff, as the file system names it
    }

    assertThat(RsyncSnapshotter.rawName(odd)).endsWith('d', 'i', 'r', '-', 0xff);
    assertThat(RsyncSnapshotter.rawName(data)).isEqualTo(data.toString().getBytes(StandardCharsets.UTF_8));
    assertThat(RsyncSnapshotter.argument(data)).isEqualTo(data.toString());
    assertThatThrownBy(() -> RsyncSnapshotter.argument(odd))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("LANG=C.UTF-8");
  }

  private void assertSameTrees() {
    Path homeCopy = work.resolve(BackupLayout.HOME).resolve("shared/data");
    Path storeCopy = work.resolve(BackupLayout.dataStore(store));
    assertThat(OddNames.differences(data, homeCopy)).as("home").isEmpty();
    assertThat(OddNames.differences(store, storeCopy)).as("data store").isEmpty();
    // Two names Java decodes to the same String, both there; the deleted one gone.
    assertThat(OddNames.list(homeCopy)).isEqualTo(OddNames.list(data))
        .contains(OddNames.listed("x-", 0xff, ".txt"), OddNames.listed("x-", 0xfe, ".txt"),
            OddNames.listed("y-", 0xfd, ".txt"), OddNames.listed("new", '\n', "line.txt"))
        .doesNotContain(OddNames.listed("gone-", 0xfc, ".txt"));
  }
}
