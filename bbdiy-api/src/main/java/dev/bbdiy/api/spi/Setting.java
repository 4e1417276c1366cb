package dev.bbdiy.api.spi;

import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * One configuration key a provider accepts, written {@code <provider>.<key>} in configuration files.
 *
 * <p>{@link SettingType#INTEGER} and {@link SettingType#DURATION} settings can declare the range of values they
 * accept with {@link #withRange}; {@link Settings#of} refuses a value outside it, naming the key and the range,
 * before anything runs. Declare one on every such setting: a job count of -1 or a port of 99999 is then a
 * configuration error, not a failure halfway through a backup.
 *
 * @param key the key below the provider's prefix, lower case with dashes, e.g. {@code jobs}
 * @param type how the value is parsed
 * @param description what it does and its default, for {@code bbdiy providers}
 * @param defaultValue the value when none is configured, or {@code null}
 * @param required whether a value must be configured
 * @param min the smallest accepted value, written as in configuration ({@code 1}, {@code 100ms}), or {@code null}
 * @param max the largest accepted value, written as in configuration ({@code 65535}, {@code 7d}), or {@code null}
 * @param varsFile the variables of Atlassian's {@code bitbucket.diy-backup.vars.sh} the value comes from when
 *     bbdiy reads such a file ({@code --vars-file}), in order: the first one set to something not empty wins; a
 *     bash array becomes a comma-separated list. Empty if the scripts have no such variable. Declaring them is
 *     all a provider does for {@code --vars-file} to configure it.
 */
public record Setting(
    String key,
    SettingType type,
    String description,
    @Nullable String defaultValue,
    boolean required,
    @Nullable String min,
    @Nullable String max,
    List<String> varsFile) {
  private static final Pattern KEY = Pattern.compile("[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)*");

  public Setting {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(description, "description");
    varsFile = List.copyOf(varsFile);
    for (String v : varsFile) {
      if (!v.matches("[A-Za-z_][A-Za-z0-9_]*")) {
        throw new IllegalArgumentException("Not a shell variable name: " + v + " (setting " + key + ")");
      }
    }
    if (!KEY.matcher(key).matches()) {
      throw new IllegalArgumentException("Setting key must be lower case with dashes: " + key);
    }
    if (type == SettingType.SECRET && defaultValue != null) {
      throw new IllegalArgumentException("A secret cannot have a default: " + key);
    }
    if ((min == null) != (max == null)) {
      throw new IllegalArgumentException("A range needs both ends: " + key);
    }
    if (min != null && max != null) {
      if (type != SettingType.INTEGER && type != SettingType.DURATION) {
        throw new IllegalArgumentException("Only INTEGER and DURATION settings have ranges: " + key);
      }
      if (Settings.compare(type, min, max) > 0) {
        throw new IllegalArgumentException("Range of " + key + " is empty: " + min + " > " + max);
      }
    }
    if (defaultValue != null && !defaultValue.isEmpty()) {
      String problem = Settings.problem(type, defaultValue, min, max);
      if (problem != null) {
        throw new IllegalArgumentException("Default of " + key + ": " + problem);
      }
    }
  }

  /** Creates a setting without a range or vars-file variables. */
  public Setting(
      String key, SettingType type, String description, @Nullable String defaultValue, boolean required) {
    this(key, type, description, defaultValue, required, null, null, List.of());
  }

  /** Returns an optional setting without default. */
  public static Setting of(String key, SettingType type, String description) {
    return new Setting(key, type, description, null, false);
  }

  /** Returns a copy with a default value. */
  public Setting withDefault(String value) {
    return new Setting(key, type, description, value, required, min, max, varsFile);
  }

  /** Returns a copy that must be configured. */
  public Setting asRequired() {
    return new Setting(key, type, description, defaultValue, true, min, max, varsFile);
  }

  /**
   * Returns a copy that accepts only values from {@code min} to {@code max}, both included, written as in
   * configuration: {@code withRange("1", "65535")} for a port, {@code withRange("100ms", "1d")} for a duration.
   *
   * @throws IllegalArgumentException if the type is neither INTEGER nor DURATION, an end does not parse, the
   *     range is empty or the default lies outside it
   */
  public Setting withRange(String min, String max) {
    Objects.requireNonNull(min, "min");
    Objects.requireNonNull(max, "max");
    return new Setting(key, type, description, defaultValue, required, min, max, varsFile);
  }

  /**
   * Returns a copy whose value {@code --vars-file} takes from these variables of Atlassian's vars file (the
   * first one set wins), e.g. {@code fromVarsFile("POSTGRES_PASSWORD", "PGPASSWORD")}.
   */
  public Setting fromVarsFile(String... variables) {
    return new Setting(key, type, description, defaultValue, required, min, max, List.of(variables));
  }

  /** Returns whether the value is a secret. */
  public boolean secret() {
    return type == SettingType.SECRET;
  }
}
