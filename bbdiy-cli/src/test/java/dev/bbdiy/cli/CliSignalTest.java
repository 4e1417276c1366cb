package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.core.internal.JsonObject;
import dev.bbdiy.simulator.BitbucketHomes;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The command line in a JVM of its own, ended with SIGTERM the way systemd and Ctrl-C end it. */
class CliSignalTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  @TempDir Path temp;
  Path config;

  private final List<String> out = Collections.synchronizedList(new ArrayList<>());
  private final List<String> err = Collections.synchronizedList(new ArrayList<>());

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
        "archive.type=slow-verify",
        "slow-verify.dir=" + temp.resolve("archives"),
        ""));
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
  }

  private Process start(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).start();
    drain(p.getInputStream(), out);
    drain(p.getErrorStream(), err);
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

  private void await(List<String> lines, Predicate<String> line, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      synchronized (lines) {
        if (lines.stream().anyMatch(line)) {
          return;
        }
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("never saw " + what + "; stdout: " + out + "; stderr: " + err);
      }
      Thread.sleep(10);
    }
  }

  private String joined(List<String> lines) {
    synchronized (lines) {
      return String.join("\n", lines);
    }
  }

  @ParameterizedTest(name = "SIGTERM during {0}: the error line and the JSON error document, then exit 143")
  @ValueSource(strings = {"prepare", "capture", "verify"})
  void sigterm_in_any_phase_reports_before_the_process_exits(String phase) throws Exception {
    List<String> args = new ArrayList<>(List.of("backup", "--json", "--config", config.toString()));
    String waitFor;
    if (phase.equals("verify")) {
      waitFor = "slow-verify: verifying";
    } else {
      args.addAll(List.of("--set", "home.type=scripted-home", "--set", "scripted-home.hang-in=" + phase));
      waitFor = Output.describe(dev.bbdiy.api.Phase.valueOf(phase.toUpperCase(java.util.Locale.ROOT)));
    }
    Process child = start(args.toArray(new String[0]));
    await(err, l -> l.contains(waitFor), waitFor);
    Thread.sleep(200);

    child.toHandle().destroy(); // SIGTERM

    assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
    Thread.sleep(100); // the readers reach the end of the pipes
    assertThat(child.exitValue()).isEqualTo(143);
    assertThat(bitbucket.server().isLocked()).isFalse();
    String stderr = joined(err);
    assertThat(stderr).as("stderr").contains("ERROR: The backup was cancelled (the process received a termination"
        + " signal");
    JsonObject error = JsonObject.parse(joined(out), "stdout of backup --json").object("error");
    assertThat(error.string("code")).isEqualTo("INTERRUPTED");
    assertThat(error.string("message")).contains("termination signal");
  }

  @Test
  void sigterm_stops_a_vars_file_that_is_still_running_and_reports() throws Exception {
    Path pids = temp.resolve("pids");
    Path vars = temp.resolve("vars.sh");
    Files.writeString(vars, "sleep 300 & echo $! >> " + pids + "\nsleep 301\n");
    Process child = start("check", "--json", "--vars-file", vars.toString());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(pids) || Files.size(pids) == 0) {
      assertThat(System.nanoTime()).as("the vars file never ran; %s %s", out, err).isLessThan(deadline);
      Thread.sleep(10);
    }
    long start = System.nanoTime();

    child.toHandle().destroy();

    assertThat(child.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    Thread.sleep(100);
    assertThat(joined(err)).contains("ERROR: Stopped sourcing the vars file");
    assertThat(JsonObject.parse(joined(out), "stdout").object("error").string("code")).isEqualTo("INTERRUPTED");
    long gone = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    for (String pid : Files.readAllLines(pids)) {
      while (ProcessHandle.of(Long.parseLong(pid.trim())).map(ProcessHandle::isAlive).orElse(false)) {
        assertThat(System.nanoTime()).as("%s still runs", pid).isLessThan(gone);
        Thread.sleep(20);
      }
    }
  }

  @Test
  void sigterm_stops_the_simulator_at_once() throws Exception {
    Process child = start("simulate", "--port", "0");
    await(out, l -> l.startsWith("Bitbucket simulator listening"), "the simulator's first line");
    long start = System.nanoTime();

    child.toHandle().destroy();

    assertThat(child.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
  }
}
