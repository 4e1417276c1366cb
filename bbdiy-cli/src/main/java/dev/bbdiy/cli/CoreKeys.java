package dev.bbdiy.cli;

import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The configuration keys of bbdiy itself, by group; providers declare theirs under their own names. */
final class CoreKeys {
  static final Setting URL = Setting.of("url", SettingType.STRING,
      "Bitbucket's base URL, with its context path if it has one (BITBUCKET_URL).").fromVarsFile("BITBUCKET_URL");
  static final Setting USER = Setting.of("user", SettingType.STRING,
      "A user with the SYS_ADMIN global permission (BITBUCKET_BACKUP_USER).").fromVarsFile("BITBUCKET_BACKUP_USER");
  static final Setting PASSWORD = Setting.of("password", SettingType.SECRET,
      "That user's password (BITBUCKET_BACKUP_PASS); or bitbucket.password.file.")
      .fromVarsFile("BITBUCKET_BACKUP_PASS");
  static final Setting CA = Setting.of("ca-certificates", SettingType.PATH,
      "PEM bundle of a private CA to trust for HTTPS, in addition to the JVM's.");
  static final Setting DRAIN_TIMEOUT = Setting.of("drain-timeout", SettingType.DURATION,
      "How long to wait for Bitbucket to drain database and git operations.").withDefault("5m")
      .withRange("100ms", "1d");
  static final Setting MAX_LOCK = Setting.of("max-lock-window", SettingType.DURATION,
      "The lock watchdog: a backup locked this long is cancelled and Bitbucket unlocked.").withDefault("1h")
      .withRange("100ms", "7d");
  static final Setting TIMEOUT = Setting.of("timeout", SettingType.DURATION,
      "Timeout of one HTTP call to Bitbucket.").withDefault("60s").withRange("100ms", "1h");
  static final Setting UNLOCK_RETRY = Setting.of("unlock-retry", SettingType.DURATION,
      "How long a failing unlock keeps being retried before bbdiy gives up and prints the unlock command.")
      .withDefault("2m").withRange("1s", "1d");
  static final Setting ZERO_DOWNTIME = Setting.of("zero-downtime", SettingType.BOOLEAN,
      "Back up without locking (Bitbucket 4.8+; snapshot providers only) (BACKUP_ZERO_DOWNTIME).")
      .withDefault("false").fromVarsFile("BACKUP_ZERO_DOWNTIME");

  static final Setting NAME = Setting.of("name", SettingType.STRING,
      "Instance name, the prefix of backup ids (INSTANCE_NAME).").withDefault("bitbucket")
      .fromVarsFile("INSTANCE_NAME");
  static final Setting TYPE = Setting.of("type", SettingType.STRING,
      "bitbucket-dc (Server and Data Center) or bitbucket-mesh (INSTANCE_TYPE).").withDefault("bitbucket-dc")
      .fromVarsFile("INSTANCE_TYPE");
  static final Setting HOME = Setting.of("home", SettingType.PATH, "The Bitbucket home directory (BITBUCKET_HOME).")
      .fromVarsFile("BITBUCKET_HOME");
  static final Setting DATA_STORES = Setting.of("data-stores", SettingType.LIST,
      "Additional data stores, absolute paths (BITBUCKET_DATA_STORES).").fromVarsFile("BITBUCKET_DATA_STORES");
  static final Setting EXCLUDE = Setting.of("exclude-repositories", SettingType.LIST,
      "Ids of repositories left out of backups (BITBUCKET_BACKUP_EXCLUDE_REPOS).")
      .fromVarsFile("BITBUCKET_BACKUP_EXCLUDE_REPOS");
  static final Setting OWNER_USER = Setting.of("owner-user", SettingType.STRING,
      "User (name or uid) restored files are given (BITBUCKET_UID).").fromVarsFile("BITBUCKET_UID");
  static final Setting OWNER_GROUP = Setting.of("owner-group", SettingType.STRING,
      "Group (name or gid) restored files are given (BITBUCKET_GID).").fromVarsFile("BITBUCKET_GID");

  static final Setting WORK_DIR = Setting.of("dir", SettingType.PATH,
      "Working directory: the working copy and run state (BITBUCKET_BACKUP_ROOT). Required when a provider stages"
          + " files there (rsync, copy, postgresql); otherwise the run state goes to a state directory"
          + " ($STATE_DIRECTORY, /var/lib/bbdiy or ~/.local/state/bbdiy, then the instance name).")
      .fromVarsFile("BITBUCKET_BACKUP_ROOT");

  static final Setting PLUGINS_DIR = Setting.of("dir", SettingType.PATH,
      "A directory of provider jars (plugins), searched before <installation>/plugins and /etc/bbdiy/plugins.");

  static final Setting HOME_TYPE = Setting.of("type", SettingType.STRING,
      "Home provider: copy (default), rsync, amazon-ebs, none, or a plugin's (BACKUP_DISK_TYPE).")
      .withDefault("copy").fromVarsFile("BACKUP_DISK_TYPE");
  static final Setting DATABASE_TYPE = Setting.of("type", SettingType.STRING,
      "Database provider: postgresql, amazon-rds, none (default), or a plugin's (BACKUP_DATABASE_TYPE).")
      .withDefault("none").fromVarsFile("BACKUP_DATABASE_TYPE");
  static final Setting ARCHIVE_TYPE = Setting.of("type", SettingType.STRING,
      "Archiver: tar (default), directory, s3, or a plugin's (BACKUP_ARCHIVE_TYPE).").withDefault("tar")
      .fromVarsFile("BACKUP_ARCHIVE_TYPE");

  static final Setting KEEP = Setting.of("keep", SettingType.INTEGER,
      "Keep the newest N backups; 0 (default) keeps all (KEEP_BACKUPS).").withDefault("0").withRange("0", "100000")
      .fromVarsFile("KEEP_BACKUPS");
  static final Setting WITHIN = Setting.of("within", SettingType.DURATION,
      "Also keep every backup younger than this, e.g. 30d.").withRange("1s", "36500d");

  static final Setting WEBHOOK = Setting.of("webhook", SettingType.SECRET,
      "URL that receives a JSON POST after each backup (Slack incoming webhooks work); or notify.webhook.file.");
  static final Setting NOTIFY_ON = Setting.of("on", SettingType.STRING,
      "When to notify: always (default), failure.").withDefault("always");
  static final Setting METRICS_FILE = Setting.of("file", SettingType.PATH,
      "Prometheus text file updated after each backup (node_exporter textfile collector).");
  static final Setting VERBOSE = Setting.of("verbose", SettingType.BOOLEAN,
      "Verbose output (BITBUCKET_VERBOSE_BACKUP).").withDefault("false").fromVarsFile("BITBUCKET_VERBOSE_BACKUP");

  /** The groups: configuration prefix to its settings. */
  static final Map<String, List<Setting>> GROUPS = groups();

  private static Map<String, List<Setting>> groups() {
    Map<String, List<Setting>> g = new LinkedHashMap<>();
    g.put("bitbucket", List.of(URL, USER, PASSWORD, CA, DRAIN_TIMEOUT, MAX_LOCK, TIMEOUT, UNLOCK_RETRY,
        ZERO_DOWNTIME));
    g.put("instance", List.of(NAME, TYPE, HOME, DATA_STORES, EXCLUDE, OWNER_USER, OWNER_GROUP));
    g.put("work", List.of(WORK_DIR));
    g.put("plugins", List.of(PLUGINS_DIR));
    g.put("home", List.of(HOME_TYPE));
    g.put("database", List.of(DATABASE_TYPE));
    g.put("archive", List.of(ARCHIVE_TYPE));
    g.put("retention", List.of(KEEP, WITHIN));
    g.put("notify", List.of(WEBHOOK, NOTIFY_ON));
    g.put("metrics", List.of(METRICS_FILE));
    g.put("output", List.of(VERBOSE));
    return g;
  }

  private CoreKeys() {}
}
