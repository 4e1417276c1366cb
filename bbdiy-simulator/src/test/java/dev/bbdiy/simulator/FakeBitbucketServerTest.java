package dev.bbdiy.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.simulator.FakeBitbucketServer.Endpoint;
import dev.bbdiy.simulator.FakeBitbucketServer.EventType;
import dev.bbdiy.simulator.FakeBitbucketServer.Fault;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The simulator speaks the protocol of the spec, over plain HTTP, without bbdiy's client. */
class FakeBitbucketServerTest {
  private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
  private FakeBitbucketServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private HttpResponse<String> send(String method, String path, String user, String password, String token)
      throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.url() + path))
        .method(method, HttpRequest.BodyPublishers.noBody())
        .header("Accept", "application/json");
    if (user != null) {
      b.header("Authorization", "Basic " + Base64.getEncoder()
          .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)));
    }
    if (token != null) {
      b.header("X-Atlassian-Maintenance-Token", token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> admin(String method, String path) throws Exception {
    return send(method, path, "admin", "admin", null);
  }

  private static String field(String json, String name) {
    Matcher m = Pattern.compile("\"" + name + "\":\"([^\"]*)\"").matcher(json);
    assertThat(m.find()).as("%s in %s", name, json).isTrue();
    return m.group(1);
  }

  @Test
  void full_external_backup_sequence() throws Exception {
    server = FakeBitbucketServer.builder().drainTime(Duration.ofMillis(50)).start();

    HttpResponse<String> lock = admin("POST", "/mvc/maintenance/lock");
    assertThat(lock.statusCode()).isEqualTo(202);
    String token = field(lock.body(), "unlockToken");
    assertThat(token).matches("[0-9a-f]{40}");
    assertThat(admin("GET", "/status").body()).contains("MAINTENANCE");

    HttpResponse<String> started = send("POST", "/mvc/admin/backups?external=true", "admin", "admin", token);
    assertThat(started.statusCode()).isEqualTo(202);
    assertThat(field(started.body(), "cancelToken")).matches("[0-9a-f]{40}");
    assertThat(send("GET", "/mvc/maintenance", null, null, token).body()).contains("\"db-state\":\"LATCHED\"");
    Thread.sleep(80);
    assertThat(send("GET", "/mvc/maintenance", null, null, token).body())
        .contains("\"db-state\":\"DRAINED\"", "\"scm-state\":\"DRAINED\"", "\"state\":\"RUNNING\"");

    assertThat(admin("POST", "/mvc/admin/backups/progress/client?token=" + token + "&percentage=50").statusCode())
        .isEqualTo(202);
    assertThat(admin("POST", "/mvc/admin/backups/progress/client?token=" + token + "&percentage=40").statusCode())
        .isEqualTo(400);
    assertThat(admin("POST", "/mvc/admin/backups/progress/client?token=" + token + "&percentage=100").statusCode())
        .isEqualTo(202);
    assertThat(server.taskState()).contains("SUCCESSFUL");
    assertThat(send("GET", "/mvc/maintenance", null, null, token).body()).contains("\"db-state\":\"AVAILABLE\"");
    assertThat(server.isLocked()).as("100%% releases the latches, not the lock").isTrue();

    assertThat(send("DELETE", "/mvc/maintenance/lock?token=" + token, null, null, null).statusCode()).isEqualTo(202);
    assertThat(server.isLocked()).isFalse();
    assertThat(server.eventTypes()).containsExactly(EventType.LOCKED, EventType.BACKUP_STARTED, EventType.DRAINED,
        EventType.PROGRESS, EventType.PROGRESS, EventType.TASK_ENDED, EventType.UNLOCKED);
    assertThat(server.lockWindows()).hasSize(1);
    server.assertNotLocked();
  }

  @Test
  void authentication_failures() throws Exception {
    server = FakeBitbucketServer.start();

    HttpResponse<String> anonymous = send("POST", "/mvc/maintenance/lock", null, null, null);
    assertThat(anonymous.statusCode()).isEqualTo(302);
    assertThat(anonymous.headers().firstValue("Location")).hasValueSatisfying(l -> assertThat(l).contains("/login"));
    assertThat(send("POST", "/mvc/maintenance/lock", "admin", "wrong", null).statusCode()).isEqualTo(401);
    assertThat(send("POST", "/mvc/maintenance/lock", "user", "user", null).statusCode()).isEqualTo(403);
    assertThat(server.isLocked()).isFalse();
  }

  @Test
  void second_lock_is_refused_with_the_seen_text() throws Exception {
    server = FakeBitbucketServer.start();
    admin("POST", "/mvc/maintenance/lock");

    HttpResponse<String> second = admin("POST", "/mvc/maintenance/lock");

    assertThat(second.statusCode()).isEqualTo(409);
    assertThat(second.body()).contains("errorTexts", "already been locked");
    server.forceUnlock();
  }

  @Test
  void while_locked_other_requests_get_503_unless_they_carry_the_token() throws Exception {
    server = FakeBitbucketServer.start();
    String token = field(admin("POST", "/mvc/maintenance/lock").body(), "unlockToken");

    assertThat(admin("GET", "/projects").statusCode()).isEqualTo(503);
    assertThat(admin("GET", "/rest/api/1.0/application-properties").statusCode()).isEqualTo(503);
    assertThat(send("GET", "/rest/api/1.0/application-properties", null, null, token).statusCode()).isEqualTo(200);
    assertThat(admin("GET", "/status").statusCode()).isEqualTo(200);
    assertThat(admin("POST", "/mvc/admin/backups?external=true").statusCode()).isEqualTo(503);
    server.forceUnlock();
  }

  @Test
  void system_aliases_and_context_path() throws Exception {
    server = FakeBitbucketServer.builder().contextPath("bitbucket/").start();
    assertThat(server.url()).endsWith("/bitbucket");

    String token = field(admin("POST", "/system/maintenance/lock").body(), "unlockToken");
    assertThat(send("DELETE", "/system/maintenance/lock?token=" + token, null, null, null).statusCode())
        .isEqualTo(202);
    assertThat(http.send(HttpRequest.newBuilder(URI.create(server.url().replace("/bitbucket", "") + "/status"))
        .build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);
  }

  @Test
  void unlock_while_running_cancels_the_task_and_cancel_keeps_the_lock() throws Exception {
    server = FakeBitbucketServer.builder().drainNever().start();
    String token = field(admin("POST", "/mvc/maintenance/lock").body(), "unlockToken");
    String cancel = field(send("POST", "/mvc/admin/backups?external=true", "admin", "admin", token).body(),
        "cancelToken");

    assertThat(admin("POST", "/mvc/maintenance?token=wrong").statusCode()).isEqualTo(409);
    assertThat(admin("POST", "/mvc/maintenance?token=" + cancel).statusCode()).isEqualTo(202);
    assertThat(server.taskState()).contains("CANCELED");
    assertThat(server.isLocked()).isTrue();

    send("POST", "/mvc/admin/backups?external=true", "admin", "admin", token);
    assertThat(send("DELETE", "/mvc/maintenance/lock?token=wrong", null, null, null).statusCode()).isEqualTo(409);
    assertThat(send("DELETE", "/mvc/maintenance/lock?token=" + token, null, null, null).statusCode())
        .isEqualTo(202);
    assertThat(server.taskState()).contains("CANCELED");
    server.assertNotLocked();
  }

  @Test
  void drain_failure_fails_the_task_and_keeps_the_lock() throws Exception {
    server = FakeBitbucketServer.builder().drainFailsAfter(Duration.ofMillis(50)).start();
    String token = field(admin("POST", "/mvc/maintenance/lock").body(), "unlockToken");
    send("POST", "/mvc/admin/backups?external=true", "admin", "admin", token);
    Thread.sleep(80);

    String status = send("GET", "/mvc/maintenance", null, null, token).body();

    assertThat(status).contains("\"state\":\"FAILED\"", "did not finish", "\"db-state\":\"AVAILABLE\"");
    assertThat(server.isLocked()).isTrue();
    server.forceUnlock();
  }

  @Test
  void status_without_anything_to_report_is_404() throws Exception {
    server = FakeBitbucketServer.start();

    assertThat(admin("GET", "/mvc/maintenance").statusCode()).isEqualTo(404);
  }

  @Test
  void faults_and_unlock_status_knob() throws Exception {
    server = FakeBitbucketServer.builder().unlockStatus(200).start();
    server.failNext(Endpoint.LOCK, 1, Fault.status(503));
    server.failNext(Endpoint.LOCK, 1, Fault.dropBeforeHandling());

    assertThat(admin("POST", "/mvc/maintenance/lock").statusCode()).isEqualTo(503);
    assertThat(server.isLocked()).isFalse();
    assertThatThrownBy(() -> admin("POST", "/mvc/maintenance/lock")).isInstanceOf(IOException.class);
    assertThat(server.isLocked()).as("the dropped lock took no effect").isFalse();
    String token = field(admin("POST", "/mvc/maintenance/lock").body(), "unlockToken");

    server.failNext(Endpoint.UNLOCK, 1, Fault.dropAfterHandling());
    assertThatThrownBy(() -> send("DELETE", "/mvc/maintenance/lock?token=" + token, null, null, null))
        .isInstanceOf(IOException.class);
    assertThat(server.isLocked()).as("the dropped unlock took effect").isFalse();
    assertThat(server.calls(Endpoint.UNLOCK)).isEqualTo(1);

    String again = field(admin("POST", "/mvc/maintenance/lock").body(), "unlockToken");
    assertThat(send("DELETE", "/mvc/maintenance/lock?token=" + again, null, null, null).statusCode()).isEqualTo(200);
  }

  @Test
  void application_properties_and_permissions() throws Exception {
    server = FakeBitbucketServer.builder().version("7.21.0").start();

    assertThat(send("GET", "/rest/api/1.0/application-properties", null, null, null).body())
        .contains("\"version\":\"7.21.0\"", "\"buildNumber\":\"7021000\"");
    assertThat(admin("GET", "/rest/api/1.0/admin/permissions/users?filter=admin").body()).contains("SYS_ADMIN");
    assertThat(send("GET", "/rest/api/1.0/admin/permissions/users?filter=user", "user", "user", null).statusCode())
        .isEqualTo(403);
  }

  @Test
  void assert_not_locked_fails_when_locked() throws Exception {
    server = FakeBitbucketServer.start();
    server.lockAs("someone");

    assertThatThrownBy(server::assertNotLocked).isInstanceOf(AssertionError.class).hasMessageContaining("someone");
    server.forceUnlock();
    server.assertNotLocked();
  }
}
