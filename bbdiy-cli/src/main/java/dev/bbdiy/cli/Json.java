package dev.bbdiy.cli;

import com.squareup.moshi.FromJson;
import com.squareup.moshi.JsonAdapter;
import com.squareup.moshi.Moshi;
import com.squareup.moshi.ToJson;
import dev.bbdiy.api.BackupId;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * JSON for {@code --json}: the library's result records as they are, with instants as ISO-8601 strings,
 * durations as seconds (a decimal number), paths and backup ids as strings. URLs never show user info.
 */
final class Json {
  private static final Moshi MOSHI = new Moshi.Builder().add(new Adapters()).build();

  private Json() {}

  static String write(Object value) {
    // The Object adapter picks each value's adapter from its runtime type, mapping maps and lists to theirs.
    JsonAdapter<Object> adapter = MOSHI.adapter(Object.class);
    return Redaction.urls(adapter.serializeNulls().indent("  ").toJson(value));
  }

  /** Writes {@code value} as one line of JSON (no line break inside; strings escape theirs). */
  static String line(Object value) {
    JsonAdapter<Object> adapter = MOSHI.adapter(Object.class);
    return Redaction.urls(adapter.serializeNulls().toJson(value));
  }

  /** Adapters for the JDK types in the result records (Moshi needs both directions of each, even to write). */
  static final class Adapters {
    @ToJson
    String instant(Instant i) {
      return i.toString();
    }

    @FromJson
    Instant instant(String s) {
      return Instant.parse(s);
    }

    @ToJson
    double duration(Duration d) {
      return d.toNanos() / 1e9;
    }

    @FromJson
    Duration duration(double seconds) {
      return Duration.ofNanos((long) (seconds * 1e9));
    }

    @ToJson
    String path(Path p) {
      return p.toString();
    }

    @FromJson
    Path path(String s) {
      return Path.of(s);
    }

    @ToJson
    String backupId(BackupId id) {
      return id.value();
    }

    @FromJson
    BackupId backupId(String s) {
      return new BackupId(s);
    }
  }
}
