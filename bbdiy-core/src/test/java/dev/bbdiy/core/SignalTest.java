package dev.bbdiy.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import dev.bbdiy.simulator.FakeBitbucketServer.EventType;
import dev.bbdiy.testkit.ScriptedProvider;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Real processes, real signals: a backup in a child JVM is terminated or killed in each phase. */
class SignalTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  @TempDir Path temp;

  private final List<String> lines = Collections.synchronizedList(new ArrayList<>());

  private Process start(String hangPhase) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
        BackupChild.class.getName(), bitbucket.url(), temp.resolve("work").toString(),
        temp.resolve("archives").toString(), hangPhase)
        .redirectErrorStream(true).start();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
          StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          lines.add(line);
        }
      } catch (IOException ignored) {
        // the child died
      }
    });
    reader.setDaemon(true);
    reader.start();
    return p;
  }

  private void awaitLine(String line) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!lines.contains(line)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("child never printed '" + line + "'; output: " + lines);
      }
      Thread.sleep(10);
    }
    Thread.sleep(150); // let it get into the phase's work
  }

  @ParameterizedTest(name = "SIGTERM during {0}")
  @ValueSource(strings = {"prepare", "drain", "capture", "complete"})
  void sigterm_in_any_phase_unlocks_before_the_process_exits(String phase) throws Exception {
    if (phase.equals("drain")) {
      bitbucket.server().drainNever();
    }
    Process child = start(phase);
    awaitLine(phase.equals("drain") ? "Locked" : "PhaseStarted " + phase.toUpperCase(java.util.Locale.ROOT));

    child.toHandle().destroy(); // SIGTERM

    assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(child.exitValue()).as("output: %s", lines).isEqualTo(143);
    assertThat(bitbucket.server().isLocked()).as("output: %s", lines).isFalse();
    assertThat(bitbucket.server().taskState()).isNotEqualTo(java.util.Optional.of("RUNNING"));
    if (lines.contains("Locked")) {
      assertThat(lines).contains("Unlocked released=true");
    }
    assertThat(lines).contains("OperationFinished INTERRUPTED");
  }

  @ParameterizedTest(name = "SIGKILL during {0}, then recovery")
  @ValueSource(strings = {"drain", "capture"})
  void sigkill_while_locked_is_recovered_by_the_next_run(String phase) throws Exception {
    if (phase.equals("drain")) {
      bitbucket.server().drainNever();
    }
    Process child = start(phase);
    awaitLine(phase.equals("drain") ? "Locked" : "PhaseStarted CAPTURE");

    child.toHandle().destroyForcibly(); // SIGKILL: no hook runs
    assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(bitbucket.server().isLocked()).as("a killed process cannot unlock").isTrue();

    BackupEngine engine = BackupEngine.builder()
        .instance(BitbucketInstance.of("bitbucket", null))
        .workDir(temp.resolve("work"))
        .bitbucket(MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin")).build())
        .home(ScriptedProvider.home())
        .archiver(new TarArchiverProvider())
        .configuration(Map.of("tar.dir", temp.resolve("archives").toString()))
        .build();
    RecoveryResult recovered = engine.recover();

    assertThat(recovered.released()).isTrue();
    assertThat(bitbucket.server().isLocked()).isFalse();
    assertThat(bitbucket.server().eventTypes()).contains(EventType.UNLOCKED);
  }

  @ParameterizedTest(name = "SIGKILL during {0} leaves nothing to recover")
  @ValueSource(strings = {"prepare"})
  void sigkill_before_the_lock_needs_no_recovery(String phase) throws Exception {
    Process child = start(phase);
    awaitLine("PhaseStarted PREPARE");

    child.toHandle().destroyForcibly();
    assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();

    assertThat(bitbucket.server().isLocked()).isFalse();
  }
}
