package dev.bbdiy.cli;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.Provider;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.core.ProviderRegistry;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * The merged configuration of a command: Atlassian's vars file (if given), then the properties file, then
 * {@code BBDIY_*} environment variables, then {@code --set} options, each overriding the one before. Every key is
 * checked against what bbdiy and the installed providers declare before anything runs.
 */
final class Config {
  private final Map<String, String> values;
  private final List<String> warnings;
  private final Map<String, Settings> core;
  private final ProviderRegistry registry;

  private Config(Map<String, String> values, List<String> warnings, Map<String, Settings> core,
      ProviderRegistry registry) {
    this.values = values;
    this.warnings = warnings;
    this.core = core;
    this.registry = registry;
  }

  /**
   * Loads and validates the configuration.
   *
   * @throws BbdiyException with {@link dev.bbdiy.api.ErrorCode#CONFIGURATION} naming the key and the fix
   */
  static Config load(@Nullable Path configFile, @Nullable Path varsFile, Map<String, String> overrides,
      Map<String, String> environment, ProviderRegistry registry) {
    Map<String, String> values = new TreeMap<>();
    List<String> warnings = new ArrayList<>();
    if (varsFile != null) {
      VarsFile.Mapped mapped = VarsFile.load(varsFile);
      values.putAll(mapped.configuration());
      warnings.addAll(mapped.warnings());
    }
    if (configFile != null) {
      Map<String, String> fromFile = readProperties(configFile);
      values.putAll(fromFile);
      checkSecretsPrivate(configFile, fromFile, registry, warnings);
    }
    Map<String, String> known = envNames(registry);
    for (Map.Entry<String, String> e : known.entrySet()) {
      String v = environment.get(e.getKey());
      if (v != null) {
        values.put(e.getValue(), v);
      }
    }
    for (Map.Entry<String, String> e : environment.entrySet()) {
      if (e.getKey().startsWith("BBDIY_") && !known.containsKey(e.getKey()) && !e.getKey().equals("BBDIY_OPTS")) {
        warnings.add("environment variable " + e.getKey() + " matches no setting and is ignored");
      }
    }
    values.putAll(overrides);
    Map<String, Settings> core = validate(values, registry);
    return new Config(values, warnings, core, registry);
  }

  private static Map<String, Settings> validate(Map<String, String> values, ProviderRegistry registry) {
    Map<String, List<Setting>> groups = new LinkedHashMap<>(CoreKeys.GROUPS);
    Map<String, Provider> providers = providers(registry);
    Set<String> prefixes = new TreeSet<>();
    for (String key : values.keySet()) {
      int dot = key.indexOf('.');
      String prefix = dot < 0 ? key : key.substring(0, dot);
      if (!groups.containsKey(prefix) && !providers.containsKey(prefix)) {
        Set<String> all = new TreeSet<>(groups.keySet());
        all.addAll(providers.keySet());
        throw BbdiyException.configuration("Unknown setting " + key + ": settings start with one of "
            + String.join(", ", all) + ". 'bbdiy providers' lists every key.");
      }
      prefixes.add(prefix);
    }
    Map<String, Settings> out = new LinkedHashMap<>();
    for (Map.Entry<String, List<Setting>> g : groups.entrySet()) {
      out.put(g.getKey(), Settings.of(g.getKey(), g.getValue(), values));
    }
    for (String prefix : prefixes) {
      Provider p = providers.get(prefix);
      if (p != null && !groups.containsKey(prefix)) {
        Settings.of(prefix, p.settings(), values); // validates; the engine builds its own copy
      }
    }
    return out;
  }

  static Map<String, Provider> providers(ProviderRegistry registry) {
    Map<String, Provider> all = new TreeMap<>();
    all.putAll(registry.homes());
    all.putAll(registry.databases());
    all.putAll(registry.archivers());
    return all;
  }

  /** Maps every known key to its environment variable: {@code bitbucket.drain-timeout} is {@code BBDIY_BITBUCKET_DRAIN_TIMEOUT}. */
  static Map<String, String> envNames(ProviderRegistry registry) {
    Map<String, String> out = new TreeMap<>();
    Map<String, List<Setting>> all = new LinkedHashMap<>(CoreKeys.GROUPS);
    providers(registry).forEach((name, p) -> all.putIfAbsent(name, p.settings()));
    for (Map.Entry<String, List<Setting>> g : all.entrySet()) {
      for (Setting s : g.getValue()) {
        String key = g.getKey() + "." + s.key();
        out.put(envName(key), key);
        if (s.secret()) {
          out.put(envName(key + ".file"), key + ".file");
        }
      }
    }
    return out;
  }

  static String envName(String key) {
    return "BBDIY_" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  private static Map<String, String> readProperties(Path file) {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    } catch (IOException e) {
      throw BbdiyException.configuration("Cannot read the configuration file " + file + ": " + e.getMessage());
    }
    Map<String, String> out = new TreeMap<>();
    for (String k : p.stringPropertyNames()) {
      out.put(k.trim(), p.getProperty(k).trim());
    }
    return out;
  }

  private static void checkSecretsPrivate(Path file, Map<String, String> values, ProviderRegistry registry,
      List<String> warnings) {
    List<String> secrets = new ArrayList<>();
    Map<String, List<Setting>> all = new LinkedHashMap<>(CoreKeys.GROUPS);
    providers(registry).forEach((name, p) -> all.putIfAbsent(name, p.settings()));
    for (Map.Entry<String, List<Setting>> g : all.entrySet()) {
      for (Setting s : g.getValue()) {
        if (s.secret() && values.containsKey(g.getKey() + "." + s.key())) {
          secrets.add(g.getKey() + "." + s.key());
        }
      }
    }
    if (secrets.isEmpty()) {
      return;
    }
    try {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
      if (perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.OTHERS_READ)) {
        warnings.add(file + " holds " + String.join(", ", secrets) + " and other users can read it: run"
            + " 'chmod 600 " + file + "', or move the secret to a file of its own (<key>.file=<path>)");
      }
    } catch (IOException | UnsupportedOperationException ignored) {
      // not a POSIX file system: nothing to check
    }
  }

  /** Returns the validated settings of a core group. */
  Settings group(String name) {
    Settings s = core.get(name);
    if (s == null) {
      throw new IllegalArgumentException("no core group " + name);
    }
    return s;
  }

  /** Returns every configured key with its value. */
  Map<String, String> values() {
    return values;
  }

  /** Returns what loading noticed: unsupported vars-file variables, readable secrets... */
  List<String> warnings() {
    return warnings;
  }

  ProviderRegistry registry() {
    return registry;
  }
}
