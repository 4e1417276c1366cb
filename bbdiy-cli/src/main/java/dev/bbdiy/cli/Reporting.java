package dev.bbdiy.cli;

import org.jspecify.annotations.Nullable;
import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.kit.PrivateFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * What a backup reports beyond its output: a webhook (a JSON POST whose {@code text} Slack shows) and a metrics
 * file in Prometheus text format for node_exporter's textfile collector. Neither can fail a backup.
 */
final class Reporting {
  private static final Pattern LAST_SUCCESS =
      Pattern.compile("(?m)^bbdiy_last_success_timestamp_seconds\\{[^}]*} (\\S+)$");

  private final Optional<Secret> webhook;
  private final boolean onFailureOnly;
  private final Optional<Path> metrics;
  private final Output output;

  Reporting(Config config, Output output) {
    Settings notify = config.group("notify");
    this.webhook = notify.secret(CoreKeys.WEBHOOK);
    this.onFailureOnly = notify.string(CoreKeys.NOTIFY_ON).toLowerCase(Locale.ROOT).equals("failure");
    this.metrics = config.group("metrics").optionalPath(CoreKeys.METRICS_FILE);
    this.output = output;
  }

  void success(String instance, BackupResult r) {
    metrics(instance, true, r);
    if (!onFailureOnly) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("text", ":white_check_mark: bbdiy backup " + r.id() + " of " + instance + " is complete and verified ("
          + Output.mib(r.stored().size()) + "; Bitbucket locked for "
          + (r.lockWindow() == null ? "0s" : Output.seconds(r.lockWindow())) + ")");
      body.put("status", "success");
      body.put("instance", instance);
      body.put("result", r);
      post(body);
    }
  }

  void failure(String instance, BbdiyException e) {
    metrics(instance, false, null);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("text", ":x: bbdiy backup of " + instance + " FAILED (" + e.code() + "): " + firstLine(e.getMessage()));
    body.put("status", "failure");
    body.put("instance", instance);
    body.put("code", e.code().name());
    body.put("exitCode", e.code().exitCode());
    body.put("message", e.getMessage());
    post(body);
  }

  private static String firstLine(@Nullable String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  private void post(Map<String, Object> body) {
    if (webhook.isEmpty()) {
      return;
    }
    OkHttpClient http = new OkHttpClient.Builder().callTimeout(30, TimeUnit.SECONDS).build();
    Request request = new Request.Builder().url(webhook.get().reveal())
        .post(RequestBody.create(Json.write(body), MediaType.get("application/json"))).build();
    try (Response response = http.newCall(request).execute()) {
      if (!response.isSuccessful()) {
        output.warn("the notification webhook answered HTTP " + response.code());
      }
    } catch (IOException | IllegalArgumentException e) {
      output.warn("the notification webhook failed: " + e.getMessage());
    } finally {
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
  }

  private void metrics(String instance, boolean success, @Nullable BackupResult r) {
    if (metrics.isEmpty()) {
      return;
    }
    Path file = metrics.get();
    String label = "{instance=\"" + instance.replace("\"", "") + "\"}";
    double now = Instant.now().toEpochMilli() / 1000.0;
    String lastSuccess = null;
    try {
      if (Files.exists(file)) {
        Matcher m = LAST_SUCCESS.matcher(Files.readString(file, StandardCharsets.UTF_8));
        if (m.find()) {
          lastSuccess = m.group(1);
        }
      }
    } catch (IOException ignored) {
      // rewritten below
    }
    StringBuilder sb = new StringBuilder();
    gauge(sb, "bbdiy_last_run_timestamp_seconds", "When the last backup ended.", label, fmt(now));
    gauge(sb, "bbdiy_last_run_success", "1 if the last backup succeeded, 0 if it failed.", label, success ? "1" : "0");
    if (success) {
      lastSuccess = fmt(now);
    }
    if (lastSuccess != null) {
      gauge(sb, "bbdiy_last_success_timestamp_seconds", "When the last good backup ended.", label, lastSuccess);
    }
    if (success && r != null) {
      gauge(sb, "bbdiy_last_lock_window_seconds", "How long Bitbucket was locked by the last good backup.", label,
          fmt(r.lockWindow() == null ? 0 : r.lockWindow().toNanos() / 1e9));
      gauge(sb, "bbdiy_last_duration_seconds", "How long the last good backup took.", label,
          fmt(r.total().toNanos() / 1e9));
      gauge(sb, "bbdiy_last_size_bytes", "Stored size of the last good backup.", label,
          Long.toString(r.stored().size()));
      gauge(sb, "bbdiy_last_content_bytes", "Bytes of files in the last good backup.", label,
          Long.toString(r.summary().bytes()));
    }
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      PrivateFiles.writeAtomically(file, sb.toString());
      file.toFile().setReadable(true, false);
    } catch (IOException e) {
      output.warn("cannot write the metrics file " + file + ": " + e.getMessage());
    }
  }

  private static void gauge(StringBuilder sb, String name, String help, String label, String value) {
    sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
    sb.append("# TYPE ").append(name).append(" gauge\n");
    sb.append(name).append(label).append(' ').append(value).append('\n');
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.3f", v);
  }
}
