package dev.bbdiy.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.testkit.TestContexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fsfreeze guard thaws what it froze on every path, against a fake fsfreeze that logs its calls. */
class FsFreezeTest {
  @TempDir Path temp;
  Path log;
  Path fsfreeze;

  @BeforeEach
  void fakeFsfreeze() throws Exception {
    log = temp.resolve("calls.log");
    fsfreeze = temp.resolve("fsfreeze");
    // Fails "-f X" when a file fail-f-<basename X> exists, "-u X" when fail-u-<basename X> does; "-f" of a mount
    // named "slow" blocks until killed.
    Files.writeString(fsfreeze, "#!/bin/sh\necho \"$1 $2\" >> " + log + "\nb=$(basename \"$2\")\n"
        + "[ \"$1\" = -f ] && [ \"$b\" = slow ] && exec sleep 60\n"
        + "[ -f " + temp + "/fail$1-$b ] && { echo \"fsfreeze: $2: failed\" >&2; exit 1; }\nexit 0\n");
    Files.setPosixFilePermissions(fsfreeze, PosixFilePermissions.fromString("rwx------"));
  }

  private FsFreeze guard() {
    return new FsFreeze(fsfreeze.toString(), "amazon-ebs");
  }

  private List<String> calls() throws Exception {
    return Files.exists(log) ? Files.readAllLines(log) : List.of();
  }

  @Test
  void thaws_newest_first_when_the_body_fails_and_keeps_the_bodys_failure() throws Exception {
    TestContexts.TestCancellation c = new TestContexts.TestCancellation();
    assertThatThrownBy(() -> {
      try (FsFreeze f = guard()) {
        f.freeze("/mnt/a", c);
        f.freeze("/mnt/b", c);
        f.freeze("/mnt/a", c); // already frozen: not again
        throw new IllegalStateException("CreateSnapshots failed");
      }
    }).isInstanceOf(IllegalStateException.class).hasMessage("CreateSnapshots failed").hasNoSuppressedExceptions();

    assertThat(calls()).containsExactly("-f /mnt/a", "-f /mnt/b", "-u /mnt/b", "-u /mnt/a");
  }

  @Test
  void a_failed_freeze_thaws_it_and_the_ones_before() throws Exception {
    Files.writeString(temp.resolve("fail-f-b"), "");
    TestContexts.TestCancellation c = new TestContexts.TestCancellation();

    assertThatThrownBy(() -> {
      try (FsFreeze f = guard()) {
        f.freeze("/mnt/a", c);
        f.freeze("/mnt/b", c);
      }
    }).isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_FAILED))
        .hasMessageContaining("fsfreeze -f /mnt/b").hasNoSuppressedExceptions();

    assertThat(calls()).containsExactly("-f /mnt/a", "-f /mnt/b", "-u /mnt/b", "-u /mnt/a");
  }

  @Test
  void a_failed_thaw_is_reported_with_the_command_that_fixes_it_and_the_others_are_still_thawed() throws Exception {
    Files.writeString(temp.resolve("fail-u-b"), "");
    TestContexts.TestCancellation c = new TestContexts.TestCancellation();

    assertThatThrownBy(() -> {
      try (FsFreeze f = guard()) {
        f.freeze("/mnt/a", c);
        f.freeze("/mnt/b", c);
      }
    }).isInstanceOf(BbdiyException.class).hasMessageContaining("could not thaw /mnt/b")
        .hasMessageContaining("run 'fsfreeze -u /mnt/b' now");
    assertThat(calls()).containsExactly("-f /mnt/a", "-f /mnt/b", "-u /mnt/b", "-u /mnt/a");

    Files.writeString(log, "");
    Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(() -> {
      try (FsFreeze f = guard()) {
        f.freeze("/mnt/b", c);
        throw new IllegalStateException("CreateSnapshots failed");
      }
    });
    assertThat(thrown).hasMessage("CreateSnapshots failed");
    assertThat(thrown.getSuppressed()).singleElement().satisfies(s -> assertThat(s)
        .hasMessageContaining("could not thaw /mnt/b"));
  }

  @Test
  void a_freeze_stopped_by_cancellation_is_thawed() throws Exception {
    TestContexts.TestCancellation c = new TestContexts.TestCancellation();
    Thread canceller = new Thread(() -> {
      try {
        while (!Files.exists(log) || !Files.readString(log).contains("-f /mnt/slow")) {
          Thread.sleep(10);
        }
      } catch (Exception e) {
        return;
      }
      c.cancel("Ctrl-C");
    });
    canceller.start();

    assertThatThrownBy(() -> {
      try (FsFreeze f = guard()) {
        f.freeze("/mnt/a", c);
        f.freeze("/mnt/slow", c);
      }
    }).isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERRUPTED));
    canceller.join();

    assertThat(calls()).containsExactly("-f /mnt/a", "-f /mnt/slow", "-u /mnt/slow", "-u /mnt/a");
  }

  @Test
  void thaws_even_when_the_thread_was_interrupted_and_keeps_the_interrupt() throws Exception {
    TestContexts.TestCancellation c = new TestContexts.TestCancellation();
    try (FsFreeze f = guard()) {
      f.freeze("/mnt/a", c);
      Thread.currentThread().interrupt();
    }

    assertThat(Thread.interrupted()).as("the interrupt is kept for the caller").isTrue();
    assertThat(calls()).containsExactly("-f /mnt/a", "-u /mnt/a");
  }
}
