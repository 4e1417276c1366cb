package dev.bbdiy.mesh.internal;

import com.squareup.moshi.JsonDataException;
import com.squareup.moshi.JsonReader;
import com.squareup.moshi.JsonWriter;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import okio.Buffer;
import org.jspecify.annotations.Nullable;

/**
 * The JSON of the mesh protocol, through Moshi's strict reader and writer: objects, arrays, strings, integers,
 * booleans and null, one compact document per line. Input comes from another machine, so parsing is bounded (line
 * length and depth) and refuses what the protocol never sends: fractions, duplicate keys, raw control characters,
 * anything after the object.
 */
public final class Json {
  /** The longest protocol line accepted, in characters. */
  public static final int MAX_LINE = 1 << 20;

  private static final int MAX_DEPTH = 16;

  private Json() {}

  /**
   * Parses one JSON object.
   *
   * @throws IllegalArgumentException if the text is not exactly one JSON object of the supported subset
   */
  public static Map<String, Object> parseObject(String text) {
    if (text.length() > MAX_LINE) {
      throw new IllegalArgumentException("line longer than " + MAX_LINE + " characters");
    }
    for (int i = 0; i < text.length(); i++) {
      if (text.charAt(i) < 0x20) {
        throw new IllegalArgumentException("bad JSON: a raw control character at character " + i);
      }
    }
    try (JsonReader r = JsonReader.of(new Buffer().writeUtf8(text))) {
      if (r.peek() != JsonReader.Token.BEGIN_OBJECT) {
        throw new IllegalArgumentException("expected a JSON object");
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> map = (Map<String, Object>) java.util.Objects.requireNonNull(read(r, 0));
      if (r.peek() != JsonReader.Token.END_DOCUMENT) {
        throw new IllegalArgumentException("bad JSON: trailing characters");
      }
      return map;
    } catch (IOException | JsonDataException e) {
      throw new IllegalArgumentException("bad JSON: " + e.getMessage(), e);
    }
  }

  private static @Nullable Object read(JsonReader r, int depth) throws IOException {
    if (depth > MAX_DEPTH) {
      throw new IllegalArgumentException("bad JSON: nested deeper than " + MAX_DEPTH);
    }
    switch (r.peek()) {
      case BEGIN_OBJECT -> {
        Map<String, Object> map = new LinkedHashMap<>();
        r.beginObject();
        while (r.hasNext()) {
          String key = r.nextName();
          Object value = read(r, depth + 1);
          if (map.containsKey(key)) {
            throw new IllegalArgumentException("bad JSON: the key '" + key + "' appears twice");
          }
          map.put(key, value);
        }
        r.endObject();
        return map;
      }
      case BEGIN_ARRAY -> {
        List<@Nullable Object> list = new ArrayList<>();
        r.beginArray();
        while (r.hasNext()) {
          list.add(read(r, depth + 1));
        }
        r.endArray();
        return list;
      }
      case STRING -> {
        return r.nextString();
      }
      case NUMBER -> {
        String n = r.nextString();
        try {
          return Long.parseLong(n);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("bad JSON: " + n + " is not an integer", e);
        }
      }
      case BOOLEAN -> {
        return r.nextBoolean();
      }
      case NULL -> {
        return r.nextNull();
      }
      default -> throw new IllegalArgumentException("bad JSON at " + r.getPath());
    }
  }

  /** Writes a value (a map, list, string, integer, boolean or null) as compact JSON on one line. */
  public static String write(@Nullable Object value) {
    Buffer buffer = new Buffer();
    try (JsonWriter w = JsonWriter.of(buffer)) {
      w.setSerializeNulls(true);
      write(w, value);
    } catch (IOException e) {
      throw new IllegalStateException("writing JSON to memory failed", e);
    }
    return buffer.readUtf8();
  }

  private static void write(JsonWriter w, @Nullable Object value) throws IOException {
    if (value == null) {
      w.nullValue();
    } else if (value instanceof String s) {
      w.value(s);
    } else if (value instanceof Boolean b) {
      w.value(b.booleanValue());
    } else if (value instanceof Integer || value instanceof Long) {
      w.value(((Number) value).longValue());
    } else if (value instanceof Map<?, ?> map) {
      w.beginObject();
      for (Map.Entry<?, ?> e : map.entrySet()) {
        w.name(String.valueOf(e.getKey()));
        write(w, e.getValue());
      }
      w.endObject();
    } else if (value instanceof List<?> list) {
      w.beginArray();
      for (Object o : list) {
        write(w, o);
      }
      w.endArray();
    } else {
      throw new IllegalArgumentException("cannot write " + value.getClass().getName() + " as JSON");
    }
  }

  /** Returns a string field, or throws naming it. */
  public static String string(Map<String, Object> map, String key) {
    Object v = map.get(key);
    if (!(v instanceof String)) {
      throw new IllegalArgumentException("field '" + key + "' must be a string");
    }
    return (String) v;
  }

  /** Returns a string field, or {@code null} when absent. */
  public static @Nullable String optString(Map<String, Object> map, String key) {
    Object v = map.get(key);
    if (v != null && !(v instanceof String)) {
      throw new IllegalArgumentException("field '" + key + "' must be a string");
    }
    return (String) v;
  }

  /** Returns an object field (empty when absent) whose values are strings. */
  public static Map<String, String> stringMap(Map<String, Object> map, String key) {
    Object v = map.get(key);
    Map<String, String> out = new LinkedHashMap<>();
    if (v == null) {
      return out;
    }
    if (!(v instanceof Map)) {
      throw new IllegalArgumentException("field '" + key + "' must be an object");
    }
    for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
      if (!(e.getValue() instanceof String)) {
        throw new IllegalArgumentException("field '" + key + "." + e.getKey() + "' must be a string");
      }
      out.put(String.valueOf(e.getKey()), (String) e.getValue());
    }
    return out;
  }

  /** Returns an array field of strings (empty when absent). */
  public static List<String> stringList(Map<String, Object> map, String key) {
    Object v = map.get(key);
    List<String> out = new ArrayList<>();
    if (v == null) {
      return out;
    }
    if (!(v instanceof List)) {
      throw new IllegalArgumentException("field '" + key + "' must be an array");
    }
    for (Object o : (List<?>) v) {
      if (!(o instanceof String)) {
        throw new IllegalArgumentException("field '" + key + "' must hold strings");
      }
      out.add((String) o);
    }
    return out;
  }

  /** Returns a map field (empty when absent). */
  public static Map<String, Object> object(Map<String, Object> map, String key) {
    Object v = map.get(key);
    if (v == null) {
      return new LinkedHashMap<>();
    }
    if (!(v instanceof Map)) {
      throw new IllegalArgumentException("field '" + key + "' must be an object");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> m = (Map<String, Object>) v;
    return m;
  }
}
