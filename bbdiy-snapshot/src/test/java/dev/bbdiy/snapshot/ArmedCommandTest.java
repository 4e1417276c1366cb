package dev.bbdiy.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.kit.Cancellations;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A command armed before the lock runs only when fired, with its arguments taken literally. */
class ArmedCommandTest {
  @TempDir Path temp;

  @Test
  void runs_only_when_fired_and_reports_its_exit_code_and_output() throws Exception {
    Path marker = temp.resolve("ran");
    ArmedCommand c = ArmedCommand.arm("test", List.of("/bin/sh", "-c", "echo started; touch \"$0\"; exit 3",
        marker.toString()));
    Thread.sleep(200);
    assertThat(marker).as("armed, not fired").doesNotExist();
    assertThat(c.alive()).isTrue();

    c.fire();
    Tool.Output o = c.await(Cancellations.none());

    assertThat(o.exitCode()).isEqualTo(3);
    assertThat(o.stdout()).containsExactly("started");
    assertThat(marker).exists();
  }

  @Test
  void arguments_are_never_interpreted_by_the_shell() throws Exception {
    Path pwned = temp.resolve("pwned");
    Path out = temp.resolve("out");
    String hostile = "$(touch " + pwned + ")`touch " + pwned + "`;touch " + pwned;
    ArmedCommand c = ArmedCommand.arm("test", List.of("/usr/bin/touch", out.resolve(hostile.replace('/', '_'))
        .toString()));
    Files.createDirectories(out);
    c.fire();

    assertThat(c.await(Cancellations.none()).exitCode()).isZero();
    assertThat(pwned).doesNotExist();
    try (var files = Files.list(out)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly(hostile.replace('/', '_'));
    }
  }

  @Test
  void a_shell_whose_jvm_went_away_or_that_is_disarmed_never_runs_the_command() throws Exception {
    Path marker = temp.resolve("ran");
    // End of file on its input, as when the JVM that armed it is killed: the shell exits without running anything.
    Process orphan = new ProcessBuilder("/bin/sh", "-c", ArmedCommand.SCRIPT, "/usr/bin/touch", marker.toString())
        .start();
    orphan.getOutputStream().close();
    assertThat(orphan.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(orphan.exitValue()).isEqualTo(ArmedCommand.NOT_FIRED);

    ArmedCommand c = ArmedCommand.arm("test", List.of("/usr/bin/touch", marker.toString()));
    c.disarm();
    Thread.sleep(200);

    assertThat(c.alive()).isFalse();
    assertThat(marker).doesNotExist();
  }
}
