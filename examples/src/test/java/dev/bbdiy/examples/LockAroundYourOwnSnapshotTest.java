package dev.bbdiy.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.testkit.FakeBitbucketExtension;
import dev.bbdiy.simulator.FakeBitbucketServer.EventType;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class LockAroundYourOwnSnapshotTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(100)));

  @Test
  void the_snapshot_runs_while_drained_and_bitbucket_is_unlocked_after() throws Exception {
    AtomicBoolean drainedDuringSnapshot = new AtomicBoolean();

    Duration window = LockAroundYourOwnSnapshot.whileDrained(bitbucket.url(), "admin", "admin",
        () -> drainedDuringSnapshot.set(!bitbucket.server().events(EventType.DRAINED).isEmpty()
            && bitbucket.server().isLocked()));

    assertThat(drainedDuringSnapshot).isTrue();
    assertThat(window).isPositive();
    assertThat(bitbucket.server().taskState()).contains("SUCCESSFUL");
  }

  @Test
  void a_failing_snapshot_cancels_the_task_and_unlocks() {
    assertThatThrownBy(() -> LockAroundYourOwnSnapshot.whileDrained(bitbucket.url(), "admin", "admin", () -> {
      throw new IllegalStateException("the SAN said no");
    })).hasMessageContaining("the SAN said no");

    assertThat(bitbucket.server().taskState()).contains("CANCELED");
    assertThat(bitbucket.server().isLocked()).isFalse();
  }
}
