package dev.bbdiy.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import dev.bbdiy.simulator.FakeBitbucketServer.Endpoint;
import dev.bbdiy.simulator.FakeBitbucketServer.EventType;
import dev.bbdiy.simulator.FakeBitbucketServer.Fault;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The locked part as one resource: what open and close send, the events they emit, and what they throw. */
class LockSessionTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  @TempDir Path temp;

  final List<BackupEvent> events = Collections.synchronizedList(new ArrayList<>());
  final Cancellation cancellation = new Cancellation();

  LockSession open(Duration limit) {
    MaintenanceClient client = MaintenanceClient.builder(bitbucket.url()).credentials("admin", Secret.of("admin"))
        .retries(3, Duration.ofMillis(10), Duration.ofMillis(50)).unlockRetryBudget(Duration.ofMillis(300))
        .pollInterval(Duration.ofMillis(50)).build();
    return LockSession.open(client, new LockStateFile(temp), "bitbucket-20200101-000000", cancellation,
        new EventSink(events::add, Clock.systemUTC()), Duration.ofSeconds(5), limit);
  }

  List<Object> names() {
    List<Object> out = new ArrayList<>();
    synchronized (events) {
      for (BackupEvent e : events) {
        if (e instanceof BackupEvent.PhaseStarted) {
          out.add(((BackupEvent.PhaseStarted) e).phase());
        } else if (e instanceof BackupEvent.PhaseFinished) {
          out.add("/" + ((BackupEvent.PhaseFinished) e).phase());
        } else if (!(e instanceof BackupEvent.Progress)) {
          out.add(e.getClass().getSimpleName());
        }
      }
    }
    return out;
  }

  @Test
  void a_captured_session_reports_100_then_unlocks_and_forgets_the_token() {
    LockSession session = open(Duration.ofSeconds(30));
    assertThat(new LockStateFile(temp).read()).get().satisfies(s -> assertThat(s.cancelToken()).isNotNull());
    try (session) {
      session.reportProgress(50);
      session.captured();
    }
    session.close();

    assertThat(names()).containsExactly(Phase.LOCK, "Locked", "Drained", "/LOCK", Phase.UNLOCK, "Unlocked",
        "/UNLOCK");
    assertThat(bitbucket.server().events(EventType.PROGRESS)).extracting(e -> e.detail()).containsExactly("50",
        "100");
    assertThat(bitbucket.server().taskState()).contains("SUCCESSFUL");
    assertThat(bitbucket.server().events(EventType.UNLOCKED)).hasSize(1);
    assertThat(session.lockWindow()).isPositive();
    assertThat(session.drainedWindow()).isNotNull();
    assertThat(new LockStateFile(temp).read()).isEmpty();
  }

  @Test
  void a_session_closed_without_a_capture_cancels_the_task() {
    LockSession session = open(Duration.ofSeconds(30));
    session.close();

    assertThat(bitbucket.server().taskState()).contains("CANCELED");
    assertThat(bitbucket.server().events(EventType.CANCELED)).hasSize(1);
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void a_failed_unlock_comes_before_the_failure_that_caused_it() {
    LockSession session = open(Duration.ofSeconds(30));
    bitbucket.server().failNext(Endpoint.UNLOCK, 1000, Fault.status(500));
    IllegalStateException capture = new IllegalStateException("the capture failed");

    RuntimeException reported;
    try (session) {
      throw capture;
    } catch (RuntimeException e) {
      reported = session.outcome(e);
    }

    assertThat(reported).isInstanceOfSatisfying(BbdiyException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.LEFT_LOCKED));
    assertThat(reported).hasMessageContaining("bbdiy unlock --recover").hasSuppressedException(capture);
    assertThat(events).filteredOn(BackupEvent.Unlocked.class::isInstance).singleElement()
        .satisfies(e -> assertThat(((BackupEvent.Unlocked) e).released()).isFalse());
    assertThat(new LockStateFile(temp).read()).as("kept for --recover").isPresent();
    bitbucket.server().forceUnlock();
  }

  @Test
  void the_watchdog_cancels_the_run_at_the_limit() throws Exception {
    LockSession session = open(Duration.ofMillis(400));
    long start = System.nanoTime();
    try (session) {
      while (!cancellation.isCancelled() && System.nanoTime() - start < 5_000_000_000L) {
        Thread.sleep(10);
      }
    }

    assertThat(cancellation.reason()).contains("bitbucket.max-lock-window");
    assertThat(bitbucket.server().isLocked()).isFalse();
    assertThat(session.lockWindow()).isLessThan(Duration.ofMillis(1500));
    assertThat(events).filteredOn(BackupEvent.Warning.class::isInstance)
        .anySatisfy(e -> assertThat(((BackupEvent.Warning) e).message()).contains("not cancelled"));
  }

  @Test
  void a_failure_before_the_lock_locks_nothing_and_leaves_no_state() {
    cancellation.cancel("SIGTERM");

    assertThatThrownBy(() -> open(Duration.ofSeconds(30)))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERRUPTED));

    assertThat(names()).containsExactly(Phase.LOCK, "/LOCK");
    assertThat(bitbucket.server().calls(Endpoint.LOCK)).isZero();
    assertThat(new LockStateFile(temp).read()).isEmpty();
  }
}
