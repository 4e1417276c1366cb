package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.ExternalBackup;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.MaintenanceLock;
import dev.bbdiy.core.internal.JsonObject;
import dev.bbdiy.core.internal.LockStateFile;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Operating a run: {@code status} shows the run in progress and the command that cancels it, {@code cancel
 * --running} stops it (a backup in another JVM, ended the way an operator in another shell ends it), the JSON-lines
 * progress stream, and lines without the URL prefix.
 */
class OperatingTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  @TempDir Path temp;
  Path config;
  final Map<String, String> env = new HashMap<>();

  record Run(int code, String out, String err) {
    String all() {
      return out + err;
    }
  }

  @BeforeEach
  void configure() throws Exception {
    BitbucketHomes.generate(temp.resolve("home"), BitbucketHomes.spec().repositories(1).useGit(false));
    Path password = temp.resolve("password");
    Files.writeString(password, "admin\n");
    Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
    config = temp.resolve("bbdiy.properties");
    Files.writeString(config, String.join("\n",
        "bitbucket.url=" + bitbucket.url(),
        "bitbucket.user=admin",
        "bitbucket.password.file=" + password,
        "instance.home=" + temp.resolve("home"),
        "work.dir=" + temp.resolve("work"),
        "tar.dir=" + temp.resolve("archives"),
        ""));
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
  }

  Run bbdiy(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--config");
    all.add(config.toString());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), env, false, all.toArray(new String[0]));
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  // ---------------------------------------------------------------------------------------------------------
  // The progress stream

  @Test
  void progress_jsonl_prints_one_versioned_event_per_line_and_the_lines_for_humans_on_stderr() {
    List<String> tokens = Collections.synchronizedList(new ArrayList<>());
    bitbucket.server().onEvent(e -> bitbucket.server().unlockToken().ifPresent(tokens::add));

    Run r = bbdiy("backup", "--progress", "jsonl");

    assertThat(r.code()).as(r.all()).isZero();
    List<JsonObject> events = r.out().lines().map(l -> JsonObject.parse(l, "event line " + l))
        .collect(Collectors.toList());
    assertThat(events).isNotEmpty().allSatisfy(e -> {
      assertThat(e.optInt("v")).contains(1);
      assertThat(e.string("at")).isNotBlank();
    });
    List<String> types = events.stream().map(e -> e.string("type")).collect(Collectors.toList());
    assertThat(types.get(0)).isEqualTo("operation-started");
    assertThat(types.get(types.size() - 1)).isEqualTo("operation-finished");
    assertThat(types).containsSubsequence("phase-started", "locked", "drained", "unlocked", "phase-finished");
    JsonObject started = events.get(0);
    assertThat(started.string("operation")).isEqualTo("backup");
    assertThat(started.string("backupId")).startsWith("bitbucket-");
    JsonObject unlocked = events.stream().filter(e -> e.string("type").equals("unlocked")).findFirst().orElseThrow();
    assertThat(unlocked.raw("released")).isEqualTo(true);
    assertThat(events.get(events.size() - 1).raw("succeeded")).isEqualTo(true);
    assertThat(events.stream().filter(e -> e.string("type").equals("phase-started")).map(e -> e.string("phase")))
        .contains("lock", "capture", "unlock", "archive", "verify");
    assertThat(tokens).isNotEmpty();
    assertThat(r.all()).doesNotContain(tokens.get(0));
    assertThat(r.err()).contains("Backup", "complete and verified");
  }

  @Test
  void progress_file_goes_beside_the_one_json_document() throws Exception {
    Path events = temp.resolve("events.jsonl");

    Run r = bbdiy("backup", "--json", "--progress-file", events.toString());

    assertThat(r.code()).as(r.all()).isZero();
    assertThat(JsonObject.parse(r.out(), "stdout").object("summary").string("id")).startsWith("bitbucket-");
    List<String> lines = Files.readAllLines(events);
    assertThat(lines).hasSizeGreaterThan(5);
    assertThat(JsonObject.parse(lines.get(lines.size() - 1), "last").string("type")).isEqualTo("operation-finished");
  }

  @Test
  void progress_on_stdout_and_json_on_stdout_is_a_usage_error() {
    assertThat(bbdiy("backup", "--json", "--progress", "jsonl").code()).isEqualTo(2);
    Run other = bbdiy("backup", "--progress", "xml");
    assertThat(other.code()).isEqualTo(2);
    assertThat(other.err()).contains("--progress takes 'jsonl'");
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void lines_carry_no_url_prefix() {
    Run r = bbdiy("backup");

    assertThat(r.code()).as(r.all()).isZero();
    assertThat(r.all()).doesNotContain("[" + bitbucket.url()).doesNotContain("[http");
    assertThat(r.out()).contains("Locked for maintenance");
  }

  // ---------------------------------------------------------------------------------------------------------
  // status and cancel --running

  private final List<String> childOut = Collections.synchronizedList(new ArrayList<>());
  private final List<String> childErr = Collections.synchronizedList(new ArrayList<>());

  private Process startBackupHangingIn(String phase) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "backup", "--config",
        config.toString(), "--set", "home.type=scripted-home", "--set", "scripted-home.hang-in=" + phase));
    Process p = new ProcessBuilder(cmd).start();
    drain(p.getInputStream(), childOut);
    drain(p.getErrorStream(), childErr);
    return p;
  }

  private static void drain(InputStream in, List<String> lines) {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          lines.add(line);
        }
      } catch (IOException ignored) {
        // the child died
      }
    });
    t.setDaemon(true);
    t.start();
  }

  private void awaitRunning(String phase) throws InterruptedException {
    Path file = temp.resolve("work/.bbdiy/" + RunState.FILE);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        if (Files.exists(file) && Files.readString(file).contains("\"phase\": \"" + phase + "\"")) {
          return;
        }
      } catch (IOException replaced) {
        // read again
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("never saw phase " + phase + "; " + childOut + childErr);
      }
      Thread.sleep(20);
    }
  }

  @Test
  void status_shows_the_running_backup_and_cancel_running_stops_it_and_unlocks() throws Exception {
    Process child = startBackupHangingIn("capture");
    try {
      awaitRunning("capture");
      String unlockToken = bitbucket.server().unlockToken().orElseThrow();

      Run status = bbdiy("status");

      assertThat(status.code()).as(status.all()).isZero();
      assertThat(status.out()).contains("Running: backup bitbucket-", "pid " + child.pid(), "phase capture",
          "Bitbucket has been locked by it for", "To cancel it: bbdiy cancel --running --config " + config,
          "MAINTENANCE").doesNotContain("interrupted bbdiy run");
      assertThat(status.all()).doesNotContain(unlockToken);
      assertThat(Files.readString(temp.resolve("work/.bbdiy/" + RunState.FILE))).doesNotContain(unlockToken);
      assertThat(Files.getPosixFilePermissions(temp.resolve("work/.bbdiy/" + RunState.FILE)))
          .isEqualTo(PosixFilePermissions.fromString("rw-------"));
      JsonObject json = JsonObject.parse(bbdiy("status", "--json").out(), "status --json");
      assertThat(json.object("running").string("phase")).isEqualTo("capture");
      assertThat(json.object("running").raw("running")).isEqualTo(true);
      assertThat(json.string("cancelCommand")).startsWith("bbdiy cancel --running");

      Run cancel = bbdiy("cancel", "--running");

      assertThat(cancel.code()).as(cancel.all()).isZero();
      assertThat(cancel.out()).contains("Cancelled the backup bitbucket-", "holds no lock on Bitbucket");
      assertThat(child.isAlive()).as("cancel waited for the run to end").isFalse();
      assertThat(child.exitValue()).isEqualTo(143);
      assertThat(bitbucket.server().isLocked()).isFalse();
      assertThat(bitbucket.server().taskState()).contains("CANCELED");
      assertThat(temp.resolve("work/.bbdiy/" + RunState.FILE)).doesNotExist();
      assertThat(bbdiy("status").out()).doesNotContain("Running:").contains("No interrupted bbdiy run");
    } finally {
      child.destroyForcibly();
      child.waitFor(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void cancel_running_of_a_run_whose_process_is_gone_cancels_bitbuckets_task_with_the_token_from_the_state_file()
      throws Exception {
    MaintenanceClient client = MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
        .build();
    bitbucket.server().drainNever();
    MaintenanceLock lock = client.lock();
    ExternalBackup task = client.startExternalBackup(lock);
    new LockStateFile(temp.resolve("work/.bbdiy")).taskStarted(client.baseUrl(), "bitbucket-20200101-000000",
        lock.unlockToken(), task.cancelToken());
    Files.writeString(temp.resolve("work/.bbdiy/" + RunState.FILE), "{\"operation\": \"backup\", \"backupId\":"
        + " \"bitbucket-20200101-000000\", \"phase\": \"capture\", \"pid\": \"2147483646\", \"host\": \""
        + dev.bbdiy.kit.LockFile.hostName() + "\", \"processStartedAt\": \"2020-01-01T00:00:00Z\", \"startedAt\":"
        + " \"2020-01-01T00:00:00Z\", \"lockRequestedAt\": \"2020-01-01T00:00:01Z\"}");

    Run status = bbdiy("status");
    assertThat(status.out()).contains("its process is gone", "unlock --recover")
        .doesNotContain(task.cancelToken()).doesNotContain(lock.unlockToken());

    Run cancel = bbdiy("cancel", "--running");

    assertThat(cancel.code()).as(cancel.all()).isZero();
    assertThat(cancel.out()).contains("Cancelled Bitbucket's backup task", "bbdiy unlock --recover");
    assertThat(cancel.all()).doesNotContain(task.cancelToken());
    assertThat(bitbucket.server().taskState()).contains("CANCELED");
    assertThat(bbdiy("unlock", "--recover").code()).isZero();
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void a_pid_reused_by_another_process_is_never_signalled() throws Exception {
    Process other = new ProcessBuilder("sleep", "60").start();
    try {
      Files.createDirectories(temp.resolve("work/.bbdiy"));
      Files.writeString(temp.resolve("work/.bbdiy/" + RunState.FILE), "{\"operation\": \"backup\", \"backupId\":"
          + " \"bitbucket-20200101-000000\", \"phase\": \"capture\", \"pid\": \"" + other.pid() + "\", \"host\":"
          + " \"" + dev.bbdiy.kit.LockFile.hostName() + "\", \"processStartedAt\": \"2020-01-01T00:00:00Z\","
          + " \"startedAt\": \"2020-01-01T00:00:00Z\"}");

      Run status = bbdiy("status");
      Run cancel = bbdiy("cancel", "--running");

      assertThat(status.out()).contains("its process is gone").doesNotContain("Running:");
      assertThat(cancel.code()).as(cancel.all()).isEqualTo(9);
      assertThat(cancel.err()).contains("Nothing to cancel", "unlock --recover");
      Thread.sleep(200);
      assertThat(other.isAlive()).as("the process that now has the pid").isTrue();
    } finally {
      other.destroyForcibly();
    }
  }

  @Test
  void cancel_running_with_nothing_running_is_not_found_and_needs_one_of_the_two_options() {
    Run none = bbdiy("cancel", "--running");
    assertThat(none.code()).as(none.all()).isEqualTo(9);
    assertThat(none.err()).contains("No bbdiy run is in progress");
    assertThat(bbdiy("cancel").code()).isEqualTo(2);
    assertThat(bbdiy("cancel", "--running", "--token", "x").code()).isEqualTo(2);
  }

  @Test
  void the_cancel_command_quotes_what_the_shell_would_split() {
    assertThat(Shell.quote("/etc/bbdiy/bbdiy.properties")).isEqualTo("/etc/bbdiy/bbdiy.properties");
    assertThat(Shell.quote("/tmp/my dir/it's")).isEqualTo("'/tmp/my dir/it'\\''s'");
    assertThat(Shell.quote("$(rm -rf /)")).isEqualTo("'$(rm -rf /)'");
  }
}
