package dev.bbdiy.kit;

import static org.assertj.core.api.Assertions.assertThat;

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
}
