package dev.bbdiy.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.core.internal.Cancellation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import mockwebserver3.SocketEffect;
import mockwebserver3.junit5.StartStop;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every client call against scripted responses: success, each error shape, bad bodies, retries, timeouts. */
class MaintenanceClientTest {
  private static final String TOKEN = "0123456789abcdef0123456789abcdef01234567";
  private static final String CANCEL = "fedcba9876543210fedcba9876543210fedcba98";
  private static final String PASSWORD = "s3cret-Pa55";

  @StartStop final MockWebServer server = new MockWebServer();

  private MaintenanceClient client() {
    return client(server.url("/").toString());
  }

  private MaintenanceClient client(String url) {
    return MaintenanceClient.builder(url)
        .credentials("admin", Secret.of(PASSWORD))
        .retries(3, Duration.ofMillis(5), Duration.ofMillis(20))
        .unlockRetryBudget(Duration.ofMillis(300))
        .pollInterval(Duration.ofMillis(20))
        .callTimeout(Duration.ofSeconds(5))
        .build();
  }

  private static MockResponse json(int code, String body) {
    return new MockResponse.Builder().code(code).addHeader("Content-Type", "application/json").body(body).build();
  }

  private static MockResponse code(int code) {
    return new MockResponse.Builder().code(code).build();
  }

  private static MockResponse drop() {
    return new MockResponse.Builder().onResponseStart(new SocketEffect.CloseSocket()).build();
  }

  private static String lockBody() {
    return "{\"unlockToken\":\"" + TOKEN + "\",\"owner\":{\"displayName\":\"Admin User\",\"name\":\"admin\"}}";
  }

  private MaintenanceLock lock(MaintenanceClient client) throws Exception {
    server.enqueue(json(202, lockBody()));
    MaintenanceLock lock = client.lock();
    server.takeRequest();
    return lock;
  }

  @Nested
  class Lock {
    @Test
    void posts_json_with_basic_auth_and_returns_the_token_and_owner() throws Exception {
      server.enqueue(json(202, lockBody()));

      MaintenanceLock lock = client().lock();

      assertThat(lock.unlockToken()).isEqualTo(TOKEN);
      assertThat(lock.owner()).isEqualTo("Admin User");
      assertThat(lock.toString()).doesNotContain(TOKEN);
      RecordedRequest request = server.takeRequest();
      assertThat(request.getMethod()).isEqualTo("POST");
      assertThat(request.getUrl().encodedPath()).isEqualTo("/mvc/maintenance/lock");
      assertThat(request.getHeaders().get("Content-Type")).startsWith("application/json");
      assertThat(request.getHeaders().get("Authorization")).startsWith("Basic ");
      assertThat(request.getHeaders().get("Accept")).isEqualTo("application/json");
    }

    @Test
    void keeps_the_context_path_of_the_base_url() throws Exception {
      server.enqueue(json(202, lockBody()));

      client(server.url("/bitbucket/").toString()).lock();

      assertThat(server.takeRequest().getUrl().encodedPath()).isEqualTo("/bitbucket/mvc/maintenance/lock");
    }

    @Test
    void already_locked_is_busy_and_quotes_bitbucket() {
      server.enqueue(json(409, "{\"errorTexts\":[\"The system has already been locked for maintenance.\"]}"));

      assertThatThrownBy(() -> client().lock())
          .isInstanceOfSatisfying(BitbucketException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_BUSY);
            assertThat(e.status()).isEqualTo(409);
          })
          .hasMessageContaining("already been locked for maintenance")
          .hasMessageContaining("bbdiy unlock --recover");
      assertThat(server.getRequestCount()).isEqualTo(1);
    }

    @Test
    void rejected_credentials_are_an_auth_error_without_the_password() {
      server.enqueue(json(401, "{\"errors\":[{\"context\":null,\"message\":\"Authentication failed\"}]}"));

      assertThatThrownBy(() -> client().lock())
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_AUTH))
          .hasMessageContaining("admin")
          .hasMessageNotContaining(PASSWORD);
    }

    @Test
    void forbidden_says_sys_admin_is_needed() {
      server.enqueue(json(403, "{\"errors\":[{\"message\":\"You are not permitted\"}]}"));

      assertThatThrownBy(() -> client().lock())
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_AUTH))
          .hasMessageContaining("SYS_ADMIN");
    }

    @Test
    void redirect_to_login_is_an_auth_error_and_is_not_followed() {
      server.enqueue(new MockResponse.Builder().code(302).addHeader("Location", "/login?next=/mvc").build());

      assertThatThrownBy(() -> client().lock())
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_AUTH))
          .hasMessageContaining("login page");
      assertThat(server.getRequestCount()).isEqualTo(1);
    }

    @Test
    void other_redirects_point_at_the_url() {
      server.enqueue(new MockResponse.Builder().code(301).addHeader("Location", "https://elsewhere/").build());

      assertThatThrownBy(() -> client().lock())
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_PROTOCOL))
          .hasMessageContaining("bitbucket.url");
    }

    @Test
    void a_missing_unlock_token_is_never_the_string_null() {
      server.enqueue(json(202, "{\"owner\":{\"name\":\"admin\"}}"));

      assertThatThrownBy(() -> client().lock())
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.LEFT_LOCKED))
          .hasMessageContaining("unlockToken");
    }

    @Test
    void a_malformed_answer_to_an_accepted_lock_says_it_may_be_locked() {
      server.enqueue(json(202, "<html>not json</html>"));

      assertThatThrownBy(() -> client().lock())
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.LEFT_LOCKED));
    }

    @Test
    void unknown_outcome_asks_status_and_relocks_when_bitbucket_is_not_locked() throws Exception {
      server.enqueue(drop());
      server.enqueue(json(200, "{\"state\":\"RUNNING\"}"));
      server.enqueue(json(202, lockBody()));

      MaintenanceLock lock = client().lock();

      assertThat(lock.unlockToken()).isEqualTo(TOKEN);
      server.takeRequest(); // the dropped one
      assertThat(server.takeRequest().getUrl().encodedPath()).isEqualTo("/status");
      assertThat(server.takeRequest().getUrl().encodedPath()).isEqualTo("/mvc/maintenance/lock");
    }

    @Test
    void unknown_outcome_with_bitbucket_in_maintenance_is_left_locked_and_not_retried() throws Exception {
      server.enqueue(code(500));
      server.enqueue(json(200, "{\"state\":\"MAINTENANCE\"}"));

      assertThatThrownBy(() -> client().lock())
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.LEFT_LOCKED))
          .hasMessageContaining("MAINTENANCE");
      assertThat(server.getRequestCount()).isEqualTo(2);
    }

    @Test
    void an_unanswered_lock_with_bitbucket_silent_may_have_locked_it() {
      MaintenanceClient client = client().newBuilder().callTimeout(Duration.ofMillis(500)).build();
      server.enqueue(new MockResponse.Builder().code(202).body(lockBody()).headersDelay(10, TimeUnit.SECONDS)
          .build());
      server.enqueue(new MockResponse.Builder().code(200).body("{\"state\":\"MAINTENANCE\"}")
          .headersDelay(10, TimeUnit.SECONDS).build());

      assertThatThrownBy(client::lock)
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.LEFT_LOCKED))
          .hasMessageContaining("restarting Bitbucket");
      assertThat(server.getRequestCount()).as("the lock and one status check, no second lock").isEqualTo(2);
    }

    @Test
    void a_lock_that_cannot_even_connect_is_unavailable() {
      assertThatThrownBy(() -> client("http://127.0.0.1:1/").lock())
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_UNAVAILABLE));
    }

    @Test
    void needs_credentials() {
      MaintenanceClient anonymous = MaintenanceClient.builder(server.url("/").toString()).build();

      assertThatThrownBy(anonymous::lock)
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
          .hasMessageContaining("bitbucket.user");
    }
  }

  @Nested
  class StartExternalBackup {
    @Test
    void sends_the_maintenance_token_and_returns_the_cancel_token() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(json(202, "{\"id\":\"42\",\"progress\":{\"message\":\"Draining\",\"percentage\":0},"
          + "\"state\":\"RUNNING\",\"type\":\"BACKUP\",\"cancelToken\":\"" + CANCEL + "\"}"));

      ExternalBackup backup = client.startExternalBackup(lock);

      assertThat(backup.id()).isEqualTo("42");
      assertThat(backup.cancelToken()).isEqualTo(CANCEL);
      assertThat(backup.toString()).doesNotContain(CANCEL);
      RecordedRequest request = server.takeRequest();
      assertThat(request.getUrl().encodedPath()).isEqualTo("/mvc/admin/backups");
      assertThat(request.getUrl().queryParameter("external")).isEqualTo("true");
      assertThat(request.getHeaders().get("X-Atlassian-Maintenance-Token")).isEqualTo(TOKEN);
    }

    @Test
    void other_maintenance_in_progress_is_busy() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(json(409, "{\"errorTexts\":[\"Backup cannot be started because other system maintenance is"
          + " already in progress.\"]}"));

      assertThatThrownBy(() -> client.startExternalBackup(lock))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_BUSY))
          .hasMessageContaining("other system maintenance");
    }

    @Test
    void a_missing_cancel_token_is_a_protocol_error() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(json(202, "{\"id\":\"42\",\"state\":\"RUNNING\"}"));

      assertThatThrownBy(() -> client.startExternalBackup(lock))
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_PROTOCOL))
          .hasMessageContaining("cancelToken");
    }

    @Test
    void the_maintenance_page_is_reported_by_its_title() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(new MockResponse.Builder().code(400)
          .body("<html><head><title>Bitbucket - Maintenance</title></head></html>").build());

      assertThatThrownBy(() -> client.startExternalBackup(lock)).hasMessageContaining("Bitbucket - Maintenance");
    }
  }

  @Nested
  class Status {
    @Test
    void reads_the_hyphenated_latch_keys_and_the_task() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(json(200, "{\"task\":{\"id\":\"7\",\"progress\":{\"message\":\"Drained\",\"percentage\":10},"
          + "\"state\":\"RUNNING\",\"type\":\"BACKUP\"},\"db-state\":\"DRAINED\",\"scm-state\":\"LATCHED\"}"));

      MaintenanceStatus status = client.status(lock);

      assertThat(status.db()).isEqualTo(LatchState.DRAINED);
      assertThat(status.scm()).isEqualTo(LatchState.LATCHED);
      assertThat(status.drained()).isFalse();
      assertThat(status.task()).isNotNull();
      assertThat(status.task().state()).isEqualTo(TaskState.RUNNING);
      assertThat(status.task().percentage()).isEqualTo(10);
      assertThat(server.takeRequest().getHeaders().get("X-Atlassian-Maintenance-Token")).isEqualTo(TOKEN);
    }

    @Test
    void no_task_yet_and_unknown_latch_values_are_not_drained() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(json(200, "{\"db-state\":\"DRAINING\",\"scm-state\":\"DRAINED\"}"));

      MaintenanceStatus status = client.status(lock);

      assertThat(status.task()).isNull();
      assertThat(status.db()).isEqualTo(LatchState.UNKNOWN);
      assertThat(status.rawDb()).isEqualTo("DRAINING");
      assertThat(status.drained()).isFalse();
    }

    @Test
    void not_found_means_nothing_to_report() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(code(404));

      assertThat(client.status(lock).task()).isNull();
    }

    @Test
    void server_errors_and_dropped_connections_are_retried() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(code(503));
      server.enqueue(drop());
      server.enqueue(json(200, "{\"db-state\":\"DRAINED\",\"scm-state\":\"DRAINED\"}"));

      assertThat(client.status(lock).drained()).isTrue();
      assertThat(server.getRequestCount()).isEqualTo(4);
    }

    @Test
    void gives_up_after_the_retry_limit() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      for (int i = 0; i < 3; i++) {
        server.enqueue(code(502));
      }

      assertThatThrownBy(() -> client.status(lock))
          .isInstanceOfSatisfying(BbdiyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_UNAVAILABLE);
            assertThat(e.retryable()).isTrue();
          });
    }

    @Test
    void malformed_json_is_a_protocol_error() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(json(200, "{\"db-state\": "));

      assertThatThrownBy(() -> client.status(lock))
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_PROTOCOL));
    }

    @Test
    void a_slow_server_times_out_and_is_retried() throws Exception {
      MaintenanceClient client = client().newBuilder().callTimeout(Duration.ofMillis(200)).build();
      MaintenanceLock lock = lock(client);
      server.enqueue(new MockResponse.Builder().code(200).body("{}").headersDelay(2, TimeUnit.SECONDS).build());
      server.enqueue(json(200, "{\"db-state\":\"DRAINED\",\"scm-state\":\"DRAINED\"}"));

      assertThat(client.status(lock).drained()).isTrue();
    }
  }

  @Nested
  class AwaitDrained {
    @Test
    void polls_until_both_latches_are_drained() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(json(200, "{\"db-state\":\"LATCHED\",\"scm-state\":\"LATCHED\"}"));
      server.enqueue(json(200, "{\"db-state\":\"DRAINED\",\"scm-state\":\"LATCHED\"}"));
      server.enqueue(json(200, "{\"db-state\":\"DRAINED\",\"scm-state\":\"DRAINED\"}"));

      assertThat(client.awaitDrained(lock, Duration.ofSeconds(5)).drained()).isTrue();
      assertThat(server.getRequestCount()).isEqualTo(4);
    }

    @Test
    void fails_fast_when_the_task_leaves_running() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(json(200, "{\"task\":{\"id\":\"1\",\"state\":\"FAILED\",\"progress\":{\"message\":\"Operations"
          + " from one or more SCMs did not finish\",\"percentage\":0}},\"db-state\":\"AVAILABLE\","
          + "\"scm-state\":\"AVAILABLE\"}"));

      assertThatThrownBy(() -> client.awaitDrained(lock, Duration.ofSeconds(5)))
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.BACKUP_TASK_FAILED))
          .hasMessageContaining("FAILED")
          .hasMessageContaining("did not finish");
    }

    @Test
    void times_out_with_the_latch_states() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.setDispatcher(new Dispatcher() {
        @Override
        public MockResponse dispatch(RecordedRequest request) {
          return json(200, "{\"task\":{\"id\":\"1\",\"state\":\"RUNNING\"},\"db-state\":\"DRAINED\","
              + "\"scm-state\":\"LATCHED\"}");
        }
      });

      assertThatThrownBy(() -> client.awaitDrained(lock, Duration.ofMillis(300)))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.DRAIN_TIMEOUT))
          .hasMessageContaining("git LATCHED");
    }

    @Test
    void is_interruptible() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.setDispatcher(new Dispatcher() {
        @Override
        public MockResponse dispatch(RecordedRequest request) {
          return json(200, "{\"db-state\":\"LATCHED\",\"scm-state\":\"LATCHED\"}");
        }
      });
      Thread.currentThread().interrupt();
      try {
        assertThatThrownBy(() -> client.awaitDrained(lock, Duration.ofSeconds(30)))
            .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERRUPTED));
      } finally {
        Thread.interrupted();
      }
    }
  }

  @Nested
  class Progress {
    @Test
    void posts_the_unlock_token_and_percentage_and_never_goes_backwards() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(code(202));
      server.enqueue(code(202));

      client.reportProgress(lock, 50);
      client.reportProgress(lock, 40);
      client.reportProgress(lock, 50);
      client.reportProgress(lock, 100);

      RecordedRequest first = server.takeRequest();
      assertThat(first.getMethod()).isEqualTo("POST");
      assertThat(first.getUrl().encodedPath()).isEqualTo("/mvc/admin/backups/progress/client");
      assertThat(first.getUrl().queryParameter("token")).isEqualTo(TOKEN);
      assertThat(first.getUrl().queryParameter("percentage")).isEqualTo("50");
      assertThat(server.takeRequest().getUrl().queryParameter("percentage")).isEqualTo("100");
      assertThat(server.getRequestCount()).isEqualTo(3);
    }

    @Test
    void rejects_values_out_of_range() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);

      assertThatThrownBy(() -> client.reportProgress(lock, 101)).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> client.reportProgress(lock, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void is_retried_on_server_errors() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(code(500));
      server.enqueue(code(202));

      client.reportProgress(lock, 100);

      assertThat(server.getRequestCount()).isEqualTo(3);
    }

    @Test
    void not_backing_up_is_reported() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(json(409, "{\"errorTexts\":[\"The system is not currently backing up\"]}"));

      assertThatThrownBy(() -> client.reportProgress(lock, 100)).hasMessageContaining("not currently backing up");
    }
  }

  @Nested
  class Unlock {
    @Test
    void deletes_the_lock_with_the_token_and_accepts_202() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(code(202));

      lock.close();
      lock.close();

      assertThat(lock.isReleased()).isTrue();
      RecordedRequest request = server.takeRequest();
      assertThat(request.getMethod()).isEqualTo("DELETE");
      assertThat(request.getUrl().encodedPath()).isEqualTo("/mvc/maintenance/lock");
      assertThat(request.getUrl().queryParameter("token")).isEqualTo(TOKEN);
      assertThat(server.getRequestCount()).isEqualTo(2);
    }

    @Test
    void accepts_200() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(code(200));

      client.unlock(lock);

      assertThat(lock.isReleased()).isTrue();
    }

    @Test
    void retries_server_errors() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(code(503));
      server.enqueue(code(500));
      server.enqueue(code(202));

      client.unlock(lock);

      assertThat(lock.isReleased()).isTrue();
    }

    @Test
    void a_lost_answer_followed_by_a_refusal_is_success_when_bitbucket_is_running() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(drop());
      server.enqueue(json(409, "{\"errorTexts\":[\"The system is not currently locked for maintenance.\"]}"));
      server.enqueue(json(200, "{\"state\":\"RUNNING\"}"));

      client.unlock(lock);

      assertThat(lock.isReleased()).isTrue();
    }

    @Test
    void failing_for_good_is_left_locked_with_the_command_that_unlocks() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.setDispatcher(new Dispatcher() {
        @Override
        public MockResponse dispatch(RecordedRequest request) {
          return code(500);
        }
      });

      assertThatThrownBy(() -> client.unlock(lock))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.LEFT_LOCKED))
          .hasMessageContaining("-X DELETE")
          .hasMessageContaining(TOKEN)
          .hasMessageContaining("bbdiy unlock --token " + TOKEN)
          .hasMessageNotContaining(PASSWORD);
      assertThat(lock.isReleased()).isFalse();
    }

    @Test
    void a_wrong_token_while_still_locked_is_left_locked() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(json(409, "{\"errorTexts\":[\"The provided unlock token is incorrect.\"]}"));
      server.enqueue(json(200, "{\"state\":\"MAINTENANCE\"}"));

      assertThatThrownBy(() -> client.unlock(lock))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.LEFT_LOCKED))
          .hasMessageContaining("unlock token is incorrect");
    }

    @Test
    void a_token_refused_while_locked_is_not_advised_again_but_what_to_do_is() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = client.adopt(TOKEN);
      server.enqueue(json(409, "{\"errorTexts\":[\"The provided unlock token is incorrect.\"]}"));
      server.enqueue(json(200, "{\"state\":\"MAINTENANCE\"}"));

      assertThatThrownBy(() -> client.unlock(lock))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.LEFT_LOCKED))
          .hasMessageContaining("not with this unlock token")
          .hasMessageContaining("The provided unlock token is incorrect.")
          .hasMessageContaining("bbdiy status")
          .hasMessageContaining("bbdiy unlock --recover")
          .hasMessageContaining(server.url("/").toString().replaceAll("/$", "") + "/admin")
          .hasMessageNotContaining("--token " + TOKEN)
          .hasMessageNotContaining("token=" + TOKEN);
      assertThat(server.getRequestCount()).as("one refusal is enough").isEqualTo(2);
    }
  }

  @Nested
  class Limits {
    private MockResponse hang() {
      return new MockResponse.Builder().code(200).body("{}").headersDelay(10, TimeUnit.SECONDS).build();
    }

    private Duration since(long start) {
      return Duration.ofNanos(System.nanoTime() - start);
    }

    @Test
    void a_limited_view_cuts_a_hanging_call_at_the_time_left() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(hang());
      long start = System.nanoTime();

      assertThatThrownBy(() -> client.limitedTo(Duration.ofMillis(300), Cancellation.never()).status(lock))
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_UNAVAILABLE))
          .hasMessageContaining("did not answer within")
          .hasMessageContaining("all the time this step had left");

      assertThat(since(start)).as("the call timeout is 5 s").isLessThan(Duration.ofMillis(2000));
    }

    @Test
    void cancelling_aborts_the_call_in_flight_at_once() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(hang());
      Cancellation cancellation = new Cancellation();
      MaintenanceClient view = client.limitedTo(Duration.ofSeconds(30), cancellation);
      Thread canceller = new Thread(() -> {
        try {
          Thread.sleep(200);
        } catch (InterruptedException e) {
          return;
        }
        cancellation.cancel("the watchdog fired");
      });
      long start = System.nanoTime();
      canceller.start();

      assertThatThrownBy(() -> view.status(lock))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERRUPTED))
          .hasMessageContaining("the watchdog fired");

      assertThat(since(start)).as("the call timeout is 5 s").isLessThan(Duration.ofMillis(3000));
      canceller.join();
    }

    @Test
    void no_retry_is_started_that_cannot_end_in_time() throws Exception {
      MaintenanceClient client = client().newBuilder()
          .retries(5, Duration.ofMillis(400), Duration.ofMillis(400)).build();
      MaintenanceLock lock = lock(client);
      server.enqueue(code(503));
      server.enqueue(json(200, "{\"db-state\":\"DRAINED\",\"scm-state\":\"DRAINED\"}"));
      long start = System.nanoTime();

      assertThatThrownBy(() -> client.limitedTo(Duration.ofMillis(300), Cancellation.never()).status(lock))
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_UNAVAILABLE));

      assertThat(since(start)).as("no 400 ms pause").isLessThan(Duration.ofMillis(390));
      assertThat(server.getRequestCount()).as("the lock and one status read").isEqualTo(2);
    }

    @Test
    void progress_reports_take_a_quarter_of_the_time_left_at_most() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(hang());
      long start = System.nanoTime();

      assertThatThrownBy(() -> client.limitedTo(Duration.ofMillis(2000), Cancellation.never())
          .reportProgress(lock, 50))
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_UNAVAILABLE));

      assertThat(since(start)).as("a quarter of 2 s, not the 2 s every report may take")
          .isLessThan(Duration.ofMillis(1500));
    }

    @Test
    void the_unlock_is_neither_limited_nor_aborted() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      Cancellation cancelled = new Cancellation();
      cancelled.cancel("the watchdog fired");
      server.enqueue(code(202));

      client.limitedTo(Duration.ofMillis(1), cancelled).unlock(lock);

      assertThat(lock.isReleased()).isTrue();
    }

    @Test
    void an_unlock_that_hangs_ends_with_its_budget_and_asks_bitbucket() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(new MockResponse.Builder().code(202).headersDelay(10, TimeUnit.SECONDS).build());
      server.enqueue(json(200, "{\"state\":\"MAINTENANCE\"}"));
      long start = System.nanoTime();

      assertThatThrownBy(() -> client.unlock(lock))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.LEFT_LOCKED))
          .hasMessageContaining("bbdiy unlock --token " + TOKEN);

      assertThat(since(start)).as("the unlock budget is 300 ms, the call timeout 5 s")
          .isLessThan(Duration.ofMillis(1500));
    }

    @Test
    void an_unanswered_unlock_that_took_effect_is_a_release() throws Exception {
      MaintenanceClient client = client();
      MaintenanceLock lock = lock(client);
      server.enqueue(new MockResponse.Builder().code(202).headersDelay(10, TimeUnit.SECONDS).build());
      server.enqueue(json(200, "{\"state\":\"RUNNING\"}"));

      client.unlock(lock);

      assertThat(lock.isReleased()).isTrue();
    }
  }

  @Nested
  class OtherCalls {
    @Test
    void cancel_posts_the_cancel_token() throws Exception {
      server.enqueue(code(202));

      client().cancel(new ExternalBackup("1", CANCEL));

      RecordedRequest request = server.takeRequest();
      assertThat(request.getMethod()).isEqualTo("POST");
      assertThat(request.getUrl().encodedPath()).isEqualTo("/mvc/maintenance");
      assertThat(request.getUrl().queryParameter("token")).isEqualTo(CANCEL);
    }

    @Test
    void application_properties_need_no_login() throws Exception {
      server.enqueue(json(200, "{\"version\":\"8.19.1\",\"buildNumber\":\"8019001\",\"buildDate\":\"1\","
          + "\"displayName\":\"Bitbucket\"}"));

      ApplicationProperties props = client().applicationProperties();

      assertThat(props.version()).isEqualTo("8.19.1");
      assertThat(props.isAtLeast(4, 8)).isTrue();
      assertThat(new ApplicationProperties("4.7.2", "", "").isAtLeast(4, 8)).isFalse();
      assertThat(new ApplicationProperties("10.0.0", "", "").isAtLeast(4, 8)).isTrue();
      assertThat(server.takeRequest().getHeaders().get("Authorization")).isNull();
    }

    @Test
    void rest_error_shape_is_read() {
      server.enqueue(json(400, "{\"errors\":[{\"context\":null,\"message\":\"Something is off\","
          + "\"exceptionName\":\"x\"}]}"));

      assertThatThrownBy(() -> client().applicationProperties()).hasMessageContaining("Something is off");
    }

    @Test
    void check_credentials_reads_the_global_permission() throws Exception {
      server.enqueue(json(200, "{\"size\":1,\"values\":[{\"user\":{\"name\":\"admin\"},"
          + "\"permission\":\"SYS_ADMIN\"}]}"));

      CredentialCheck check = client().checkCredentials();

      assertThat(check.sysAdmin()).isTrue();
      RecordedRequest request = server.takeRequest();
      assertThat(request.getUrl().encodedPath()).isEqualTo("/rest/api/1.0/admin/permissions/users");
      assertThat(request.getUrl().queryParameter("filter")).isEqualTo("admin");
    }

    @Test
    void health_reads_the_state_even_from_a_503() {
      server.enqueue(json(503, "{\"state\":\"STARTING\"}"));
      server.enqueue(json(503, "{\"state\":\"STARTING\"}"));
      server.enqueue(json(503, "{\"state\":\"STARTING\"}"));

      assertThat(client().health()).isEqualTo("STARTING");
    }

    @Test
    void unreachable_bitbucket_names_the_url() {
      MaintenanceClient client = client("http://127.0.0.1:1/");

      assertThatThrownBy(client::applicationProperties)
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_UNAVAILABLE))
          .hasMessageContaining("127.0.0.1:1");
    }

    @Test
    void bad_urls_are_configuration_errors() {
      assertThatThrownBy(() -> MaintenanceClient.builder("bitbucket.example.com"))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION));
    }

    @Test
    void credentials_in_the_url_are_refused_without_echoing_them() {
      for (String url : List.of("https://backup:" + PASSWORD + "@bitbucket.example.com",
          "https://backup:" + PASSWORD + "@bitbucket.example.com/bitbucket?x=1",
          "https://backup@bitbucket.example.com",
          "htps://backup:" + PASSWORD + "@bitbucket.example.com",
          "https://backup:s3/cret-" + PASSWORD + "@bitbucket.example.com")) {
        assertThatThrownBy(() -> MaintenanceClient.builder(url))
            .as(url)
            .isInstanceOfSatisfying(BbdiyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
            .hasMessageContaining("bitbucket.url")
            .hasMessageNotContaining(PASSWORD)
            .hasMessageNotContaining("cret-");
      }
      assertThatThrownBy(() -> MaintenanceClient.builder("https://backup:" + PASSWORD + "@bitbucket.example.com"))
          .hasMessageContaining("bitbucket.user")
          .hasMessageContaining("bitbucket.password.file")
          .hasMessageContaining("https://***@bitbucket.example.com");
    }

    @Test
    void to_string_never_shows_the_password() {
      assertThat(client().toString()).doesNotContain(PASSWORD);
    }
  }

  @Nested
  class Https {
    @TempDir Path dir;

    @Test
    void verifies_certificates_and_trusts_a_private_ca_bundle() throws Exception {
      HeldCertificate ca = new HeldCertificate.Builder().certificateAuthority(0).commonName("Test CA").build();
      HeldCertificate serverCert = new HeldCertificate.Builder().signedBy(ca)
          .addSubjectAlternativeName(server.getHostName()).build();
      HandshakeCertificates serverCerts = new HandshakeCertificates.Builder()
          .heldCertificate(serverCert, ca.certificate()).build();
      server.useHttps(serverCerts.sslSocketFactory());
      server.enqueue(json(200, "{\"version\":\"9.4.0\"}"));
      server.enqueue(json(200, "{\"version\":\"9.4.0\"}"));
      String url = server.url("/").toString();
      assertThat(url).startsWith("https://");

      assertThatThrownBy(() -> client(url).applicationProperties())
          .isInstanceOfSatisfying(BbdiyException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.BITBUCKET_UNAVAILABLE))
          .hasMessageContaining("bitbucket.ca-certificates");

      Path bundle = dir.resolve("ca.pem");
      Files.writeString(bundle, ca.certificatePem(), StandardCharsets.US_ASCII);
      MaintenanceClient trusting = client(url).newBuilder().trustedCertificates(bundle).build();
      assertThat(trusting.applicationProperties().version()).isEqualTo("9.4.0");
    }

    @Test
    void an_untrusted_certificate_fails_the_unlock_at_once_with_the_hint() {
      HeldCertificate selfSigned = new HeldCertificate.Builder().commonName("Self-signed")
          .addSubjectAlternativeName(server.getHostName()).build();
      server.useHttps(new HandshakeCertificates.Builder().heldCertificate(selfSigned).build().sslSocketFactory());
      MaintenanceClient client = client(server.url("/").toString()).newBuilder()
          .unlockRetryBudget(Duration.ofSeconds(20)).build();
      long start = System.nanoTime();

      assertThatThrownBy(() -> client.unlock(client.adopt(TOKEN)))
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.LEFT_LOCKED))
          .hasMessageContaining("bitbucket.ca-certificates");

      assertThat(Duration.ofNanos(System.nanoTime() - start)).as("not retried for the unlock budget")
          .isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void an_unreadable_bundle_is_a_configuration_error() throws Exception {
      Path bundle = dir.resolve("empty.pem");
      Files.writeString(bundle, "nothing here");

      assertThatThrownBy(() -> client().newBuilder().trustedCertificates(bundle).build())
          .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION));
    }
  }
}
