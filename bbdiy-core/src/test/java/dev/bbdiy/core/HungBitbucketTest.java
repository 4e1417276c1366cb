package dev.bbdiy.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.archive.TarArchiverProvider;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import dev.bbdiy.simulator.FakeBitbucketServer;
import dev.bbdiy.simulator.FakeBitbucketServer.Endpoint;
import dev.bbdiy.testkit.ScriptedProvider;
import dev.bbdiy.testkit.StallingProxy;
import dev.bbdiy.testkit.StallingProxy.Stall;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A Bitbucket that hangs, one call of the protocol at a time, behind a {@link StallingProxy}: whatever hangs, the
 * lock window ends at its limit (plus the unlock), Bitbucket ends unlocked or the run says exactly how to unlock
 * it, and the run fails with the code that says what happened. The HTTP call timeout is far longer than every
 * budget, so only the budgets can keep the window short.
 */
class HungBitbucketTest {
  static final Duration LIMIT = Duration.ofMillis(2000);
  static final Duration DRAIN = Duration.ofMillis(1500);
  static final Duration UNLOCK_BUDGET = Duration.ofMillis(1000);
  static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);
  static final Duration SLACK = Duration.ofMillis(1000);

  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(50)));

  @TempDir Path temp;

  StallingProxy proxy;

  @AfterEach
  void stopProxy() {
    if (proxy != null) {
      proxy.close();
    }
  }

  /**
   * One hung call.
   *
   * @param expected the error code of the run, {@code null} if the backup succeeds
   * @param leftLocked whether Bitbucket can only end locked (the unlock itself never arrives)
   */
  record Case(String name, Endpoint endpoint, int times, Stall stall, Duration drainTimeout,
      @Nullable String failIn, @Nullable ErrorCode expected, boolean leftLocked) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Case> cases() {
    int all = Integer.MAX_VALUE;
    return Stream.of(
        new Case("lock request never arrives", Endpoint.LOCK, all, Stall.REQUEST, DRAIN, null,
            ErrorCode.BITBUCKET_UNAVAILABLE, false),
        new Case("lock granted, answer lost", Endpoint.LOCK, all, Stall.RESPONSE, DRAIN, null,
            ErrorCode.LEFT_LOCKED, true),
        new Case("start of the external backup hangs", Endpoint.START_BACKUP, all, Stall.RESPONSE, DRAIN, null,
            ErrorCode.INTERRUPTED, false),
        new Case("status polls hang, drain timeout first", Endpoint.STATUS, all, Stall.RESPONSE, DRAIN, null,
            ErrorCode.DRAIN_TIMEOUT, false),
        new Case("status polls cut off, lock limit first", Endpoint.STATUS, all, Stall.MID_RESPONSE,
            Duration.ofSeconds(10), null, ErrorCode.INTERRUPTED, false),
        new Case("progress reports cut off mid-response", Endpoint.PROGRESS, all, Stall.MID_RESPONSE, DRAIN, null,
            null, false),
        new Case("cancel hangs after a failed capture", Endpoint.CANCEL, all, Stall.RESPONSE, DRAIN, "capture",
            ErrorCode.PROVIDER_FAILED, false),
        new Case("unlock never arrives", Endpoint.UNLOCK, all, Stall.REQUEST, DRAIN, null, ErrorCode.LEFT_LOCKED,
            true),
        new Case("unlock done, answer lost", Endpoint.UNLOCK, all, Stall.RESPONSE, DRAIN, null, null, false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void the_lock_window_ends_at_its_limit_whatever_hangs(Case c) throws Exception {
    FakeBitbucketServer server = bitbucket.server();
    proxy = StallingProxy.start(server);
    proxy.stallNext(c.endpoint(), c.times(), c.stall());
    ScriptedProvider.Home home = ScriptedProvider.home();
    if (c.failIn() != null) {
      home.failIn(c.failIn());
    }
    AtomicLong lockRequested = new AtomicLong();
    BackupEngine engine = BackupEngine.builder()
        .instance(BitbucketInstance.of("bitbucket", temp.resolve("home")))
        .workDir(temp.resolve("work"))
        .bitbucket(client(proxy.url()))
        .home(home)
        .database(ScriptedProvider.database())
        .archiver(new TarArchiverProvider())
        .configuration(Map.of("tar.dir", temp.resolve("archives").toString()))
        .drainTimeout(c.drainTimeout())
        .maxLockWindow(LIMIT)
        .listener(e -> {
          if (e instanceof BackupEvent.PhaseStarted && ((BackupEvent.PhaseStarted) e).phase() == Phase.LOCK) {
            lockRequested.set(System.nanoTime());
          }
        })
        .build();

    BackupResult result = null;
    BbdiyException failure = null;
    try {
      result = engine.backup();
    } catch (BbdiyException e) {
      failure = e;
    }
    Duration held = Duration.ofNanos(System.nanoTime() - lockRequested.get());

    Duration bound = LIMIT.plus(UNLOCK_BUDGET).plus(SLACK);
    assertThat(proxy.stalled(c.endpoint())).as("the case stalls what it says").isPositive();
    assertThat(held).as("time from the lock request to the end of the locked part, events:\n%s",
        server.eventsText()).isLessThanOrEqualTo(bound);
    if (c.expected() == null) {
      if (failure != null) {
        fail("expected a good backup, got " + failure.code() + ": " + failure.getMessage(), failure);
      }
      assertThat(result.verification().ok()).isTrue();
      assertThat(result.lockWindow()).isLessThanOrEqualTo(bound);
    } else {
      assertThat(failure).as("the run fails").isNotNull();
      assertThat(failure.code()).as(failure.getMessage()).isEqualTo(c.expected());
    }
    if (c.expected() == ErrorCode.INTERRUPTED) {
      assertThat(failure).hasMessageContaining("bitbucket.max-lock-window");
    }
    if (c.leftLocked()) {
      assertThat(server.isLocked()).isTrue();
      if (c.endpoint() == Endpoint.UNLOCK) {
        assertThat(failure).hasMessageContaining("bbdiy unlock --recover").hasMessageContaining("-X DELETE");
        proxy.passThrough();
        RecoveryResult recovered = BackupEngine.recover(temp.resolve("work"), client(proxy.url()));
        assertThat(recovered.released()).isTrue();
      } else {
        assertThat(failure).hasMessageContaining("restart");
        server.forceUnlock();
      }
    } else {
      assertThat(server.isLocked()).as("events:\n%s", server.eventsText()).isFalse();
      for (Duration window : server.lockWindows()) {
        assertThat(window).isLessThanOrEqualTo(bound);
      }
    }
    // The client gave up every call it stalled: no connection is left hanging.
    awaitAbandoned(c.endpoint());
  }

  static MaintenanceClient client(String url) {
    return MaintenanceClient.builder(url).credentials("admin", Secret.of("admin"))
        .callTimeout(CALL_TIMEOUT)
        .retries(5, Duration.ofMillis(50), Duration.ofMillis(200))
        .unlockRetryBudget(UNLOCK_BUDGET)
        .pollInterval(Duration.ofMillis(50))
        .build();
  }

  private void awaitAbandoned(Endpoint endpoint) throws InterruptedException {
    long deadline = System.nanoTime() + 2_000_000_000L;
    while (proxy.abandoned(endpoint) < proxy.stalled(endpoint) && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(proxy.abandoned(endpoint)).as("stalled calls the client gave up on").isEqualTo(
        proxy.stalled(endpoint));
  }
}
