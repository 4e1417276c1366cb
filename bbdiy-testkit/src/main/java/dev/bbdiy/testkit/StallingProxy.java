package dev.bbdiy.testkit;

import dev.bbdiy.simulator.FakeBitbucketServer;

import dev.bbdiy.simulator.FakeBitbucketServer.Endpoint;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiPredicate;
import org.jspecify.annotations.Nullable;

/**
 * A TCP proxy in front of an HTTP server (usually a {@link FakeBitbucketServer}) that passes every request through,
 * except the ones it is told to stall: it then hangs as a real server behind a broken load balancer, a full disk or
 * a dead database does, which no status-code fault can imitate. Tests use it to prove that a client gives up within
 * its budgets and that Bitbucket never stays locked longer than allowed.
 *
 * <pre>{@code
 * try (StallingProxy proxy = StallingProxy.start(bitbucket.server())) {
 *   proxy.stallNext(Endpoint.STATUS, Integer.MAX_VALUE, StallingProxy.Stall.RESPONSE);
 *   MaintenanceClient client = MaintenanceClient.builder(proxy.url())...
 * }
 * }</pre>
 *
 * <p>Three ways to stall a call ({@link Stall}): the request never reaches the server; the server handles it but the
 * answer is withheld; or the answer is cut off halfway. A stalled connection stays open, silent, until the client
 * gives up and closes it (counted by {@link #abandoned}) or the proxy is closed.
 *
 * <p>Plain HTTP/1.1 only, one request per connection: the proxy adds {@code Connection: close} to every request and
 * answer, so each call gets a connection of its own and can be stalled alone. Request bodies need a {@code
 * Content-Length}. Listens on the loopback interface. Thread-safe.
 */
public final class StallingProxy implements AutoCloseable {

  /** How a stalled call hangs. */
  public enum Stall {
    /** The request never reaches the server and nothing is answered: the call has no effect. */
    REQUEST,
    /** The server handles the request, but its answer is withheld: the call had its effect, the client cannot know. */
    RESPONSE,
    /**
     * The server handles the request; the first half of its answer (status line, headers and body, as bytes) is
     * sent, then nothing more.
     */
    MID_RESPONSE
  }

  private static final int MAX_HEAD = 64 * 1024;
  private static final int UPSTREAM_TIMEOUT_MILLIS = 120_000;

  private final String host;
  private final int targetPort;
  private final String contextPath;
  private final ServerSocket listener;
  private final ExecutorService executor;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final Map<Endpoint, AtomicInteger> stalled = new EnumMap<>(Endpoint.class);
  private final Map<Endpoint, AtomicInteger> abandoned = new EnumMap<>(Endpoint.class);
  private final List<Rule> rules = new ArrayList<>();
  private volatile boolean closed;

  private static final class Rule {
    final BiPredicate<String, String> matches;
    final Endpoint endpoint;
    final Stall stall;
    int remaining;

    Rule(BiPredicate<String, String> matches, Endpoint endpoint, Stall stall, int remaining) {
      this.matches = matches;
      this.endpoint = endpoint;
      this.stall = stall;
      this.remaining = remaining;
    }
  }

  private StallingProxy(URI target) throws IOException {
    if (!"http".equals(target.getScheme()) || target.getHost() == null || target.getPort() < 0) {
      throw new IllegalArgumentException("Not an http://host:port URL: " + target);
    }
    this.host = target.getHost();
    this.targetPort = target.getPort();
    String path = target.getRawPath() == null ? "" : target.getRawPath();
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    this.contextPath = path;
    for (Endpoint e : Endpoint.values()) {
      stalled.put(e, new AtomicInteger());
      abandoned.put(e, new AtomicInteger());
    }
    this.listener = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
    this.executor = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "stalling-proxy");
      t.setDaemon(true);
      return t;
    });
    executor.execute(this::acceptLoop);
  }

  /** Starts a proxy in front of the simulator. */
  public static StallingProxy start(FakeBitbucketServer server) {
    return start(server.url());
  }

  /**
   * Starts a proxy in front of the server at {@code baseUrl} ({@code http://host:port}, with a context path if the
   * server has one), on a free loopback port.
   */
  public static StallingProxy start(String baseUrl) {
    Objects.requireNonNull(baseUrl, "baseUrl");
    try {
      return new StallingProxy(URI.create(baseUrl));
    } catch (IOException e) {
      throw new IllegalStateException("Cannot start the stalling proxy: " + e.getMessage(), e);
    }
  }

  /** Returns the base URL clients use instead of the server's: same context path, the proxy's port. */
  public String url() {
    return "http://" + listener.getInetAddress().getHostAddress() + ":" + listener.getLocalPort() + contextPath;
  }

  /** Returns the port the proxy listens on. */
  public int port() {
    return listener.getLocalPort();
  }

  /**
   * Stalls the next {@code times} calls of {@code endpoint} ({@link Integer#MAX_VALUE}: every one from now on).
   * Rules apply in the order they were added.
   */
  public StallingProxy stallNext(Endpoint endpoint, int times, Stall how) {
    Objects.requireNonNull(endpoint, "endpoint");
    return stallNext((method, path) -> FakeBitbucketServer.endpoint(method, path) == endpoint, endpoint, times,
        how);
  }

  /**
   * Stalls the next {@code times} requests for which {@code matches} holds, given the method and the path below
   * the context path (no query), for servers other than Bitbucket's. They are counted as {@link Endpoint#OTHER}.
   */
  public StallingProxy stallNext(BiPredicate<String, String> matches, int times, Stall how) {
    return stallNext(matches, Endpoint.OTHER, times, how);
  }

  private synchronized StallingProxy stallNext(
      BiPredicate<String, String> matches, Endpoint endpoint, int times, Stall how) {
    Objects.requireNonNull(matches, "matches");
    Objects.requireNonNull(how, "how");
    if (times < 1) {
      throw new IllegalArgumentException("times must be at least 1");
    }
    rules.add(new Rule(matches, endpoint, how, times));
    return this;
  }

  /** Stops stalling new calls. Calls already stalled stay stalled until their client gives up. */
  public synchronized StallingProxy passThrough() {
    rules.clear();
    return this;
  }

  /** Every endpoint has its counters from the start. */
  private static AtomicInteger count(Map<Endpoint, AtomicInteger> counters, Endpoint endpoint) {
    return Objects.requireNonNull(counters.get(endpoint));
  }

  /** Returns how many calls of {@code endpoint} were stalled. */
  public int stalled(Endpoint endpoint) {
    return count(stalled, endpoint).get();
  }

  /** Returns how many stalled calls of {@code endpoint} their client gave up on, by closing the connection. */
  public int abandoned(Endpoint endpoint) {
    return count(abandoned, endpoint).get();
  }

  /** Stops the proxy and closes every connection, stalled ones included. */
  @Override
  public void close() {
    closed = true;
    try {
      listener.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    for (Socket s : open) {
      closeQuietly(s);
    }
    executor.shutdownNow();
  }

  // ---------------------------------------------------------------------------------------------------------

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = listener.accept();
      } catch (IOException e) {
        return;
      }
      open.add(client);
      try {
        executor.execute(() -> serve(client));
      } catch (RuntimeException rejected) {
        closeQuietly(client);
        open.remove(client);
      }
    }
  }

  private void serve(Socket client) {
    try {
      client.setTcpNoDelay(true);
      InputStream in = new BufferedInputStream(client.getInputStream());
      byte[] head = readHead(in);
      if (head == null) {
        return;
      }
      List<String> lines = lines(head);
      String[] requestLine = lines.get(0).split(" ");
      if (requestLine.length < 3) {
        return;
      }
      String method = requestLine[0].toUpperCase(Locale.ROOT);
      String target = requestLine[1];
      if (header(lines, "Transfer-Encoding") != null) {
        client.getOutputStream().write(("HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close"
            + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        return;
      }
      String length = header(lines, "Content-Length");
      byte[] body = in.readNBytes(length == null ? 0 : Integer.parseInt(length.trim()));
      String path = localPath(target);
      Rule rule = take(method, path);
      if (rule != null && rule.stall == Stall.REQUEST) {
        hold(client, in, rule.endpoint);
        return;
      }
      byte[] response = forward(withConnectionClose(lines), body);
      OutputStream out = client.getOutputStream();
      if (rule == null) {
        out.write(response);
        out.flush();
        return;
      }
      if (rule.stall == Stall.MID_RESPONSE) {
        out.write(response, 0, response.length / 2);
        out.flush();
      }
      hold(client, in, rule.endpoint);
    } catch (IOException | RuntimeException e) {
      // The client went away or the server did not answer: this connection is over either way.
    } finally {
      closeQuietly(client);
      open.remove(client);
    }
  }

  /** Keeps a stalled connection open and silent until the client closes it or the proxy stops. */
  private void hold(Socket client, InputStream in, Endpoint endpoint) {
    count(stalled, endpoint).incrementAndGet();
    try {
      while (in.read() >= 0) {
        // discard whatever the client still sends
      }
    } catch (IOException e) {
      // a reset is the client giving up too
    }
    if (!closed) {
      count(abandoned, endpoint).incrementAndGet();
    }
  }

  private synchronized @Nullable Rule take(String method, String path) {
    for (Rule r : rules) {
      if (r.remaining > 0 && r.matches.test(method, path)) {
        if (r.remaining != Integer.MAX_VALUE) {
          r.remaining--;
        }
        return r;
      }
    }
    return null;
  }

  private String localPath(String target) {
    String path = target;
    int q = path.indexOf('?');
    if (q >= 0) {
      path = path.substring(0, q);
    }
    if (path.startsWith("http://") || path.startsWith("https://")) {
      path = URI.create(path).getRawPath();
    }
    if (!contextPath.isEmpty() && path.startsWith(contextPath)) {
      path = path.substring(contextPath.length());
    }
    if (path.startsWith("/system/maintenance")) {
      path = "/mvc/maintenance" + path.substring("/system/maintenance".length());
    }
    return path;
  }

  private byte[] forward(byte[] head, byte[] body) throws IOException {
    try (Socket upstream = new Socket()) {
      upstream.setTcpNoDelay(true);
      upstream.connect(new InetSocketAddress(host, targetPort), 10_000);
      upstream.setSoTimeout(UPSTREAM_TIMEOUT_MILLIS);
      OutputStream out = upstream.getOutputStream();
      out.write(head);
      out.write(body);
      out.flush();
      InputStream in = new BufferedInputStream(upstream.getInputStream());
      byte[] responseHead = readHead(in);
      if (responseHead == null) {
        throw new IOException("the server closed the connection without answering");
      }
      List<String> lines = lines(responseHead);
      String length = header(lines, "Content-Length");
      byte[] responseBody = length == null ? in.readAllBytes() : in.readNBytes(Integer.parseInt(length.trim()));
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      all.write(withConnectionClose(lines));
      all.write(responseBody);
      return all.toByteArray();
    }
  }

  /** Reads up to and including the empty line that ends an HTTP head; {@code null} on end of stream first. */
  private static byte @Nullable [] readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int last4 = 0;
    while (true) {
      int b = in.read();
      if (b < 0) {
        return null;
      }
      head.write(b);
      last4 = (last4 << 8) | b;
      if (last4 == 0x0d0a0d0a) {
        return head.toByteArray();
      }
      if (head.size() > MAX_HEAD) {
        throw new IOException("HTTP head larger than " + MAX_HEAD + " bytes");
      }
    }
  }

  private static List<String> lines(byte[] head) {
    String text = new String(head, StandardCharsets.ISO_8859_1);
    List<String> out = new ArrayList<>();
    for (String line : text.split("\r\n")) {
      if (!line.isEmpty()) {
        out.add(line);
      }
    }
    return out;
  }

  private static @Nullable String header(List<String> lines, String name) {
    for (String line : lines.subList(1, lines.size())) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
        return line.substring(colon + 1).trim();
      }
    }
    return null;
  }

  private static byte[] withConnectionClose(List<String> lines) {
    StringBuilder sb = new StringBuilder(lines.get(0)).append("\r\n");
    for (String line : lines.subList(1, lines.size())) {
      int colon = line.indexOf(':');
      String name = colon > 0 ? line.substring(0, colon).trim() : "";
      if (!name.equalsIgnoreCase("Connection") && !name.equalsIgnoreCase("Keep-Alive")) {
        sb.append(line).append("\r\n");
      }
    }
    sb.append("Connection: close\r\n\r\n");
    return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // nothing to do
    }
  }

  @Override
  public String toString() {
    return "StallingProxy[" + url() + " -> http://" + host + ":" + targetPort + contextPath + "]";
  }
}
