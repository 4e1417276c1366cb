package dev.bbdiy.testkit;

import dev.bbdiy.simulator.FakeBitbucketServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.simulator.FakeBitbucketServer.Endpoint;
import dev.bbdiy.simulator.FakeBitbucketServer.EventType;
import dev.bbdiy.testkit.StallingProxy.Stall;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The proxy passes calls through, and stalls exactly the ones it is told to, in each of its three ways. */
class StallingProxyTest {
  private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
  private final FakeBitbucketServer server = FakeBitbucketServer.builder().contextPath("/bitbucket").start();
  private final StallingProxy proxy = StallingProxy.start(server);

  @AfterEach
  void stop() {
    proxy.close();
    server.forceUnlock();
    server.close();
  }

  private HttpResponse<String> send(String method, String path, Duration timeout) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(proxy.url() + path))
        .method(method, HttpRequest.BodyPublishers.ofString(method.equals("POST") ? "{}" : ""))
        .header("Authorization", "Basic " + Base64.getEncoder().encodeToString("admin:admin".getBytes(
            StandardCharsets.UTF_8)))
        .header("Content-Type", "application/json")
        .timeout(timeout).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void passes_calls_through_with_the_context_path() throws Exception {
    assertThat(proxy.url()).endsWith("/bitbucket").doesNotContain(":" + server.port());

    HttpResponse<String> lock = send("POST", "/mvc/maintenance/lock", Duration.ofSeconds(5));
    HttpResponse<String> health = send("GET", "/status", Duration.ofSeconds(5));

    assertThat(lock.statusCode()).isEqualTo(202);
    assertThat(lock.body()).contains("unlockToken");
    assertThat(health.body()).contains("MAINTENANCE");
    assertThat(server.isLocked()).isTrue();
    assertThat(proxy.stalled(Endpoint.LOCK)).isZero();
  }

  @Test
  void a_stalled_request_never_reaches_the_server() throws Exception {
    proxy.stallNext(Endpoint.LOCK, 1, Stall.REQUEST);

    assertThatThrownBy(() -> send("POST", "/mvc/maintenance/lock", Duration.ofMillis(300)))
        .isInstanceOf(HttpTimeoutException.class);

    assertThat(server.isLocked()).isFalse();
    assertThat(server.calls(Endpoint.LOCK)).isZero();
    assertThat(proxy.stalled(Endpoint.LOCK)).isEqualTo(1);
    // Only the next one: the second call passes.
    assertThat(send("POST", "/mvc/maintenance/lock", Duration.ofSeconds(5)).statusCode()).isEqualTo(202);
  }

  @Test
  void a_stalled_response_has_its_effect_but_no_answer() throws Exception {
    proxy.stallNext(Endpoint.LOCK, Integer.MAX_VALUE, Stall.RESPONSE);

    assertThatThrownBy(() -> send("POST", "/mvc/maintenance/lock", Duration.ofMillis(300)))
        .isInstanceOf(HttpTimeoutException.class);

    assertThat(server.isLocked()).isTrue();
    assertThat(server.eventTypes()).containsExactly(EventType.LOCKED);
    assertThat(send("GET", "/status", Duration.ofSeconds(5)).body()).contains("MAINTENANCE");
  }

  @Test
  void a_response_cut_off_midway_sends_half_and_then_nothing_until_the_client_gives_up() throws Exception {
    proxy.stallNext(Endpoint.APPLICATION_PROPERTIES, 1, Stall.MID_RESPONSE);

    try (Socket s = new Socket("127.0.0.1", proxy.port())) {
      s.setSoTimeout(500);
      OutputStream out = s.getOutputStream();
      out.write(("GET /bitbucket/rest/api/1.0/application-properties HTTP/1.1\r\nHost: x\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      byte[] buffer = new byte[4096];
      int n = 0;
      try {
        int r;
        while ((r = in.read(buffer, n, buffer.length - n)) > 0) {
          n += r;
        }
      } catch (java.net.SocketTimeoutException expected) {
        // the rest never comes
      }
      String received = new String(buffer, 0, n, StandardCharsets.ISO_8859_1);
      assertThat(received).startsWith("HTTP/1.1 200");
      assertThat(received).doesNotContain("Bitbucket\"}");
    }
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (proxy.abandoned(Endpoint.APPLICATION_PROPERTIES) == 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(proxy.abandoned(Endpoint.APPLICATION_PROPERTIES)).isEqualTo(1);
  }
}
