package dev.bbdiy.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import dev.bbdiy.simulator.FakeBitbucketServer;
import dev.bbdiy.simulator.FakeBitbucketServer.Endpoint;
import dev.bbdiy.simulator.FakeBitbucketServer.EventType;
import dev.bbdiy.simulator.FakeBitbucketServer.Fault;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Whole lock → start → drained → progress → unlock sequences against the stateful simulator. */
class MaintenanceClientSimulatorTest {
  @RegisterExtension
  final FakeBitbucketExtension bitbucket =
      FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(150)).contextPath("/bitbucket"));

  private MaintenanceClient client() {
    return client("admin", "admin");
  }

  private MaintenanceClient client(String user, String password) {
    return MaintenanceClient.builder(bitbucket.url())
        .credentials(user, Secret.of(password))
        .retries(4, Duration.ofMillis(10), Duration.ofMillis(50))
        .unlockRetryBudget(Duration.ofSeconds(2))
        .pollInterval(Duration.ofMillis(50))
        .build();
  }

  @Test
  void full_sequence_in_order() {
    MaintenanceClient client = client();
    List<MaintenanceStatus> seen = new ArrayList<>();

    try (MaintenanceLock lock = client.lock()) {
      client.startExternalBackup(lock);
      MaintenanceStatus drained = client.awaitDrained(lock, Duration.ofSeconds(10), seen::add);
      assertThat(drained.drained()).isTrue();
      client.reportProgress(lock, 50);
      client.reportProgress(lock, 100);
      assertThat(client.status(lock).task().state()).isEqualTo(TaskState.SUCCESSFUL);
    }

    assertThat(seen).isNotEmpty();
    assertThat(seen.get(0).drained()).isFalse();
    FakeBitbucketServer server = bitbucket.server();
    assertThat(server.eventTypes()).containsExactly(EventType.LOCKED, EventType.BACKUP_STARTED, EventType.DRAINED,
        EventType.PROGRESS, EventType.PROGRESS, EventType.TASK_ENDED, EventType.UNLOCKED);
    assertThat(server.isLocked()).isFalse();
  }

  @Test
  void drain_timeout_then_unlock_cancels_the_task() {
    bitbucket.server().drainNever();
    MaintenanceClient client = client();

    try (MaintenanceLock lock = client.lock()) {
      client.startExternalBackup(lock);
      assertThatThrownBy(() -> client.awaitDrained(lock, Duration.ofMillis(400)))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.DRAIN_TIMEOUT));
    }

    assertThat(bitbucket.server().taskState()).contains("CANCELED");
  }

  @Test
  void task_failure_is_reported_as_soon_as_it_happens() {
    bitbucket.server().drainFailsAfter(Duration.ofMillis(200));
    MaintenanceClient client = client();

    try (MaintenanceLock lock = client.lock()) {
      client.startExternalBackup(lock);
      assertThatThrownBy(() -> client.awaitDrained(lock, Duration.ofSeconds(30)))
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.BACKUP_TASK_FAILED))
          .hasMessageContaining("did not finish within the allotted timeout");
    }
  }

  @Test
  void cancel_ends_the_task_and_keeps_the_lock_until_unlock() {
    bitbucket.server().drainNever();
    MaintenanceClient client = client();

    try (MaintenanceLock lock = client.lock()) {
      ExternalBackup backup = client.startExternalBackup(lock);
      client.cancel(backup);
      assertThat(bitbucket.server().taskState()).contains("CANCELED");
      assertThat(bitbucket.server().isLocked()).isTrue();
    }
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void a_concurrent_second_client_is_told_it_is_already_locked() {
    MaintenanceClient first = client();
    MaintenanceClient second = client();

    try (MaintenanceLock lock = first.lock()) {
      assertThatThrownBy(second::lock)
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_BUSY))
          .hasMessageContaining("already been locked");
      assertThat(lock.isReleased()).isFalse();
    }
  }

  @Test
  void unlock_answered_200_is_success() {
    bitbucket.server().unlockStatus(200);
    MaintenanceClient client = client();

    MaintenanceLock lock = client.lock();
    client.unlock(lock);

    assertThat(lock.isReleased()).isTrue();
  }

  @Test
  void transient_faults_are_survived() {
    FakeBitbucketServer server = bitbucket.server();
    server.failNext(Endpoint.STATUS, 2, Fault.status(503));
    server.failNext(Endpoint.PROGRESS, 1, Fault.dropBeforeHandling());
    server.failNext(Endpoint.UNLOCK, 1, Fault.dropAfterHandling());
    MaintenanceClient client = client();

    try (MaintenanceLock lock = client.lock()) {
      client.startExternalBackup(lock);
      client.awaitDrained(lock, Duration.ofSeconds(10));
      client.reportProgress(lock, 100);
    }

    assertThat(server.calls(Endpoint.UNLOCK)).isEqualTo(2);
    assertThat(server.events(EventType.UNLOCK_REFUSED)).hasSize(1);
  }

  @Test
  void a_lost_lock_answer_is_detected_and_reported() {
    bitbucket.server().failNext(Endpoint.LOCK, 1, Fault.dropAfterHandling());
    MaintenanceClient client = client();

    assertThatThrownBy(client::lock)
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.LEFT_LOCKED));
    bitbucket.server().forceUnlock(); // what the message tells the admin to do
  }

  @Test
  void credentials_are_checked_without_locking() {
    assertThat(client().checkCredentials().sysAdmin()).isTrue();
    assertThatThrownBy(() -> client("user", "user").checkCredentials())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_AUTH));
    assertThatThrownBy(() -> client("admin", "nope").checkCredentials())
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_AUTH))
        .hasMessageNotContaining("nope");
    assertThat(bitbucket.server().isLocked()).isFalse();
  }

  @Test
  void version_and_health() {
    assertThat(client().applicationProperties().version()).isEqualTo("8.19.1");
    assertThat(client().health()).isEqualTo("RUNNING");
  }
}
