package dev.bbdiy.api.spi;

import dev.bbdiy.api.BbdiyException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The validated settings of one provider: the configuration keys under {@code <prefix>.}, checked against the
 * {@link Setting}s the provider declares. Creating it fails on unknown keys, values of the wrong type or outside a
 * setting's {@linkplain Setting#withRange range}, and missing required settings, naming the full key, so that a
 * bad configuration is rejected before anything runs.
 *
 * <p>Immutable and thread-safe. Secrets are kept apart and never appear in {@link #describe()} or {@link
 * #toString()}.
 */
public final class Settings {
  private static final Pattern SIMPLE_DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?");
  /** The longest duration any setting accepts: long enough for anything, short enough for any arithmetic. */
  private static final Duration MAX_DURATION = Duration.ofDays(36500);
  private static final String MAX_DURATION_TEXT = "36500d";

  private final String prefix;
  private final Map<String, Setting> declared;
  private final Map<String, String> values;
  private final Map<String, Secret> secrets;

  private Settings(
      String prefix, Map<String, Setting> declared, Map<String, String> values, Map<String, Secret> secrets) {
    this.prefix = prefix;
    this.declared = declared;
    this.values = values;
    this.secrets = secrets;
  }

  /**
   * Picks and validates the keys under {@code prefix + "."} from {@code configuration}.
   *
   * @param prefix the provider's name, e.g. {@code postgresql}
   * @param declared the settings the provider accepts
   * @param configuration every configured key, with full names ({@code postgresql.host=...}); keys under other
   *     prefixes are ignored
   * @throws BbdiyException with {@link dev.bbdiy.api.ErrorCode#CONFIGURATION} naming the key and the fix
   */
  public static Settings of(String prefix, List<Setting> declared, Map<String, String> configuration) {
    Map<String, Setting> byKey = new LinkedHashMap<>();
    for (Setting s : declared) {
      if (byKey.put(s.key(), s) != null) {
        throw new IllegalArgumentException("Setting declared twice: " + prefix + "." + s.key());
      }
    }
    String start = prefix + ".";
    Map<String, String> values = new TreeMap<>();
    Map<String, Secret> secrets = new TreeMap<>();
    for (Map.Entry<String, String> e : new TreeMap<>(configuration).entrySet()) {
      if (!e.getKey().startsWith(start)) {
        continue;
      }
      String key = e.getKey().substring(start.length());
      String value = e.getValue().trim();
      Setting setting = byKey.get(key);
      if (setting == null && key.endsWith(".file")) {
        Setting secret = byKey.get(key.substring(0, key.length() - ".file".length()));
        if (secret != null && secret.secret()) {
          if (configuration.containsKey(start + secret.key())) {
            throw BbdiyException.configuration(
                "Both " + start + secret.key() + " and " + e.getKey() + " are set: keep only one");
          }
          secrets.put(secret.key(), Secret.of(readSecretFile(e.getKey(), Path.of(value))));
          continue;
        }
      }
      if (setting == null) {
        throw BbdiyException.configuration(
            "Unknown setting " + e.getKey() + ": " + prefix + " accepts " + describeKeys(prefix, declared));
      }
      if (setting.secret()) {
        secrets.put(key, Secret.of(e.getValue()));
        continue;
      }
      validate(prefix, setting, value);
      values.put(key, value);
    }
    for (Setting s : declared) {
      boolean present = values.containsKey(s.key()) || secrets.containsKey(s.key());
      if (s.required() && !present && s.defaultValue() == null) {
        throw BbdiyException.configuration(
            "Missing setting " + start + s.key() + ": " + s.description()
                + (s.secret() ? " (or " + start + s.key() + ".file=<path>)" : ""));
      }
      if (s.defaultValue() != null) {
        validate(prefix, s, s.defaultValue());
      }
    }
    return new Settings(
        prefix, Collections.unmodifiableMap(byKey), Collections.unmodifiableMap(values),
        Collections.unmodifiableMap(secrets));
  }

  /** Returns settings with nothing configured: every value is its default. */
  public static Settings defaults(String prefix, List<Setting> declared) {
    return of(prefix, declared, Map.of());
  }

  /** Returns the prefix, the provider's name. */
  public String prefix() {
    return prefix;
  }

  /** Returns the full configuration key of a setting, {@code <prefix>.<key>}. */
  public String fullKey(Setting setting) {
    return prefix + "." + setting.key();
  }

  /** Returns whether a value is configured (not just defaulted). */
  public boolean isSet(Setting setting) {
    check(setting);
    return values.containsKey(setting.key()) || secrets.containsKey(setting.key());
  }

  /** Returns the configured value or the default, if there is either. */
  public Optional<String> optional(Setting setting) {
    check(setting);
    String v = values.get(setting.key());
    if (v == null) {
      v = setting.defaultValue();
    }
    return Optional.ofNullable(v).filter(s -> !s.isEmpty());
  }

  /** Returns the configured value or the default, failing if there is neither. */
  public String string(Setting setting) {
    return optional(setting).orElseThrow(() -> missing(setting));
  }

  /** Returns an {@link SettingType#INTEGER} setting, within its declared range. */
  public int integer(Setting setting) {
    return parseInteger(string(setting));
  }

  /** Returns a {@link SettingType#BOOLEAN} setting; absent without default is {@code false}. */
  public boolean bool(Setting setting) {
    return optional(setting).map(Settings::parseBoolean).orElse(false);
  }

  /** Returns a {@link SettingType#PATH} setting, failing if absent. */
  public Path path(Setting setting) {
    return Path.of(string(setting));
  }

  /** Returns a {@link SettingType#PATH} setting if present. */
  public Optional<Path> optionalPath(Setting setting) {
    return optional(setting).map(Path::of);
  }

  /** Returns a {@link SettingType#DURATION} setting, failing if absent. */
  public Duration duration(Setting setting) {
    return parseDuration(string(setting));
  }

  /** Returns a {@link SettingType#LIST} setting; absent is empty. */
  public List<String> list(Setting setting) {
    return optional(setting).map(Settings::parseList).orElse(List.of());
  }

  /** Returns a {@link SettingType#SECRET} setting if configured. */
  public Optional<Secret> secret(Setting setting) {
    check(setting);
    return Optional.ofNullable(secrets.get(setting.key()));
  }

  /**
   * Returns every non-secret setting with its effective value (defaults included), by full key, for manifests
   * and {@code bbdiy check}. Secrets appear as {@code ******} when configured.
   */
  public Map<String, String> describe() {
    Map<String, String> out = new TreeMap<>();
    for (Setting s : declared.values()) {
      if (s.secret()) {
        if (secrets.containsKey(s.key())) {
          out.put(fullKey(s), "******");
        }
      } else {
        optional(s).ifPresent(v -> out.put(fullKey(s), v));
      }
    }
    return out;
  }

  @Override
  public String toString() {
    return "Settings" + describe();
  }

  /**
   * Parses a duration as {@link SettingType#DURATION} documents it.
   *
   * @throws IllegalArgumentException if it is not a duration, is negative or is longer than 36500 days
   */
  public static Duration parseDuration(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    Duration d;
    Matcher m = SIMPLE_DURATION.matcher(t);
    if (m.matches()) {
      String unit = m.group(2) == null ? "s" : m.group(2);
      try {
        long n = Long.parseLong(m.group(1));
        switch (unit) {
          case "ms":
            d = Duration.ofMillis(n);
            break;
          case "m":
            d = Duration.ofMinutes(n);
            break;
          case "h":
            d = Duration.ofHours(n);
            break;
          case "d":
            d = Duration.ofDays(n);
            break;
          default:
            d = Duration.ofSeconds(n);
        }
      } catch (ArithmeticException | NumberFormatException tooLong) {
        throw new IllegalArgumentException("'" + text.trim() + "' is too long: at most " + MAX_DURATION_TEXT);
      }
    } else {
      try {
        d = Duration.parse(text.trim().toUpperCase(Locale.ROOT));
      } catch (DateTimeParseException | ArithmeticException e) {
        throw new IllegalArgumentException(
            "'" + text.trim() + "' is not a duration: write 500ms, 30s, 5m, 2h, 1d or PT5M");
      }
    }
    if (d.isNegative()) {
      throw new IllegalArgumentException("'" + text.trim() + "' is negative: durations count forward");
    }
    if (d.compareTo(MAX_DURATION) > 0) {
      throw new IllegalArgumentException("'" + text.trim() + "' is too long: at most " + MAX_DURATION_TEXT);
    }
    return d;
  }

  /** Parses a boolean as {@link SettingType#BOOLEAN} documents it. */
  public static boolean parseBoolean(String text) {
    switch (text.trim().toLowerCase(Locale.ROOT)) {
      case "true":
      case "yes":
      case "on":
      case "1":
        return true;
      case "false":
      case "no":
      case "off":
      case "0":
      case "":
        return false;
      default:
        throw new IllegalArgumentException("'" + text + "' is not a boolean: write true or false");
    }
  }

  /** Parses a list as {@link SettingType#LIST} documents it: comma- or newline-separated, items trimmed. */
  public static List<String> parseList(String text) {
    List<String> out = new ArrayList<>();
    for (String part : text.split("[,\\n]+")) {
      if (!part.isBlank()) {
        out.add(part.trim());
      }
    }
    return List.copyOf(out);
  }

  private static void validate(String prefix, Setting s, String value) {
    String problem = problem(s.type(), value, s.min(), s.max());
    if (problem != null) {
      throw BbdiyException.configuration("Bad value for " + prefix + "." + s.key() + ": " + problem);
    }
  }

  /** Returns what is wrong with {@code value} for a setting of {@code type} and range, or null if nothing. */
  static @Nullable String problem(SettingType type, String value, @Nullable String min, @Nullable String max) {
    try {
      switch (type) {
        case INTEGER:
          parseInteger(value);
          break;
        case BOOLEAN:
          parseBoolean(value);
          break;
        case DURATION:
          parseDuration(value);
          break;
        case PATH:
          Path.of(value);
          break;
        default:
          return null;
      }
    } catch (RuntimeException e) {
      return e.getMessage();
    }
    if (min != null && max != null
        && (compare(type, value, min) < 0 || compare(type, value, max) > 0)) {
      return value.trim() + " is out of range: use " + min + " to " + max;
    }
    return null;
  }

  /** Compares two values of an INTEGER or DURATION setting; throws IllegalArgumentException if one is invalid. */
  static int compare(SettingType type, String a, String b) {
    if (type == SettingType.INTEGER) {
      return Integer.compare(parseInteger(a), parseInteger(b));
    }
    if (type == SettingType.DURATION) {
      return parseDuration(a).compareTo(parseDuration(b));
    }
    throw new IllegalArgumentException(type + " values have no order");
  }

  private static int parseInteger(String text) {
    String t = text.trim();
    try {
      return Integer.parseInt(t);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(t.matches("[+-]?\\d+")
          ? "'" + t + "' is too large" : "'" + t + "' is not a whole number");
    }
  }

  private static String readSecretFile(String key, Path file) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      if (lines.isEmpty() || lines.get(0).isEmpty()) {
        throw BbdiyException.configuration(key + ": " + file + " is empty; put the secret on its first line");
      }
      return lines.get(0);
    } catch (IOException e) {
      throw BbdiyException.configuration("Cannot read " + key + " (" + file + "): " + e.getMessage());
    }
  }

  private void check(Setting setting) {
    if (declared.get(setting.key()) == null) {
      throw new IllegalArgumentException(
          "Setting " + prefix + "." + setting.key() + " is not declared by the provider");
    }
  }

  private BbdiyException missing(Setting setting) {
    return BbdiyException.configuration(
        "Missing setting " + fullKey(setting) + ": " + setting.description());
  }

  private static String describeKeys(String prefix, List<Setting> declared) {
    if (declared.isEmpty()) {
      return "no settings";
    }
    return Arrays.toString(declared.stream().map(s -> prefix + "." + s.key()).toArray());
  }

  /** Returns a setting by key, if declared; used by tools that list settings. */
  public @Nullable Setting declared(String key) {
    return declared.get(key);
  }
}
