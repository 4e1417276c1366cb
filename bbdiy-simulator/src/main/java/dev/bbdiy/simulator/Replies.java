package dev.bbdiy.simulator;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** The HTTP side of the simulator: answers shaped as Bitbucket shapes them, query strings, response writing. */
final class Replies {
  private Replies() {}

  /** An answer to one request. */
  record Reply(int status, String contentType, String body, @Nullable String location) {
    static Reply json(int status, String body) {
      return new Reply(status, "application/json;charset=UTF-8", body, null);
    }

    static Reply empty(int status) {
      return new Reply(status, "application/json;charset=UTF-8", "", null);
    }
  }

  static Reply maintenancePage() {
    return new Reply(503, "text/html", "<html><head><title>Bitbucket - Maintenance</title></head><body>Bitbucket is"
        + " in maintenance mode.</body></html>", null);
  }

  static Reply notFound() {
    return new Reply(404, "text/html", "<html><head><title>Not Found</title></head></html>", null);
  }

  static Reply methodNotAllowed() {
    return error(405, "Method not allowed");
  }

  /** Bitbucket's two error shapes: {@code errors} for authorisation and validation, {@code errorTexts} otherwise. */
  static Reply error(int status, String message) {
    if (status == 401 || status == 403 || status == 400 && message.startsWith("The percentage")) {
      return Reply.json(status, "{\"errors\":[{\"context\":null,\"message\":\"" + message
          + "\",\"exceptionName\":\"com.atlassian.bitbucket.AuthorisationException\"}]}");
    }
    return Reply.json(status, "{\"errorTexts\":[\"" + message + "\"]}");
  }

  static void respond(HttpExchange ex, int status, String contentType, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", contentType);
    ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  static Map<String, String> query(URI uri) {
    Map<String, String> out = new HashMap<>();
    String raw = uri.getRawQuery();
    if (raw == null) {
      return out;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String k = eq < 0 ? pair : pair.substring(0, eq);
      String v = eq < 0 ? "" : pair.substring(eq + 1);
      out.put(URLDecoder.decode(k, StandardCharsets.UTF_8), URLDecoder.decode(v, StandardCharsets.UTF_8));
    }
    return out;
  }
}
