package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.MaintenanceLock;
import dev.bbdiy.core.internal.JsonObject;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import dev.bbdiy.simulator.FakeBitbucketServer.Endpoint;
import dev.bbdiy.simulator.FakeBitbucketServer.Fault;
import dev.bbdiy.simulator.Trees;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import mockwebserver3.junit5.StartStop;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Every command and exit code through {@link Main#run}, against the simulator. */
class MainTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  @TempDir Path temp;

  final Map<String, String> env = new HashMap<>();
  Path config;

  record Run(int code, String out, String err) {
    String all() {
      return out + err;
    }
  }

  Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), env, false, args);
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** Runs a command with the test's configuration file. */
  Run bbdiy(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--config");
    all.add(config.toString());
    return run(all.toArray(new String[0]));
  }

  @BeforeEach
  void configure() throws Exception {
    BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(2).useGit(false));
    config = temp.resolve("bbdiy.properties");
    Files.writeString(config, String.join("\n",
        "bitbucket.url=" + bitbucket.url(),
        "bitbucket.user=admin",
        "bitbucket.password.file=" + secret("admin"),
        "instance.home=" + temp.resolve("home"),
        "work.dir=" + temp.resolve("work"),
        "tar.dir=" + temp.resolve("archives"),
        ""));
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
  }

  private Path secret(String value) throws Exception {
    Path f = temp.resolve("secret-" + value.hashCode());
    Files.writeString(f, value + "\n");
    return f;
  }

  void append(String... lines) throws Exception {
    Files.writeString(config, Files.readString(config) + String.join("\n", lines) + "\n");
  }

  @Test
  void version_and_help() {
    Run v = run("--version");
    assertThat(v.code()).isZero();
    assertThat(v.out()).contains("bbdiy ");
    Run h = run("--help");
    assertThat(h.code()).isZero();
    assertThat(h.out()).contains("backup", "restore", "unlock", "demo", "Exit codes");
    assertThat(run().code()).isEqualTo(2);
    assertThat(run("no-such-command").code()).isEqualTo(2);
  }

  @Test
  void providers_lists_every_provider_and_key() {
    Run r = run("providers");

    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("copy", "rsync", "postgresql", "tar", "bitbucket.url", "postgresql.password",
        "tar.compression");
    Run json = run("providers", "--json");
    JsonObject parsed = JsonObject.parse(json.out(), "providers");
    assertThat(parsed.array("home")).isNotEmpty();
  }

  @Test
  void backup_list_verify_restore_through_the_command_line() throws Exception {
    Run backup = bbdiy("backup");
    assertThat(backup.code()).as(backup.all()).isZero();
    assertThat(backup.out()).doesNotContain("[" + bitbucket.url()).contains("complete and verified", "Bitbucket locked for");
    assertThat(bitbucket.server().isLocked()).isFalse();

    Run list = bbdiy("list");
    assertThat(list.code()).isZero();
    assertThat(list.out()).contains("bitbucket-", "tar.zst");

    Run verify = bbdiy("verify", "latest");
    assertThat(verify.code()).as(verify.all()).isZero();
    assertThat(verify.out()).contains("intact");

    Run noId = bbdiy("restore");
    assertThat(noId.code()).isEqualTo(2);
    assertThat(noId.out()).contains("bitbucket-");

    Path target = temp.resolve("restored");
    Run restore = bbdiy("restore", "latest", "--target-home", target.toString());
    assertThat(restore.code()).as(restore.all()).isZero();
    assertThat(Trees.differences(temp.resolve("work/bitbucket-home"), target)).isEmpty();

    Run again = bbdiy("restore", "latest", "--target-home", target.toString());
    assertThat(again.code()).as("a non-empty target is refused").isEqualTo(8);
    assertThat(again.err()).contains("not empty");
  }

  @Test
  void json_output_is_one_document_with_the_lock_window() {
    Run r = bbdiy("backup", "--json", "--quiet");

    assertThat(r.code()).as(r.all()).isZero();
    JsonObject json = JsonObject.parse(r.out(), "backup --json");
    assertThat(json.object("summary").string("id")).startsWith("bitbucket-");
    assertThat(json.object("stored").string("location")).endsWith(".tar.zst");
    assertThat(json.optString("lockWindow")).isPresent();
    assertThat(Double.parseDouble(json.optString("lockWindow").orElseThrow())).isPositive();
    assertThat(json.object("verification").optString("ok")).contains("true");
    assertThat(json.object("phases").has("CAPTURE")).isTrue();

    Run failing = run("verify", "bitbucket-20000101-000000", "--json", "--config", config.toString());
    assertThat(failing.code()).isEqualTo(9);
    JsonObject error = JsonObject.parse(failing.out(), "error").object("error");
    assertThat(error.string("code")).isEqualTo("NOT_FOUND");
    assertThat(error.optInt("exitCode")).contains(9);
  }

  @Nested
  class ExitCodes {
    @Test
    void configuration_errors_name_the_key() throws Exception {
      append("bitbucket.drain-timeot=5m");
      Run r = bbdiy("check");
      assertThat(r.code()).isEqualTo(2);
      assertThat(r.err()).contains("bitbucket.drain-timeot");

      Run bad = run("check", "--config", config.toString(), "--set", "bitbucket.drain-timeot=", "--set",
          "retention.keep=many");
      assertThat(bad.code()).isEqualTo(2);
    }

    @Test
    void unknown_group_lists_the_known_ones() {
      Run r = run("check", "--config", config.toString(), "--set", "rsnyc.binary=x");
      assertThat(r.code()).isEqualTo(2);
      assertThat(r.err()).contains("rsnyc.binary", "rsync");
    }

    @Test
    void wrong_credentials_are_3() throws Exception {
      Run r = run("check", "--config", config.toString(), "--set",
          "bitbucket.password.file=" + secret("Wrong-Pa55word"));
      assertThat(r.code()).isEqualTo(3);
      assertThat(r.all()).doesNotContain("Wrong-Pa55word");
    }

    @Test
    void already_locked_is_3_and_the_lock_is_left_alone() {
      bitbucket.server().lockAs("Someone Else");
      Run r = bbdiy("backup");
      assertThat(r.code()).isEqualTo(3);
      assertThat(r.err()).contains("already locked");
      bitbucket.server().forceUnlock();
    }

    @Test
    void drain_timeout_is_4() {
      bitbucket.server().drainNever();
      Run r = run("backup", "--config", config.toString(), "--set", "bitbucket.drain-timeout=300ms");
      assertThat(r.code()).isEqualTo(4);
      assertThat(bitbucket.server().isLocked()).isFalse();
    }

    @Test
    void provider_failure_is_5() {
      Run r = run("backup", "--config", config.toString(), "--set", "home.type=scripted-home", "--set",
          "scripted-home.fail-in=capture");
      assertThat(r.code()).isEqualTo(5);
      assertThat(bitbucket.server().isLocked()).isFalse();
    }

    @Test
    void a_damaged_archive_fails_verify_with_6() throws Exception {
      assertThat(bbdiy("backup").code()).isZero();
      Path archive;
      try (var s = Files.list(temp.resolve("archives"))) {
        archive = s.filter(p -> p.toString().endsWith(".tar.zst")).findFirst().orElseThrow();
      }
      byte[] b = Files.readAllBytes(archive);
      b[b.length / 2] ^= 0x55;
      Files.write(archive, b);

      Run r = bbdiy("verify", "latest");
      assertThat(r.code()).isEqualTo(6);
      assertThat(r.err()).contains("FAILED verification");
    }

    @Test
    void left_locked_is_7_with_the_command_that_unlocks() {
      bitbucket.server().failNext(Endpoint.UNLOCK, 10_000, Fault.status(500));
      Run r = run("backup", "--config", config.toString(), "--set", "bitbucket.unlock-retry=1s");
      assertThat(r.code()).isEqualTo(7);
      assertThat(r.err()).contains("-X DELETE", "X-Atlassian-Maintenance-Token: ", "bbdiy unlock --recover");
      bitbucket.allowLockedAtEnd();
    }

    @Test
    void the_watchdog_interruption_is_130() {
      Run r = run("backup", "--config", config.toString(), "--set", "home.type=scripted-home", "--set",
          "scripted-home.hang-in=capture", "--set", "bitbucket.max-lock-window=400ms");
      assertThat(r.code()).isEqualTo(130);
      assertThat(bitbucket.server().isLocked()).isFalse();
    }
  }

  @Test
  void unlock_status_and_cancel() throws Exception {
    String token = bitbucket.server().lockAs("admin");
    Run status = bbdiy("status");
    assertThat(status.code()).isZero();
    assertThat(status.out()).contains("MAINTENANCE");

    Run unlock = bbdiy("unlock", "--token", token);
    assertThat(unlock.code()).as(unlock.all()).isZero();
    assertThat(bitbucket.server().isLocked()).isFalse();

    MaintenanceClient client = MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
        .build();
    bitbucket.server().drainNever();
    MaintenanceLock lock = client.lock();
    var task = client.startExternalBackup(lock);
    Run cancel = bbdiy("cancel", "--token", task.cancelToken());
    assertThat(cancel.code()).isZero();
    assertThat(bitbucket.server().taskState()).contains("CANCELED");
    assertThat(bbdiy("unlock").code()).as("either --token or --recover").isEqualTo(2);
    client.unlock(lock);
  }

  @Test
  void unlock_recover_releases_what_a_killed_run_left() throws Exception {
    MaintenanceClient client = MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
        .build();
    MaintenanceLock orphan = client.lock();
    new dev.bbdiy.core.internal.LockStateFile(temp.resolve("work/.bbdiy")).locked(client.baseUrl(),
        "bitbucket-20200101-000000", orphan.unlockToken());

    Run status = bbdiy("status");
    assertThat(status.out()).contains("unlock --recover").doesNotContain(orphan.unlockToken());
    Run r = bbdiy("unlock", "--recover");

    assertThat(r.code()).as(r.all()).isZero();
    assertThat(r.out()).contains("Released");
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void retention_through_prune() throws Exception {
    assertThat(bbdiy("backup").code()).isZero();
    Thread.sleep(1100); // backup ids have one-second resolution
    assertThat(bbdiy("backup").code()).isZero();

    Run prune = run("prune", "--config", config.toString(), "--set", "retention.keep=1");

    assertThat(prune.code()).as(prune.all()).isZero();
    assertThat(prune.out()).contains("Deleted 1");
    assertThat(bbdiy("list").out().lines().filter(l -> l.startsWith("bitbucket-")).count()).isEqualTo(1);
  }

  @Nested
  class Configuration {
    @Test
    void environment_overrides_the_file() {
      env.put("BBDIY_BITBUCKET_URL", "http://127.0.0.1:1");
      Run r = bbdiy("check");
      assertThat(r.code()).isEqualTo(3);
      assertThat(r.err()).contains("127.0.0.1:1");
    }

    @Test
    void a_readable_file_with_a_password_is_warned_about() throws Exception {
      append("bitbucket.password=admin");
      Files.writeString(config, Files.readString(config).replaceAll("(?m)^bitbucket.password.file=.*\n", ""));
      Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));

      Run r = bbdiy("check");

      assertThat(r.code()).as(r.all()).isZero();
      assertThat(r.out()).contains("chmod 600");
    }

    @Test
    void both_password_and_password_file_is_an_error() throws Exception {
      append("bitbucket.password=admin");
      Run r = bbdiy("check");
      assertThat(r.code()).isEqualTo(2);
      assertThat(r.err()).contains("keep only one");
    }
  }

  @Nested
  class VarsFiles {
    Path vars;

    @BeforeEach
    void atlassianVarsFile() throws Exception {
      vars = temp.resolve("bitbucket.diy-backup.vars.sh");
      Files.writeString(vars, String.join("\n",
          "# Atlassian's example layout: case and if blocks, arrays, command substitutions",
          "INSTANCE_NAME=bitbucket",
          "BITBUCKET_URL=" + bitbucket.url(),
          "BITBUCKET_BACKUP_USER=admin",
          "BITBUCKET_BACKUP_PASS=admin",
          "BITBUCKET_HOME=" + temp.resolve("home"),
          "BITBUCKET_UID=" + "$(id -un)",
          "BITBUCKET_GID=" + "$(id -gn)",
          "BITBUCKET_DATA_STORES=()",
          "BITBUCKET_BACKUP_EXCLUDE_REPOS=(2)",
          "BACKUP_DISK_TYPE=rsync",
          "BACKUP_DATABASE_TYPE=none",
          "BACKUP_ARCHIVE_TYPE=tar",
          "BACKUP_ZERO_DOWNTIME=false",
          "BITBUCKET_BACKUP_ROOT=" + temp.resolve("work"),
          "BITBUCKET_BACKUP_ARCHIVE_ROOT=" + temp.resolve("archives"),
          "KEEP_BACKUPS=5",
          "case ${BACKUP_DISK_TYPE} in",
          "  rsync) BITBUCKET_VERBOSE_BACKUP=false ;;",
          "  *) BITBUCKET_VERBOSE_BACKUP=true ;;",
          "esac",
          "if [ \"${BACKUP_DATABASE_TYPE}\" = \"postgresql\" ]; then",
          "  BITBUCKET_DB=bitbucket",
          "fi",
          "HIPCHAT_URL=https://api.hipchat.com",
          "HIPCHAT_ROOM=backups",
          "STANDBY_HOME=/var/standby",
          ""));
    }

    @Test
    void a_migrating_admin_backs_up_with_the_file_they_have() throws Exception {
      Run r = run("backup", "--vars-file", vars.toString());

      assertThat(r.code()).as(r.all()).isZero();
      assertThat(r.out()).contains("HipChat no longer exists", "STANDBY_HOME");
      Path archive;
      try (var s = Files.list(temp.resolve("archives"))) {
        archive = s.filter(p -> p.toString().endsWith(".tar.gz")).findFirst().orElseThrow();
      }
      // What Atlassian's restore script does with it: tar -xzf into a directory.
      Path extracted = Files.createDirectories(temp.resolve("atlassian-restore"));
      Process tar = new ProcessBuilder("tar", "-xzf", archive.toString(), "-C", extracted.toString())
          .redirectErrorStream(true).start();
      String out = new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(tar.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(tar.exitValue()).as(out).isZero();
      assertThat(extracted.resolve("bitbucket-home/shared/bitbucket.properties")).exists();
      assertThat(extracted.resolve("bitbucket-home/shared/data/repositories/2")).as("excluded repository")
          .doesNotExist();
    }

    @Test
    void unsupported_strategies_are_refused_before_anything_happens() throws Exception {
      Files.writeString(vars, Files.readString(vars).replace("BACKUP_DISK_TYPE=rsync", "BACKUP_DISK_TYPE=zfs"));
      Run r = run("backup", "--vars-file", vars.toString());
      assertThat(r.code()).isEqualTo(2);
      assertThat(r.err()).as("zfs's preflight, without the zfs tool on this machine").contains("zfs needs zfs");
      assertThat(bitbucket.server().calls(Endpoint.LOCK)).isZero();
    }

    @Test
    void a_broken_vars_file_is_a_configuration_error() throws Exception {
      Files.writeString(vars, "if then fi (\n");
      Run r = run("check", "--vars-file", vars.toString());
      assertThat(r.code()).isEqualTo(2);
      assertThat(r.err()).contains("bash could not source");
    }
  }

  @Nested
  class Reporting {
    @StartStop final MockWebServer hook = new MockWebServer();

    @Test
    void webhook_and_metrics_after_success_and_failure() throws Exception {
      hook.enqueue(new MockResponse.Builder().code(200).build());
      hook.enqueue(new MockResponse.Builder().code(200).build());
      Path metrics = temp.resolve("metrics/bbdiy.prom");
      append("notify.webhook=" + hook.url("/hook"), "metrics.file=" + metrics);

      assertThat(bbdiy("backup").code()).isZero();
      RecordedRequest ok = hook.takeRequest(5, TimeUnit.SECONDS);
      assertThat(ok.getBody().utf8()).contains("\"text\"", "complete and verified", "\"status\": \"success\"");
      String prom = Files.readString(metrics);
      assertThat(prom).contains("bbdiy_last_success_timestamp_seconds{instance=\"bitbucket\"}",
          "bbdiy_last_lock_window_seconds", "bbdiy_last_run_success{instance=\"bitbucket\"} 1");

      bitbucket.server().drainNever();
      assertThat(run("backup", "--config", config.toString(), "--set", "bitbucket.drain-timeout=200ms").code())
          .isEqualTo(4);
      RecordedRequest failed = hook.takeRequest(5, TimeUnit.SECONDS);
      assertThat(failed.getBody().utf8()).contains("FAILED", "DRAIN_TIMEOUT");
      String after = Files.readString(metrics);
      assertThat(after).contains("bbdiy_last_run_success{instance=\"bitbucket\"} 0",
          "bbdiy_last_success_timestamp_seconds");
    }
  }

  @Test
  void demo_runs_with_nothing_but_java() {
    Run r = run("demo", "--no-database", "--repositories", "2");

    assertThat(r.code()).as(r.all()).isZero();
    assertThat(r.out()).contains("lock window", "restored home identical", "intact");
  }

  @Test
  void simulate_serves_the_api() {
    Run r = run("simulate", "--port", "0", "--run-for", "200");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("Bitbucket simulator listening on http://");
  }
}
