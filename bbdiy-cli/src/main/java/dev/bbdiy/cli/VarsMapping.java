package dev.bbdiy.cli;

import java.util.Objects;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.Provider;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.core.ProviderRegistry.Kind;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Maps the variables of Atlassian's vars file onto configuration keys.
 *
 * <p>Which variable feeds which key is declared on the settings themselves ({@link Setting#fromVarsFile}): bbdiy's
 * own ({@link CoreKeys}) and those of the providers the file selects, so a provider, a plugin's too, is configured
 * from a vars file without a change here. The strategy variables name providers: {@code BACKUP_DISK_TYPE=acme-san}
 * selects the home provider named {@code acme-san}. What is left here is what the scripts give a meaning of their
 * own: {@code none} and empty strategies, old variable names (read with a warning naming the current one, never
 * silently as another strategy), a Mesh node's database, {@code BACKUP_ARCHIVE_TYPE=tar} (gzip archives, which
 * their restore script reads), {@code FILESYSTEM_TYPE=zfs}, the JSON form of {@code AWS_ADDITIONAL_TAGS}, and the
 * variables of their example files bbdiy has no use for, which are reported only when set to something other than
 * the example's value.
 */
final class VarsMapping {
  /** Variables Atlassian's scripts renamed: old name, current name. */
  private static final Map<String, String> RENAMED = renamed();
  /** Volume types for which the scripts pass {@code RESTORE_DISK_IOPS} ("Ignored otherwise"). */
  private static final Set<String> PROVISIONED_IOPS = Set.of("io1", "io2");
  /** An implied setting's value that is another variable's: {@code ${NAME}}. */
  private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");
  private static final Pattern TAG_JSON = Pattern.compile(
      "\\{\\s*\"Key\"\\s*:\\s*\"([^\"]*)\"\\s*,\\s*\"Value\"\\s*:\\s*\"([^\"]*)\"\\s*}\\s*,?\\s*");
  /** Variables of the scripts' example files bbdiy does not use, by reason, each with the example's value. */
  private static final List<Unused> UNUSED = unused();

  /**
   * What the variables became.
   *
   * @param configuration configuration keys and their values
   * @param warnings what the user should know
   * @param origins for each configuration key, the variable it came from
   * @param emptySecrets bbdiy's own secret variables the file sets to nothing ({@code BITBUCKET_BACKUP_PASS=}),
   *     each with its key
   */
  record Result(Map<String, String> configuration, List<String> warnings, Map<String, String> origins,
      Map<String, String> emptySecrets) {}

  /** A reason why some variables are not used, and the value each has in Atlassian's example files. */
  private record Unused(String why, Map<String, Pattern> examples) {}

  private final Map<String, List<String>> vars;
  private final ProviderRegistry registry;
  private final Map<String, String> later;
  private final Map<String, String> c = new LinkedHashMap<>();
  private final Map<String, String> origins = new LinkedHashMap<>();
  private final List<String> warnings = new ArrayList<>();
  private final Map<String, String> emptySecrets = new LinkedHashMap<>();
  /** Variables that took part in the mapping, used or deliberately set aside. */
  private final Set<String> used = new HashSet<>();

  private VarsMapping(Map<String, List<String>> vars, ProviderRegistry registry, Map<String, String> later) {
    this.vars = new TreeMap<>(vars);
    this.registry = registry;
    this.later = later;
  }

  /**
   * Maps the variables a vars file set.
   *
   * @param vars every variable, arrays as lists
   * @param registry the installed providers, whose settings declare their variables
   * @param later the keys that the configuration file, the environment and {@code --set} give, which override the
   *     vars file's: they decide which providers are selected
   * @throws BbdiyException with {@link dev.bbdiy.api.ErrorCode#CONFIGURATION} when the file is contradictory
   */
  static Result map(Map<String, List<String>> vars, ProviderRegistry registry, Map<String, String> later) {
    VarsMapping m = new VarsMapping(vars, registry, later);
    m.renames();
    m.strategies();
    m.declared();
    m.rules();
    m.leftovers();
    return new Result(m.c, m.warnings, m.origins, m.emptySecrets);
  }

  private void renames() {
    for (Map.Entry<String, String> r : RENAMED.entrySet()) {
      String old = r.getKey();
      String now = r.getValue();
      if (!vars.containsKey(old)) {
        continue;
      }
      used.add(old);
      if (!isSet(old)) {
        continue;
      }
      String shown = String.join(" ", vars.get(old));
      if (isSet(now)) {
        if (!Objects.equals(vars.get(now), vars.get(old))) {
          throw BbdiyException.configuration("The vars file sets " + old + "=" + shown + " and " + now + "="
              + String.join(" ", vars.get(now)) + ": " + old + " is the old name of " + now + " in Atlassian's"
              + " scripts. Remove " + old + ".");
        }
        warnings.add(old + " is the old name of " + now + " in Atlassian's scripts and says the same as " + now
            + ": remove it from the vars file");
      } else {
        vars.put(now, vars.get(old));
        warnings.add(old + " is the old name of " + now + " in Atlassian's scripts: read as " + now + "=" + shown
            + ". Rename it in the vars file (the current scripts refuse the old name).");
      }
    }
    used.add("HOME_DIRECTORY_DEVICE_NAME");
    used.add("HOME_DIRECTORY_MOUNT_POINT");
    if (isSet("HOME_DIRECTORY_DEVICE_NAME")) {
      String volumes = "EBS_VOLUME_MOUNT_POINT_AND_DEVICE_NAMES";
      if (isSet(volumes)) {
        warnings.add("HOME_DIRECTORY_DEVICE_NAME is not used: " + volumes + " names every volume's device");
      } else if (!isSet("HOME_DIRECTORY_MOUNT_POINT")) {
        throw BbdiyException.configuration("The vars file sets HOME_DIRECTORY_DEVICE_NAME but not"
            + " HOME_DIRECTORY_MOUNT_POINT: set " + volumes + "=(<mount point>:<device>), as Atlassian's current"
            + " scripts do");
      } else {
        String pair = value("HOME_DIRECTORY_MOUNT_POINT") + ":" + value("HOME_DIRECTORY_DEVICE_NAME");
        vars.put(volumes, List.of(pair));
        warnings.add("HOME_DIRECTORY_MOUNT_POINT and HOME_DIRECTORY_DEVICE_NAME are the old form of " + volumes
            + " in Atlassian's scripts: read as " + volumes + "=(" + pair + "). Write that in the vars file.");
      }
    }
  }

  private void strategies() {
    String disk = "BACKUP_DISK_TYPE";
    if (vars.containsKey(disk)) {
      used.add(disk);
      put(Kind.HOME.key(), strategy(Kind.HOME, value(disk), disk), disk);
    }
    String database = "BACKUP_DATABASE_TYPE";
    if (vars.containsKey(database)) {
      used.add(database);
      put(Kind.DATABASE.key(), database(value(database)), database);
    }
    String archive = "BACKUP_ARCHIVE_TYPE";
    if (vars.containsKey(archive)) {
      used.add(archive);
      String a = value(archive).trim().toLowerCase(Locale.ROOT);
      switch (a) {
        case "tar":
          put(Kind.ARCHIVER.key(), "tar", archive);
          put("tar.compression", "gzip", archive); // what Atlassian's restore script reads
          break;
        case "aws-snapshots":
          put(Kind.ARCHIVER.key(), "tar", archive);
          warnings.add("BACKUP_ARCHIVE_TYPE=aws-snapshots: snapshots are copied with the amazon-ebs/amazon-rds"
              + " copy-* settings; the manifest of each backup is kept as a small tar.zst");
          break;
        case "":
          put(Kind.ARCHIVER.key(), "tar", archive);
          warnings.add("BACKUP_ARCHIVE_TYPE is empty: Atlassian's scripts then archive nothing; bbdiy always"
              + " stores an archive (tar.zst) with the backup's manifest, so that it can list, verify and restore"
              + " it");
          break;
        default:
          put(Kind.ARCHIVER.key(), strategy(Kind.ARCHIVER, a, archive), archive);
      }
    }
  }

  /**
   * Returns the provider a strategy value selects: the one of that name, else one that declares the value among
   * its {@link Provider#varsFileStrategies()}, whose implied settings are put too (with a warning saying what the
   * value was read as), else the value itself (refused later, naming what is installed).
   */
  private String strategy(Kind kind, String value, String variable) {
    String v = name(value);
    Map<String, Provider> installed = registry.providers(kind);
    if (installed.containsKey(v) || v.equals("none")) {
      return v;
    }
    for (Provider p : installed.values()) {
      Map<String, String> implied = p.varsFileStrategies().get(v);
      if (implied == null) {
        continue;
      }
      List<String> shown = new ArrayList<>();
      for (Map.Entry<String, String> e : new TreeMap<>(implied).entrySet()) {
        String key = p.name() + "." + e.getKey();
        Matcher ref = VARIABLE.matcher(e.getValue());
        if (ref.matches()) {
          String from = ref.group(1);
          used.add(from);
          if (isSet(from)) {
            put(key, String.join(",", Objects.requireNonNull(vars.get(from))).trim(), from);
            shown.add(key + " from " + from);
          }
        } else {
          put(key, e.getValue(), variable);
          shown.add(key + "=" + e.getValue());
        }
      }
      warnings.add(variable + "=" + value.trim() + " is read as " + kind.key() + "=" + p.name()
          + (shown.isEmpty() ? "" : " with " + String.join(", ", shown)));
      return p.name();
    }
    return v;
  }

  /** Returns the provider name a strategy value means: empty and {@code none} are none. */
  private static String name(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    return v.isEmpty() ? "none" : v;
  }

  private String database(String value) {
    String db = name(value);
    if (db.equals("postgresql93-fslevel")) {
      warnings.add("BACKUP_DATABASE_TYPE=postgresql93-fslevel is the old name of postgresql-fslevel in Atlassian's"
          + " scripts: read as postgresql-fslevel. Rename it in the vars file.");
      db = "postgresql-fslevel";
    }
    boolean mesh;
    try {
      mesh = InstanceType.parse(value("INSTANCE_TYPE")) == InstanceType.MESH;
    } catch (BbdiyException notAType) {
      mesh = false; // reported when instance.type is checked
    }
    if (mesh) {
      if (!db.equals("none")) {
        warnings.add("INSTANCE_TYPE=bitbucket-mesh: BACKUP_DATABASE_TYPE=" + value.trim() + " is ignored, as"
            + " Atlassian's scripts do on a Mesh node, which has no database of its own (database.type=none)");
      }
      return "none";
    }
    if (db.equals("postgresql-fslevel") && !registry.databases().containsKey(db)) {
      used.add("POSTGRESQL_SERVICE_NAME");
      String home = selected(Kind.HOME);
      Provider homeProvider = home == null ? null : registry.homes().get(home);
      if (homeProvider != null && !homeProvider.capabilities().contains(Capability.ATOMIC_CAPTURE)) {
        throw BbdiyException.configuration("BACKUP_DATABASE_TYPE=postgresql-fslevel relies on a snapshot of the"
            + " volume that holds both the home and PostgreSQL's data directory, and home.type=" + home
            + " takes none: its copy of a running database's files would not be consistent. Use"
            + " BACKUP_DATABASE_TYPE=postgresql (a dump), or a home provider that snapshots the volume"
            + " (BACKUP_DISK_TYPE=amazon-ebs).");
      }
      String service = isSet("POSTGRESQL_SERVICE_NAME") ? value("POSTGRESQL_SERVICE_NAME") : "postgresql";
      warnings.add("BACKUP_DATABASE_TYPE=postgresql-fslevel: PostgreSQL's files are on the home's volume, so the"
          + " home's snapshot holds them and nothing else is done for the database, as with Atlassian's scripts"
          + " (database.type=none). Unlike their restore script, bbdiy does not stop PostgreSQL: run"
          + " 'systemctl stop " + service + "' before restoring that snapshot, and start it after.");
      return "none";
    }
    return db;
  }

  /** Maps every variable a setting declares, for bbdiy's settings and those of the selected providers. */
  private void declared() {
    Map<String, List<Setting>> declared = new LinkedHashMap<>(CoreKeys.GROUPS);
    for (Kind k : Kind.values()) {
      String name = selected(k);
      Provider p = name == null ? null : registry.providers(k).get(name);
      if (p != null) {
        declared.putIfAbsent(name, p.settings());
      }
    }
    for (Map.Entry<String, List<Setting>> g : declared.entrySet()) {
      for (Setting s : g.getValue()) {
        String key = g.getKey() + "." + s.key();
        used.addAll(s.varsFile());
        if (c.containsKey(key)) {
          continue; // set above, with the scripts' own meaning
        }
        for (String v : s.varsFile()) {
          if (isSet(v)) {
            put(key, String.join(",", vars.get(v)), v);
            break;
          }
        }
        // bbdiy's own secrets only (an empty database password means ~/.pgpass), unless configured elsewhere.
        if (s.secret() && !c.containsKey(key) && CoreKeys.GROUPS.containsKey(g.getKey())
            && !s.varsFile().isEmpty() && vars.containsKey(s.varsFile().get(0)) && !later.containsKey(key)
            && !later.containsKey(key + ".file")) {
          emptySecrets.put(s.varsFile().get(0), key);
        }
      }
    }
  }

  /** What the scripts do with some variables beyond their value. */
  private void rules() {
    used.add("FILESYSTEM_TYPE");
    if (value("FILESYSTEM_TYPE").trim().equalsIgnoreCase("zfs") && "amazon-ebs".equals(selected(Kind.HOME))) {
      put("amazon-ebs.freeze", "false", "FILESYSTEM_TYPE");
      warnings.add("FILESYSTEM_TYPE=zfs: amazon-ebs takes the snapshots without fsfreeze, as Atlassian's scripts"
          + " do for ZFS (amazon-ebs.freeze=false). A restore swaps the volumes in and mounts them with"
          + " amazon-ebs.mount-command (mount <device> <mount point>), which cannot import a ZFS pool: before a"
          + " restore, set amazon-ebs.mount-command and amazon-ebs.umount-command to programs that import and"
          + " export the pool (the scripts run 'zpool import tank' and 'zfs mount -a').");
    }
    String iops = "amazon-ebs.restore-iops";
    if ("RESTORE_DISK_IOPS".equals(origins.get(iops))) {
      String type = c.getOrDefault("amazon-ebs.restore-volume-type",
          later.getOrDefault("amazon-ebs.restore-volume-type", "")).trim().toLowerCase(Locale.ROOT);
      if (!PROVISIONED_IOPS.contains(type)) {
        // Atlassian's scripts pass the IOPS only for io1 volumes; EC2 refuses them for gp2.
        c.remove(iops);
        origins.remove(iops);
      }
    }
    for (Map.Entry<String, String> e : new ArrayList<>(origins.entrySet())) {
      String value = c.get(e.getKey());
      if (e.getValue().equals("AWS_ADDITIONAL_TAGS") && value != null && value.contains("\"Key\"")) {
        c.put(e.getKey(), tags(value));
      }
    }
    if ("amazon-ebs".equals(selected(Kind.HOME)) && isSet("HOME_DIRECTORY_MOUNT_POINT")
        && c.containsKey("amazon-ebs.volumes")) {
      String home = trimSlashes(value("HOME_DIRECTORY_MOUNT_POINT"));
      boolean listed = false;
      for (String volume : c.get("amazon-ebs.volumes").split(",")) {
        listed |= trimSlashes(volume.split(":", 2)[0]).equals(home);
      }
      if (!listed) {
        warnings.add("HOME_DIRECTORY_MOUNT_POINT=" + value("HOME_DIRECTORY_MOUNT_POINT") + " is not the mount"
            + " point of any volume in EBS_VOLUME_MOUNT_POINT_AND_DEVICE_NAMES: add the home's volume there, or"
            + " it is not backed up");
      }
    }
    if ("tar".equals(c.get(Kind.ARCHIVER.key())) && !c.containsKey("tar.dir") && !later.containsKey("tar.dir")
        && c.containsKey("work.dir")) {
      warnings.add("BITBUCKET_BACKUP_ARCHIVE_ROOT is not set: archives go to " + c.get("work.dir") + "/archives");
      put("tar.dir", trimSlashes(c.get("work.dir")) + "/archives", "BITBUCKET_BACKUP_ROOT");
    }
  }

  /** Reports the variables nothing used: those bbdiy has no use for, unless they hold the example's value. */
  private void leftovers() {
    Set<String> known = new HashSet<>();
    for (ProviderRegistry.Entry e : registry.entries()) {
      for (Setting s : e.provider().settings()) {
        known.addAll(s.varsFile()); // a provider this file does not select
      }
    }
    Map<Unused, List<String>> notUsed = new LinkedHashMap<>();
    List<String> unsupported = new ArrayList<>();
    String root = trimSlashes(value("BITBUCKET_BACKUP_ROOT"));
    for (Map.Entry<String, List<String>> e : vars.entrySet()) {
      String name = e.getKey();
      if (used.contains(name) || known.contains(name) || !name.equals(name.toUpperCase(Locale.ROOT))) {
        continue; // lower case: the file's own helper variables
      }
      String shown = String.join(" ", e.getValue());
      if (name.startsWith("BITBUCKET_BACKUP_") && Set.of("DB", "HOME", "DATA_STORES").contains(name.substring(17))) {
        String dir = "bitbucket-" + name.substring(17).toLowerCase(Locale.ROOT).replace('_', '-');
        if (!trimSlashes(shown).equals(root + "/" + dir)) {
          warnings.add(name + " is not used: bbdiy lays out the working directory itself (" + dir + "/ below"
              + " work.dir, BITBUCKET_BACKUP_ROOT)");
        }
        continue;
      }
      Unused group = null;
      for (Unused u : UNUSED) {
        if (u.examples().containsKey(name)) {
          group = u;
        }
      }
      if (group != null) {
        Pattern example = group.examples().get(name);
        if (example == null || !example.matcher(shown).matches()) {
          notUsed.computeIfAbsent(group, g -> new ArrayList<>()).add(name);
        }
      } else if (!shown.isBlank()) {
        unsupported.add(name);
      }
    }
    notUsed.forEach((u, names) -> warnings.add(String.join(", ", names) + (names.size() == 1 ? " is" : " are")
        + " not used: " + u.why()));
    if (!unsupported.isEmpty()) {
      warnings.add("variables of the vars file bbdiy does not support, not used: " + String.join(", ", unsupported));
    }
  }

  /** Returns the name of the provider of {@code kind} the configuration selects, or null for none. */
  private @Nullable String selected(Kind kind) {
    String name = later.containsKey(kind.key()) ? later.get(kind.key()) : c.get(kind.key());
    if (name == null) {
      for (Setting s : CoreKeys.GROUPS.getOrDefault(kind.key().substring(0, kind.key().indexOf('.')), List.of())) {
        name = s.defaultValue();
      }
    }
    return name == null || name.trim().equals("none") ? null : name.trim();
  }

  private void put(String key, String value, String variable) {
    c.put(key, value);
    origins.put(key, variable);
  }

  /** Returns whether the file sets {@code name} to something other than nothing. */
  private boolean isSet(String name) {
    List<String> v = vars.get(name);
    return v != null && !String.join("", v).isBlank();
  }

  private String value(String name) {
    List<String> v = vars.get(name);
    return v == null || v.isEmpty() ? "" : v.get(0);
  }

  private static String trimSlashes(String path) {
    String p = path.trim().replaceAll("/+", "/");
    return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
  }

  /** Turns the scripts' JSON tags ({"Key":"k","Value":"v"}, ...) into key=value items. */
  private static String tags(String json) {
    Matcher m = TAG_JSON.matcher(json.trim());
    List<String> out = new ArrayList<>();
    int at = 0;
    while (m.find() && m.start() == at) {
      out.add(m.group(1) + "=" + m.group(2));
      at = m.end();
    }
    if (at != json.trim().length()) {
      throw BbdiyException.configuration("AWS_ADDITIONAL_TAGS is neither {\"Key\":\"k\",\"Value\":\"v\"} objects"
          + " separated by commas, as Atlassian's scripts take them, nor an array of key=value items: "
          + json.trim());
    }
    return String.join(",", out);
  }

  private static Map<String, String> renamed() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("BACKUP_HOME_TYPE", "BACKUP_DISK_TYPE");
    m.put("RESTORE_HOME_DIRECTORY_VOLUME_TYPE", "RESTORE_DISK_VOLUME_TYPE");
    m.put("RESTORE_HOME_DIRECTORY_IOPS", "RESTORE_DISK_IOPS");
    m.put("ZFS_HOME_TANK_NAME", "ZFS_FILESYSTEM_NAMES");
    m.put("BACKUP_RDS_INSTANCE_ID", "RDS_INSTANCE_ID");
    return m;
  }

  private static List<Unused> unused() {
    List<Unused> u = new ArrayList<>();
    u.add(new Unused("HipChat no longer exists; set notify.webhook (Slack incoming webhooks work)", examples(
        "HIPCHAT_URL", "https://api\\.hipchat\\.com/?", "HIPCHAT_ROOM", "", "HIPCHAT_TOKEN", "")));
    u.add(new Unused("bbdiy does not back up the search index; Bitbucket rebuilds it after a restore", examples(
        "BACKUP_ELASTICSEARCH_TYPE", "|none", "ELASTICSEARCH_INDEX_NAME", "bitbucket-search-v1",
        "ELASTICSEARCH_HOST", "localhost:7992", "ELASTICSEARCH_REPOSITORY_NAME", "bitbucket-snapshots",
        "ELASTICSEARCH_S3_BUCKET", "|bitbucket-search-snapshots", "ELASTICSEARCH_S3_BUCKET_REGION", "us-east-1",
        "ELASTICSEARCH_SNAPSHOT_IAM_ROLE", "", "ELASTICSEARCH_USERNAME", "", "ELASTICSEARCH_PASSWORD", "",
        "ELASTICSEARCH_CREDENTIALS", "", "ELASTICSEARCH_REPOSITORY_LOCATION", "")));
    u.add(new Unused("disaster recovery (a standby fed by replication) is not part of bbdiy", examples(
        "STANDBY_DISK_TYPE", "|zfs|none", "STANDBY_DATABASE_TYPE", "|postgresql|none", "STANDBY_SSH_USER", "",
        "STANDBY_SSH_OPTIONS", "", "STANDBY_SSH_HOST", "", "STANDBY_DATABASE_DATA_DIR", "/var/lib/pgsql[0-9.]*/data",
        "STANDBY_DATABASE_SERVICE_USER", "postgres", "STANDBY_DATABASE_REPLICATION_SLOT_NAME", "bitbucket",
        "STANDBY_DATABASE_REPLICATION_USER_USERNAME", "", "STANDBY_DATABASE_REPLICATION_USER_PASSWORD", "",
        "STANDBY_DATABASE_SERVICE_NAME", "postgresql[0-9.]*", "STANDBY_JDBC_URL", "", "DR_RDS_READ_REPLICA", "",
        "ZFS_HOME_FILESYSTEM", "", "STANDBY", "", "SSH_FLAGS", "")));
    u.add(new Unused("bbdiy does not run curl; for a private CA set bitbucket.ca-certificates (certificate checks"
        + " cannot be turned off)", examples("CURL_OPTIONS", "-L -s -f")));
    u.add(new Unused("bbdiy chooses pg_dump's options itself (postgresql.jobs sets the parallel jobs)", examples(
        "PG_PARALLEL", "|-j 5", "PG_SNAPSHOT_OPT", "|--no-synchronized-snapshots")));
    u.add(new Unused("they belong to strategies this file does not select", examples("MYSQL_HOST", "",
        "MYSQL_USERNAME", "", "MYSQL_PASSWORD", "", "MYSQL_BACKUP_OPTIONS", "", "ZFS_FILESYSTEM_NAMES",
        "|tank/atlassian-home", "BITBUCKET_BACKUP_GPG_RECIPIENT", "", "POSTGRESQL_SERVICE_NAME",
        "postgresql[0-9.]*")));
    u.add(new Unused("bbdiy extracts straight into the restore targets", examples("BITBUCKET_RESTORE_ROOT", "")));
    // Read from the instance metadata by the AWS example; bbdiy reads what it needs itself.
    u.add(new Unused("", examples("AWS_INFO", "(?s).*", "AWS_ACCOUNT_ID", "(?s).*", "AWS_EC2_INSTANCE_TYPE",
        "(?s).*", "AWS_XEN_INSTANCE_TYPES", "(?s).*")));
    return List.copyOf(u);
  }

  private static Map<String, Pattern> examples(String... nameAndPattern) {
    Map<String, Pattern> m = new LinkedHashMap<>();
    for (int i = 0; i < nameAndPattern.length; i += 2) {
      m.put(nameAndPattern[i], Pattern.compile(nameAndPattern[i + 1]));
    }
    return m;
  }
}
