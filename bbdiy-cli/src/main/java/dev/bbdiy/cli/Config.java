package dev.bbdiy.cli;

import java.util.Objects;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.Provider;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.core.ProviderRegistry.Kind;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
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
  private final Map<String, String> environment;

  private Config(Map<String, String> values, List<String> warnings, Map<String, Settings> core,
      ProviderRegistry registry, Map<String, String> environment) {
    this.values = values;
    this.warnings = warnings;
    this.core = core;
    this.registry = registry;
    this.environment = environment;
  }

  /**
   * Returns the configured plugins directory, read before the rest of the configuration (which needs the
   * providers the plugins bring): {@code --set plugins.dir}, then {@code BBDIY_PLUGINS_DIR}, then the file.
   */
  static @Nullable String pluginsDir(@Nullable Path configFile, Map<String, String> overrides,
      Map<String, String> environment) {
    String key = "plugins." + CoreKeys.PLUGINS_DIR.key();
    if (overrides.containsKey(key)) {
      return overrides.get(key);
    }
    if (environment.containsKey(envName(key))) {
      return environment.get(envName(key));
    }
    return configFile == null ? null : readProperties(configFile).get(key);
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
    Set<String> secretKeys = secretKeys(registry);
    Map<String, String> fromFile = configFile == null ? Map.of() : readProperties(configFile);
    // What overrides the vars file: it decides which providers the vars file's variables configure.
    Map<String, String> later = new TreeMap<>(fromFile);
    Map<String, String> known = envNames(registry);
    for (Map.Entry<String, String> e : known.entrySet()) {
      String v = environment.get(e.getKey());
      if (v != null) {
        later.put(e.getValue(), v);
      }
    }
    later.putAll(overrides);
    Map<String, String> origins = new TreeMap<>();
    if (varsFile != null) {
      VarsFile.Mapped mapped = VarsFile.load(varsFile, registry, later, environment);
      values.putAll(mapped.configuration());
      warnings.addAll(mapped.warnings());
      origins.putAll(mapped.origins());
      origins.keySet().removeAll(later.keySet());
    }
    if (configFile != null) {
      checkSecretsPrivate(configFile, fromFile, registry, warnings);
    }
    for (Map.Entry<String, String> e : environment.entrySet()) {
      if (e.getKey().startsWith("BBDIY_") && !known.containsKey(e.getKey()) && !e.getKey().equals("BBDIY_OPTS")) {
        warnings.add("environment variable " + e.getKey() + " matches no setting and is ignored");
      }
    }
    values.putAll(later);
    defaultTarDir(values, origins, registry, environment, warnings);
    Map<String, Settings> core = validate(values, registry, origins);
    checkSecretFilesPrivate(values, secretKeys, warnings);
    return new Config(values, warnings, core, registry, environment);
  }

  /**
   * A vars file that archives with tar but names no directory for it (Atlassian's AWS example archives nothing)
   * keeps the archives, which then hold the manifests only, below the state directory, when nothing stages there.
   */
  private static void defaultTarDir(Map<String, String> values, Map<String, String> origins,
      ProviderRegistry registry, Map<String, String> environment, List<String> warnings) {
    if (!origins.containsKey(Kind.ARCHIVER.key()) || !"tar".equals(values.get(Kind.ARCHIVER.key()))
        || values.containsKey("tar.dir") || values.containsKey("work.dir")) {
      return;
    }
    Map<Kind, String> types = new EnumMap<>(Kind.class);
    for (Kind k : List.of(Kind.HOME, Kind.DATABASE)) {
      types.put(k, values.getOrDefault(k.key(), k == Kind.HOME ? CoreKeys.HOME_TYPE.defaultValue()
          : CoreKeys.DATABASE_TYPE.defaultValue()));
    }
    if (!staging(types, registry).isEmpty()) {
      return;
    }
    String instance = values.getOrDefault("instance.name", "bitbucket"); // CoreKeys.NAME's default
    Path dir = stateDirectory(environment, instance).resolve("archives");
    values.put("tar.dir", dir.toString());
    warnings.add("the vars file names no directory for archives (BITBUCKET_BACKUP_ARCHIVE_ROOT): the manifest"
        + " archives go to " + dir);
  }

  /** Returns the selected providers that stage files in the working directory, as key=name. */
  private static List<String> staging(Map<Kind, String> types, ProviderRegistry registry) {
    List<String> out = new ArrayList<>();
    types.forEach((kind, name) -> {
      Provider p = registry.providers(kind).get(name.trim());
      if (p != null && p.capabilities().contains(Capability.FILE_OUTPUT)) {
        out.add(kind.key() + "=" + name.trim());
      }
    });
    return out;
  }

  /** Returns the selected providers that stage files in the working directory, as key=name. */
  List<String> staging() {
    Map<Kind, String> types = new EnumMap<>(Kind.class);
    types.put(Kind.HOME, group("home").string(CoreKeys.HOME_TYPE));
    types.put(Kind.DATABASE, group("database").string(CoreKeys.DATABASE_TYPE));
    return staging(types, registry);
  }

  /**
   * Returns where the run state goes when {@code work.dir} is not configured and nothing is staged: systemd's
   * {@code $STATE_DIRECTORY}, else {@code /var/lib/bbdiy} for root, else {@code $XDG_STATE_HOME/bbdiy} (by
   * default {@code ~/.local/state/bbdiy}); then the instance's name.
   */
  Path stateDirectory() {
    return stateDirectory(environment, group("instance").string(CoreKeys.NAME));
  }

  private static Path stateDirectory(Map<String, String> environment, String instance) {
    String systemd = environment.get("STATE_DIRECTORY");
    if (systemd != null && !systemd.isBlank()) {
      return Path.of(systemd.split(":")[0]).resolve(instance);
    }
    if ("root".equals(System.getProperty("user.name"))) {
      return Path.of("/var/lib/bbdiy", instance);
    }
    String xdg = environment.get("XDG_STATE_HOME");
    Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg)
        : Path.of(environment.getOrDefault("HOME", System.getProperty("user.home")), ".local", "state");
    return base.resolve("bbdiy").resolve(instance);
  }

  /** Returns the full key of every secret setting, bbdiy's and every provider's. */
  static Set<String> secretKeys(ProviderRegistry registry) {
    Set<String> out = new TreeSet<>();
    Map<String, List<Setting>> all = new LinkedHashMap<>(CoreKeys.GROUPS);
    providers(registry).forEach((name, p) -> all.putIfAbsent(name, p.settings()));
    all.forEach((prefix, settings) -> settings.stream().filter(Setting::secret)
        .forEach(s -> out.add(prefix + "." + s.key())));
    return out;
  }

  /** The settings of a group of bbdiy's own keys, which are always all read. */
  private static Settings group(Map<String, Settings> core, String name) {
    return Objects.requireNonNull(core.get(name), () -> "no settings group " + name);
  }

  /** Checks what the types alone cannot: names, choices, URLs. Values are never quoted when they may be secret. */
  private static void checkValues(Map<String, Settings> core) {
    Settings instance = group(core, "instance");
    String name = instance.string(CoreKeys.NAME);
    try {
      BackupId.of(name, Instant.EPOCH);
    } catch (IllegalArgumentException e) {
      throw BbdiyException.configuration("Bad value for instance.name: '" + name + "' cannot start a backup id:"
          + " use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 184 characters");
    }
    String type = instance.string(CoreKeys.TYPE);
    try {
      InstanceType.parse(type);
    } catch (BbdiyException e) {
      throw BbdiyException.configuration("Bad value for instance.type: '" + type + "': use bitbucket-dc or"
          + " bitbucket-mesh");
    }
    String on = group(core, "notify").string(CoreKeys.NOTIFY_ON).trim().toLowerCase(Locale.ROOT);
    if (!on.equals("always") && !on.equals("failure")) {
      throw BbdiyException.configuration("Bad value for notify.on: '" + on + "': use always or failure");
    }
    group(core, "notify").secret(CoreKeys.WEBHOOK).ifPresent(hook -> {
      if (!hook.reveal().trim().matches("(?i)https?://[^\\s/?#]+.*")) {
        throw BbdiyException.configuration("Bad value for notify.webhook: it is not an http:// or https:// URL"
            + " (the value is not shown: webhook URLs hold tokens)");
      }
    });
    group(core, "bitbucket").optional(CoreKeys.URL).ifPresent(Config::checkBitbucketUrl);
  }

  private static void checkBitbucketUrl(String url) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)(https?)://([^/?#]*)(.*)").matcher(url.trim());
    if (!m.matches()) {
      // Not quoted when it may hold credentials in a form Redaction.urls does not recognise (user:secret@host).
      throw BbdiyException.configuration("Bad value for bitbucket.url: " + (url.contains("@") ? "it" : "'" + url
          + "'") + " is not an http:// or https:// URL, e.g. https://bitbucket.example.com");
    }
    if (m.group(2).contains("@")) {
      throw BbdiyException.configuration("Bad value for bitbucket.url: it holds a user name or password"
          + " (user:password@host), which would end up in logs and manifests: remove it from the URL and set"
          + " bitbucket.user and bitbucket.password.file instead");
    }
    if (m.group(2).isEmpty() || m.group(3).contains("?") || m.group(3).contains("#")) {
      throw BbdiyException.configuration("Bad value for bitbucket.url: '" + url + "' must be the base URL, e.g."
          + " https://bitbucket.example.com or https://example.com/bitbucket, without a query");
    }
  }

  /** Warns about every {@code <secret>.file} other users can read. */
  private static void checkSecretFilesPrivate(Map<String, String> values, Set<String> secretKeys,
      List<String> warnings) {
    for (String key : secretKeys) {
      String file = values.get(key + ".file");
      if (file != null && !file.isBlank() && readableByOthers(Path.of(file.trim()))) {
        warnings.add(file.trim() + " (" + key + ".file) holds a secret and other users can read it: run 'chmod 600 "
            + file.trim() + "'");
      }
    }
  }

  /** Returns whether users other than the owner can read {@code file} (its target, if it is a link). */
  static boolean readableByOthers(Path file) {
    try {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
      return perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.OTHERS_READ);
    } catch (IOException | UnsupportedOperationException e) {
      return false; // missing (reported when read) or not a POSIX file system
    }
  }

  private static Map<String, Settings> validate(Map<String, String> values, ProviderRegistry registry,
      Map<String, String> origins) {
    Map<String, List<Setting>> groups = new LinkedHashMap<>(CoreKeys.GROUPS);
    Map<String, Settings> out = new LinkedHashMap<>();
    for (Map.Entry<String, List<Setting>> g : groups.entrySet()) {
      out.put(g.getKey(), Settings.of(g.getKey(), g.getValue(), values));
    }
    checkValues(out);
    // The providers first: a missing one explains its settings, which are unknown without it.
    checkTypes(out, registry, origins);
    Map<String, Provider> providers = providers(registry);
    Set<String> prefixes = new TreeSet<>();
    for (String key : values.keySet()) {
      int dot = key.indexOf('.');
      String prefix = dot < 0 ? key : key.substring(0, dot);
      if (!groups.containsKey(prefix) && !providers.containsKey(prefix)) {
        if (registry.duplicates().containsKey(prefix)) {
          registry.find(registry.duplicates().get(prefix).get(0).kind(), prefix); // throws, naming both
        }
        Set<String> all = new TreeSet<>(groups.keySet());
        all.addAll(providers.keySet());
        throw BbdiyException.configuration("Unknown setting " + key + ": no provider named '" + prefix + "' is on"
            + " the class path" + (registry.searched().isEmpty() ? "" : " or in "
            + String.join(" or ", registry.searched())) + ", and settings start with one of "
            + String.join(", ", all) + ". 'bbdiy providers' lists every key.");
      }
      prefixes.add(prefix);
    }
    for (String prefix : prefixes) {
      Provider p = providers.get(prefix);
      if (p != null && !groups.containsKey(prefix)) {
        Settings.of(prefix, p.settings(), values); // validates; the engine builds its own copy
      }
    }
    return out;
  }

  /** Checks that a provider of each selected name is installed, saying where bbdiy looked and what to do. */
  private static void checkTypes(Map<String, Settings> core, ProviderRegistry registry,
      Map<String, String> origins) {
    Map<Kind, Setting> types = Map.of(Kind.HOME, CoreKeys.HOME_TYPE, Kind.DATABASE, CoreKeys.DATABASE_TYPE,
        Kind.ARCHIVER, CoreKeys.ARCHIVE_TYPE);
    for (Kind kind : Kind.values()) {
      String group = kind.key().substring(0, kind.key().indexOf('.'));
      String name = group(core, group).string(Objects.requireNonNull(types.get(kind))).trim();
      if (kind != Kind.ARCHIVER && name.equals("none")) {
        continue;
      }
      try {
        registry.find(kind, name);
      } catch (BbdiyException e) {
        String variable = origins.get(kind.key());
        throw BbdiyException.configuration((variable == null ? "" : variable + "=" + name + " in the vars file: ")
            + e.getMessage() + " " + fix(kind, name, variable != null)
            + (registry.loadErrors().isEmpty() ? "" : " Some providers could not be loaded: see the warnings."));
      }
    }
  }

  /** Says what to do when no provider has the name asked for. */
  private static String fix(Kind kind, String name, boolean fromVarsFile) {
    String plugin = "a provider of that name (a plugin jar in a plugins directory) makes this configuration work"
        + " as it is.";
    switch (kind.key() + "=" + name) {
      case "home.type=zfs":
        return "bbdiy has no zfs provider yet; " + plugin + " Until then, back up the home with rsync ("
            + (fromVarsFile ? "BACKUP_DISK_TYPE=rsync" : "home.type=rsync") + "), or take the ZFS snapshots with"
            + " your own tool around a lock (see LockAroundYourOwnSnapshot in the examples).";
      case "archive.type=gpg-zip":
        return "Atlassian's gpg-zip is bbdiy's tar archiver with OpenPGP encryption: set archive.type=tar,"
            + " tar.gpg-recipient=<recipient in gpg's keyring> (or tar.encrypt-to=<public key file>) and"
            + " tar.require-encryption=true.";
      default:
        return "Put the provider's jar into a plugins directory (or point plugins.dir at its directory), or"
            + " correct the name.";
    }
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
    } catch (IllegalArgumentException malformed) {
      throw BbdiyException.configuration(malformedEscape(file));
    }
    Map<String, String> out = new TreeMap<>();
    for (String k : p.stringPropertyNames()) {
      out.put(k.trim(), p.getProperty(k).trim());
    }
    return out;
  }

  /** Says where the unicode escape that {@link Properties#load} refused is: file, line and key. */
  private static String malformedEscape(Path file) {
    String fix = ": write \\u and four hex digits, or \\\\ for a backslash";
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      return "The configuration file " + file + " has a malformed \\u escape" + fix;
    }
    for (int n = 0; n < lines.size(); n++) {
      String line = lines.get(n);
      for (int i = 0; i < line.length(); i++) {
        if (line.charAt(i) == '\\' && i + 1 < line.length()) {
          if (line.charAt(i + 1) == 'u' && !line.substring(i + 2).matches("(?s)[0-9a-fA-F]{4}.*")) {
            String key = line.strip().split("\\s*[=:]", 2)[0].strip();
            return "The configuration file " + file + " has a malformed \\u escape on line " + (n + 1)
                + (key.isEmpty() ? "" : " (" + key + ")") + fix;
          }
          i++; // an escaped character, \\\\ included
        }
      }
    }
    return "The configuration file " + file + " has a malformed \\u escape" + fix;
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
    if (readableByOthers(file)) {
      warnings.add(file + " holds " + String.join(", ", secrets) + " and other users can read it: run"
          + " 'chmod 600 " + file + "', or move the secret to a file of its own (<key>.file=<path>)");
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

  Map<String, String> environment() {
    return environment;
  }
}
