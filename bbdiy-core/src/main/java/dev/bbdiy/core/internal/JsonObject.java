package dev.bbdiy.core.internal;

import com.squareup.moshi.JsonAdapter;
import com.squareup.moshi.JsonDataException;
import com.squareup.moshi.JsonEncodingException;
import com.squareup.moshi.Moshi;
import com.squareup.moshi.Types;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A parsed JSON object with checked accessors, for reading responses of servers we do not control: every
 * missing or mistyped field is an {@link IllegalArgumentException} naming it, never a {@code null} that turns
 * into the string "null" later.
 */
public final class JsonObject {
  private static final JsonAdapter<Map<String, Object>> ADAPTER =
      new Moshi.Builder().build().adapter(Types.newParameterizedType(Map.class, String.class, Object.class));

  private final Map<String, Object> map;
  private final String where;

  private JsonObject(Map<String, Object> map, String where) {
    this.map = map;
    this.where = where;
  }

  /**
   * Parses {@code json} as an object.
   *
   * @throws IllegalArgumentException if it is not a JSON object
   */
  public static JsonObject parse(String json, String where) {
    try {
      Map<String, Object> map = ADAPTER.lenient().fromJson(json);
      if (map == null) {
        throw new IllegalArgumentException(where + " is empty");
      }
      return new JsonObject(map, where);
    } catch (JsonDataException | JsonEncodingException e) {
      throw new IllegalArgumentException(where + " is not a JSON object: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new IllegalArgumentException(where + " could not be read: " + e.getMessage(), e);
    }
  }

  /** Returns whether {@code key} is present and not null. */
  public boolean has(String key) {
    return map.get(key) != null;
  }

  /** Returns a required non-empty string. */
  public String string(String key) {
    Object v = map.get(key);
    if (!(v instanceof String) || ((String) v).isEmpty()) {
      throw new IllegalArgumentException(
          where + ": field '" + key + "' is " + (v == null ? "missing" : "not a non-empty string"));
    }
    return (String) v;
  }

  /** Returns an optional string; numbers and booleans are rendered. */
  public Optional<String> optString(String key) {
    Object v = map.get(key);
    if (v == null) {
      return Optional.empty();
    }
    if (v instanceof Double && ((Double) v) == Math.rint((Double) v)) {
      return Optional.of(Long.toString(((Double) v).longValue()));
    }
    return Optional.of(v.toString());
  }

  /** Returns an optional integer, accepting numbers and numeric strings. */
  public Optional<Integer> optInt(String key) {
    Object v = map.get(key);
    if (v instanceof Number) {
      return Optional.of(((Number) v).intValue());
    }
    if (v instanceof String) {
      try {
        return Optional.of(Integer.parseInt((String) v));
      } catch (NumberFormatException e) {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }

  /** Returns an optional nested object. */
  @SuppressWarnings("unchecked")
  public Optional<JsonObject> optObject(String key) {
    Object v = map.get(key);
    if (v instanceof Map) {
      return Optional.of(new JsonObject((Map<String, Object>) v, where + "." + key));
    }
    return Optional.empty();
  }

  /** Returns a required nested object. */
  public JsonObject object(String key) {
    return optObject(key)
        .orElseThrow(() -> new IllegalArgumentException(where + ": field '" + key + "' is missing or not an object"));
  }

  /** Returns an optional array, empty if absent. */
  public List<?> array(String key) {
    Object v = map.get(key);
    return v instanceof List ? (List<?>) v : List.of();
  }

  /** Returns the raw value. */
  public @Nullable Object raw(String key) {
    return map.get(key);
  }
}
