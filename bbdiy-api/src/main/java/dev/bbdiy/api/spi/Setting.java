package dev.bbdiy.api.spi;

import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * One configuration key a provider accepts, written {@code <provider>.<key>} in configuration files.
 *
 * @param key the key below the provider's prefix, lower case with dashes, e.g. {@code jobs}
 * @param type how the value is parsed
 * @param description what it does and its default, for {@code bbdiy providers}
 * @param defaultValue the value when none is configured, or {@code null}
 * @param required whether a value must be configured
 */
public record Setting(
    String key, SettingType type, String description, @Nullable String defaultValue, boolean required) {
  private static final Pattern KEY = Pattern.compile("[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)*");

  public Setting {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(description, "description");
    if (!KEY.matcher(key).matches()) {
      throw new IllegalArgumentException("Setting key must be lower case with dashes: " + key);
    }
    if (type == SettingType.SECRET && defaultValue != null) {
      throw new IllegalArgumentException("A secret cannot have a default: " + key);
    }
  }

  /** Returns an optional setting without default. */
  public static Setting of(String key, SettingType type, String description) {
    return new Setting(key, type, description, null, false);
  }

  /** Returns a copy with a default value. */
  public Setting withDefault(String value) {
    return new Setting(key, type, description, value, required);
  }

  /** Returns a copy that must be configured. */
  public Setting asRequired() {
    return new Setting(key, type, description, defaultValue, true);
  }

  /** Returns whether the value is a secret. */
  public boolean secret() {
    return type == SettingType.SECRET;
  }
}
