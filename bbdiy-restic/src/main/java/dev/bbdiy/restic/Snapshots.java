package dev.bbdiy.restic;

import com.squareup.moshi.JsonDataException;
import com.squareup.moshi.JsonEncodingException;
import com.squareup.moshi.JsonReader;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import okio.Okio;
import org.jspecify.annotations.Nullable;

/**
 * Reads {@code restic snapshots --json}, trusting nothing in it: every snapshot whose id or tree is not 64 hex
 * digits, whose time does not parse or whose tags are not short strings is dropped (and counted), unknown fields
 * are skipped, and output that is not a JSON array of objects is an error.
 */
final class Snapshots {
  static final int MAX_TAGS = 64;
  static final int MAX_TAG_LENGTH = 512;
  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

  private Snapshots() {}

  /**
   * A snapshot as restic listed it, checked.
   *
   * @param original the snapshot this one replaced when {@code restic tag} changed its tags (restic gives the
   *     changed snapshot a new id), or {@code null}
   */
  record Snapshot(String id, String tree, Instant time, List<String> tags, @Nullable String original) {
    Snapshot(String id, String tree, Instant time, List<String> tags) {
      this(id, tree, time, tags, null);
    }

    /** Whether this is the snapshot {@code id} (a prefix of 8 or more digits) or a retagged copy of it. */
    boolean isOrCameFrom(String id) {
      String o = original;
      return id.length() >= 8 && (this.id.startsWith(id) || o != null && o.startsWith(id));
    }
    String shortId() {
      return id.substring(0, 8);
    }

    /** Returns the value of the first tag {@code key=value}, or {@code null}. */
    @Nullable String tag(String key) {
      for (String t : tags) {
        if (t.startsWith(key + "=")) {
          return t.substring(key.length() + 1);
        }
      }
      return null;
    }
  }

  /** What a listing held: the valid snapshots and how many entries were dropped. */
  record Listing(List<Snapshot> snapshots, int dropped) {}

  /**
   * Parses a listing.
   *
   * @throws IOException if the output is not a JSON array of objects
   */
  static Listing parse(InputStream in) throws IOException {
    List<Snapshot> out = new ArrayList<>();
    int dropped = 0;
    try (JsonReader r = JsonReader.of(Okio.buffer(Okio.source(in)))) {
      if (r.peek() == JsonReader.Token.NULL) {
        r.nextNull();
        return new Listing(List.of(), 0);
      }
      r.beginArray();
      while (r.hasNext()) {
        Snapshot s = snapshot(r);
        if (s == null) {
          dropped++;
        } else {
          out.add(s);
        }
      }
      r.endArray();
    } catch (JsonDataException | JsonEncodingException e) {
      throw new IOException("restic printed something that is not a list of snapshots: " + e.getMessage(), e);
    }
    return new Listing(List.copyOf(out), dropped);
  }

  private static @Nullable Snapshot snapshot(JsonReader r) throws IOException {
    if (r.peek() != JsonReader.Token.BEGIN_OBJECT) {
      r.skipValue();
      return null;
    }
    String id = null;
    String tree = null;
    String time = null;
    String original = null;
    List<String> tags = new ArrayList<>();
    boolean valid = true;
    r.beginObject();
    while (r.hasNext()) {
      String name = r.nextName();
      switch (name) {
        case "id" -> id = string(r);
        case "tree" -> tree = string(r);
        case "time" -> time = string(r);
        case "original" -> original = string(r);
        case "tags" -> {
          if (r.peek() == JsonReader.Token.NULL) {
            r.nextNull();
          } else if (r.peek() != JsonReader.Token.BEGIN_ARRAY) {
            r.skipValue();
            valid = false;
          } else {
            r.beginArray();
            while (r.hasNext()) {
              String t = string(r);
              if (t == null || t.length() > MAX_TAG_LENGTH || tags.size() >= MAX_TAGS) {
                valid = false;
              } else {
                tags.add(t);
              }
            }
            r.endArray();
          }
        }
        default -> r.skipValue();
      }
    }
    r.endObject();
    if (!valid || id == null || tree == null || time == null || !HEX64.matcher(id).matches()
        || !HEX64.matcher(tree).matches()) {
      return null;
    }
    try {
      return new Snapshot(id, tree, OffsetDateTime.parse(time).toInstant(), List.copyOf(tags),
          original != null && HEX64.matcher(original).matches() ? original : null);
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  private static @Nullable String string(JsonReader r) throws IOException {
    if (r.peek() != JsonReader.Token.STRING) {
      r.skipValue();
      return null;
    }
    return r.nextString();
  }
}
