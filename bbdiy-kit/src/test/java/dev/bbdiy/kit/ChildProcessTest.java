package dev.bbdiy.kit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ChildProcessTest {
  @Test
  @Timeout(20)
  void a_tool_that_reads_its_standard_input_gets_none_instead_of_waiting_forever() {
    ChildProcess.Result r = ChildProcess.builder("sh", "-c", "read answer; echo \"answer=[$answer]\"")
        .grace(Duration.ofSeconds(1)).build().run();

    assertThat(r.stdoutTail()).containsExactly("answer=[]");
  }

  @Test
  void output_and_exit_code_are_kept() {
    ChildProcess.Result r = ChildProcess.builder("sh", "-c", "echo out; echo err >&2; exit 3").build().run();

    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.stdoutTail()).containsExactly("out");
    assertThat(r.stderrTail()).containsExactly("err");
  }

  @Test
  @Timeout(20)
  void a_tool_past_its_timeout_is_stopped_with_its_children() throws Exception {
    java.nio.file.Path pidFile = java.nio.file.Files.createTempFile("bbdiy-child", ".pid");
    long start = System.nanoTime();

    assertThatThrownBy(() -> ChildProcess.builder("sh", "-c", "sleep 60 & echo $! > " + pidFile + "; wait")
        .timeout(Duration.ofMillis(500)).grace(Duration.ofSeconds(1)).build().run())
        .isInstanceOfSatisfying(BbdiyException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED);
          assertThat(e.getMessage()).contains("did not finish within");
        });

    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    long sleeper = Long.parseLong(java.nio.file.Files.readString(pidFile).trim());
    java.nio.file.Files.delete(pidFile);
    ProcessHandle.of(sleeper).ifPresent(h -> h.onExit().join());
    assertThat(ProcessHandle.of(sleeper).map(ProcessHandle::isAlive).orElse(false)).isFalse();
  }
}
