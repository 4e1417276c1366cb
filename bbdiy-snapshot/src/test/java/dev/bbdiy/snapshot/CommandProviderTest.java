package dev.bbdiy.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.RestoreResult;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.core.RestoreRequest;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.simulator.Trees;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import dev.bbdiy.testkit.TestContexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The command providers: real commands, and a real btrfs snapshot made by examples/command/btrfs-snapshot.sh. */
class CommandProviderTest {
  private static final Path RECIPE = Path.of("../examples/command/btrfs-snapshot.sh").toAbsolutePath().normalize();

  @RegisterExtension final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create();
  @TempDir Path temp;

  private HomeSnapshotter home(Map<String, String> config) throws Exception {
    Path h = Files.createDirectories(temp.resolve("home"));
    CommandHomeProvider p = new CommandHomeProvider();
    return p.create(TestContexts.providerContext(p, config, BitbucketInstance.of("bitbucket", h),
        temp.resolve("work")));
  }

  private TestContexts.TestRunContext ctx() throws Exception {
    return TestContexts.run(Files.createDirectories(temp.resolve("work")), Phase.PREFLIGHT);
  }

  @Test
  void are_registered_with_the_service_loader() {
    ProviderRegistry r = ProviderRegistry.load();
    assertThat(r.home("command")).isInstanceOf(CommandHomeProvider.class);
    assertThat(r.database("command-database")).isInstanceOf(CommandDatabaseProvider.class);
  }

  @Test
  void backs_up_and_restores_through_the_engine_with_the_btrfs_recipe_and_a_database_command() throws Exception {
    try (LoopBtrfs fs = LoopBtrfs.create(300)) {
      Path h = fs.subvolume("bitbucket/home");
      BitbucketHomes.generate(h, BitbucketHomes.spec().repositories(2).useGit(false));
      Path restoredDbs = Files.createDirectories(temp.resolve("databases"));
      Map<String, String> config = new HashMap<>();
      config.put("tar.dir", temp.resolve("archives").toString());
      for (String phase : List.of("preflight", "capture", "complete", "release", "abort", "delete")) {
        config.put("command." + phase, RECIPE.toString());
      }
      config.put("command-database.capture", "mkdir -p \"$BBDIY_WORK_DIR/bitbucket-db\""
          + " && echo \"dump of $BBDIY_INSTANCE at $BBDIY_BACKUP_ID\" > \"$BBDIY_WORK_DIR/bitbucket-db/dump.sql\""
          + " && echo id dump=dump.sql >> \"$BBDIY_ARTIFACT_FILE\"");
      config.put("command-database.restore", "grep -q '^id dump=dump.sql$' \"$BBDIY_ARTIFACT_FILE\""
          + " && cp -r \"$BBDIY_RESTORE_SOURCE\" \"" + restoredDbs + "/$BBDIY_TARGET_DATABASE\"");
      BackupEngine.Builder engine = BackupEngine.builder()
          .instance(BitbucketInstance.of("bitbucket", h))
          .workDir(temp.resolve("work"))
          .bitbucket(MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
              .pollInterval(Duration.ofMillis(20)).build())
          .home(new CommandHomeProvider())
          .database(new CommandDatabaseProvider())
          .archiver(new TarArchiverProvider())
          .configuration(config);

      BackupResult result = engine.build().backup();

      assertThat(fs.subvolumes()).as("the recipe's release deleted its snapshot").containsExactly("bitbucket/home");
      Artifact homeArtifact = result.summary().artifact(Artifact.Kind.HOME).orElseThrow();
      assertThat(homeArtifact.property("id.snapshot")).endsWith(result.stored().id().value() + ".home");
      assertThat(temp.resolve("work/bitbucket-home")).isEmptyDirectory();
      Path target = temp.resolve("restored");
      RestoreResult restored = engine.build().restore(RestoreRequest.builder(result.stored().id())
          .targetHome(target).targetDatabase("bitbucket_restored").build());
      assertThat(restored.verified()).isTrue();
      assertThat(Trees.differences(h, target, rel -> rel.matches("(caches|log|tmp|export|search/data"
          + "|shared/search/data|shared/export|plugins/\\..*)(/.*)?|\\.lock|shared/\\.lock|data/db\\..*"
          + "|shared/data/db\\..*"), Trees.Check.MODE, Trees.Check.MTIME)).isEmpty();
      assertThat(restoredDbs.resolve("bitbucket_restored/dump.sql"))
          .hasContent("dump of bitbucket at " + result.stored().id().value());
    }
  }

  @Test
  void passes_the_documented_environment_and_keeps_the_secret_off_the_command_line() throws Exception {
    Path out = temp.resolve("env.txt");
    Path args = temp.resolve("args.txt");
    HomeSnapshotter s = home(Map.of("command.secret", "s3cret-value",
        "command.capture", "env | grep ^BBDIY_ | sort > " + out + "; tr '\\0' ' ' < /proc/$$/cmdline > " + args
            + "; mkdir -p \"$BBDIY_WORK_DIR/bitbucket-home\"; echo data > \"$BBDIY_WORK_DIR/bitbucket-home/f\""));
    TestContexts.TestRunContext ctx = ctx();
    s.preflight(ctx);
    s.prepare(ctx);
    Artifact a = s.complete(ctx.in(Phase.COMPLETE), s.capture(ctx.in(Phase.CAPTURE)));

    String env = Files.readString(out);
    assertThat(env).contains("BBDIY_BACKUP_ID=" + ctx.backupId().value(), "BBDIY_PHASE=capture",
        "BBDIY_INSTANCE=bitbucket", "BBDIY_HOME=" + temp.resolve("home"), "BBDIY_KIND=home",
        "BBDIY_WORK_DIR=" + temp.resolve("work"), "BBDIY_ARTIFACT_FILE=", "BBDIY_STATE_DIR=",
        "BBDIY_SECRET=s3cret-value");
    assertThat(Files.readString(args)).doesNotContain("s3cret");
    assertThat(a.paths()).containsExactly(BackupLayout.HOME);
    assertThat(a.properties().toString()).doesNotContain("s3cret");
  }

  @Test
  void a_capture_that_hangs_is_stopped_at_its_timeout() throws Exception {
    HomeSnapshotter s = home(Map.of("command.capture", "sleep 60", "command.capture-timeout", "1s"));
    TestContexts.TestRunContext ctx = ctx();
    s.preflight(ctx);
    Instant start = Instant.now();

    assertThatThrownBy(() -> s.capture(ctx.in(Phase.CAPTURE)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED))
        .hasMessageContaining("did not finish within 1s")
        .hasMessageContaining("command.capture-timeout");
    assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(20));
  }

  @Test
  void exit_codes_mean_what_the_documentation_says() throws Exception {
    HomeSnapshotter conf = home(Map.of("command.preflight", "echo 'no array configured' >&2; exit 2",
        "command.capture", "true"));
    assertThatThrownBy(() -> conf.preflight(ctx()))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("no array configured");

    HomeSnapshotter busy = home(Map.of("command.capture", "exit 75"));
    assertThatThrownBy(() -> busy.capture(ctx().in(Phase.CAPTURE)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.retryable()).isTrue());

    HomeSnapshotter broken = home(Map.of("command.capture", "exit 1"));
    assertThatThrownBy(() -> broken.capture(ctx().in(Phase.CAPTURE)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED);
          assertThat(e.retryable()).isFalse();
        });

    assertThatThrownBy(() -> home(Map.of()).preflight(ctx())).hasMessageContaining("command.capture");
  }

  @Test
  void refuses_an_exposed_path_that_is_a_symbolic_link_or_not_part_of_the_backup() throws Exception {
    Path real = Files.createDirectories(temp.resolve("real"));
    Path link = Files.createSymbolicLink(temp.resolve("link"), real);
    HomeSnapshotter viaLink = home(Map.of("command.capture",
        "echo \"expose bitbucket-home " + link + "\" >> \"$BBDIY_ARTIFACT_FILE\""));
    TestContexts.TestRunContext c1 = ctx();
    CaptureHandle h1 = viaLink.capture(c1.in(Phase.CAPTURE));
    assertThatThrownBy(() -> viaLink.complete(c1.in(Phase.COMPLETE), h1)).hasMessageContaining("symbolic links");

    HomeSnapshotter elsewhere = home(Map.of("command.capture",
        "echo \"expose bitbucket-db " + real + "\" >> \"$BBDIY_ARTIFACT_FILE\""));
    TestContexts.TestRunContext c2 = ctx();
    CaptureHandle h2 = elsewhere.capture(c2.in(Phase.CAPTURE));
    assertThatThrownBy(() -> elsewhere.complete(c2.in(Phase.COMPLETE), h2)).hasMessageContaining("not part of");
  }

  @Test
  void abort_runs_for_this_run_and_the_next_backup_runs_it_for_what_a_killed_run_left() throws Exception {
    Path log = temp.resolve("abort.log");
    Map<String, String> config = Map.of(
        "command.capture", "echo id lun=lun-$BBDIY_BACKUP_ID >> \"$BBDIY_ARTIFACT_FILE\"",
        "command.abort", "echo \"$BBDIY_BACKUP_ID $(cat \"$BBDIY_ARTIFACT_FILE\")\" >> " + log);
    HomeSnapshotter s = home(config);
    TestContexts.TestRunContext ctx = ctx();
    CaptureHandle h = s.capture(ctx.in(Phase.CAPTURE));
    s.abort(ctx.in(Phase.COMPLETE), h);
    assertThat(Files.readString(log)).contains(ctx.backupId().value() + " id lun=lun-" + ctx.backupId().value());

    // A killed run: its artifact file stays, written by a process that is gone.
    Path state = temp.resolve("work/.bbdiy/providers/command");
    Files.writeString(state.resolve("bitbucket-20250101-000000.pid-999999999.artifact"),
        "id lun=lun-killed\n");
    HomeSnapshotter next = home(config);
    next.prepare(ctx().in(Phase.PREPARE));

    assertThat(Files.readString(log)).contains("bitbucket-20250101-000000 id lun=lun-killed");
    assertThat(state.resolve("bitbucket-20250101-000000.pid-999999999.artifact")).doesNotExist();
  }
}
