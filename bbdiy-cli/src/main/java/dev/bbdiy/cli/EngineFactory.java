package dev.bbdiy.cli;

import dev.bbdiy.api.BackupListener;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.kit.ChildProcess;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.core.RetentionPolicy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/** Builds the library objects a command needs from the validated configuration. */
final class EngineFactory {
  private final Config config;

  EngineFactory(Config config) {
    this.config = config;
  }

  /** Returns the Bitbucket URL, if configured. */
  Optional<String> url() {
    return config.group("bitbucket").optional(CoreKeys.URL);
  }

  /** Returns a maintenance client, if a URL is configured. */
  Optional<MaintenanceClient> client() {
    Settings b = config.group("bitbucket");
    Optional<String> url = b.optional(CoreKeys.URL);
    if (url.isEmpty()) {
      return Optional.empty();
    }
    MaintenanceClient.Builder builder = MaintenanceClient.builder(url.get())
        .callTimeout(b.duration(CoreKeys.TIMEOUT))
        .unlockRetryBudget(b.duration(CoreKeys.UNLOCK_RETRY));
    Optional<String> user = b.optional(CoreKeys.USER);
    Optional<Secret> password = b.secret(CoreKeys.PASSWORD);
    if (password.isPresent() && password.get().isEmpty()) {
      throw BbdiyException.configuration("bitbucket.password is empty: set it (or bitbucket.password.file); bbdiy"
          + " never tries an empty password, which only earns the account a CAPTCHA");
    }
    if (user.isPresent() && password.isPresent()) {
      builder.credentials(user.get(), password.get());
    } else if (user.isPresent() || password.isPresent()) {
      throw BbdiyException.configuration("Set both bitbucket.user and bitbucket.password (or"
          + " bitbucket.password.file)");
    }
    b.optionalPath(CoreKeys.CA).ifPresent(builder::trustedCertificates);
    try {
      return Optional.of(builder.build());
    } catch (IllegalArgumentException e) {
      throw BbdiyException.configuration("Bad value for bitbucket.url or bitbucket.ca-certificates: "
          + Redaction.urls(String.valueOf(e.getMessage())));
    }
  }

  /** Returns a client, failing with the fix if none is configured. */
  MaintenanceClient requireClient() {
    return client().orElseThrow(() -> BbdiyException.configuration("bitbucket.url is not configured (BITBUCKET_URL)"));
  }

  /**
   * Returns the instance.
   *
   * @param resolveOwner whether to turn owner-user and owner-group into numbers now (restore needs them)
   */
  BitbucketInstance instance(boolean resolveOwner) {
    Settings i = config.group("instance");
    List<Path> stores = new ArrayList<>();
    for (String s : i.list(CoreKeys.DATA_STORES)) {
      stores.add(Path.of(s));
    }
    int uid = -1;
    int gid = -1;
    if (resolveOwner) {
      uid = i.optional(CoreKeys.OWNER_USER).map(u -> resolveId(u, false)).orElse(-1);
      gid = i.optional(CoreKeys.OWNER_GROUP).map(g -> resolveId(g, true)).orElse(-1);
    }
    return new BitbucketInstance(i.string(CoreKeys.NAME), InstanceType.parse(i.string(CoreKeys.TYPE)),
        i.optionalPath(CoreKeys.HOME).orElse(null), stores, i.list(CoreKeys.EXCLUDE), uid, gid);
  }

  /**
   * Returns the working directory: work.dir, or when it is not configured and no selected provider stages files
   * there (snapshot providers), the {@linkplain Config#stateDirectory() state directory}, which then holds only
   * the run state. Fails with the fix when a provider needs work.dir.
   */
  Path workDir() {
    Optional<Path> configured = config.group("work").optionalPath(CoreKeys.WORK_DIR);
    if (configured.isPresent()) {
      return configured.get();
    }
    List<String> staging = config.staging();
    if (!staging.isEmpty()) {
      throw BbdiyException.configuration("work.dir is not configured: " + String.join(" and ", staging)
          + (staging.size() == 1 ? " stages" : " stage") + " the backup there before it is archived. Set the"
          + " working directory (Atlassian's BITBUCKET_BACKUP_ROOT) on a file system with room for it.");
    }
    return config.stateDirectory();
  }

  /**
   * Returns an engine for the command.
   *
   * @throws BbdiyException {@link dev.bbdiy.api.ErrorCode#CONFIGURATION} if the configuration cannot make one
   */
  BackupEngine engine(BackupListener listener, boolean resolveOwner) {
    try {
      return buildEngine(listener, resolveOwner);
    } catch (IllegalArgumentException e) {
      // Every value comes from the configuration, which Config checked; this is the net under that check.
      throw BbdiyException.configuration("Invalid configuration: " + Redaction.urls(String.valueOf(e.getMessage())));
    }
  }

  private BackupEngine buildEngine(BackupListener listener, boolean resolveOwner) {
    ProviderRegistry registry = config.registry();
    Settings b = config.group("bitbucket");
    Settings retention = config.group("retention");
    String homeType = config.group("home").string(CoreKeys.HOME_TYPE);
    String dbType = config.group("database").string(CoreKeys.DATABASE_TYPE);
    BackupEngine.Builder builder = BackupEngine.builder()
        .instance(instance(resolveOwner))
        .workDir(workDir())
        .home(homeType.equals("none") ? null : registry.home(homeType))
        .database(dbType.equals("none") ? null : registry.database(dbType))
        .archiver(registry.archiver(config.group("archive").string(CoreKeys.ARCHIVE_TYPE)))
        .configuration(config.values())
        .zeroDowntime(b.bool(CoreKeys.ZERO_DOWNTIME))
        .drainTimeout(b.duration(CoreKeys.DRAIN_TIMEOUT))
        .maxLockWindow(b.duration(CoreKeys.MAX_LOCK))
        .retention(new RetentionPolicy(retention.integer(CoreKeys.KEEP),
            retention.optional(CoreKeys.WITHIN).map(Settings::parseDuration).orElse(null)))
        .listener(listener);
    client().ifPresent(builder::bitbucket);
    return builder.build();
  }

  /** Resolves a user or group name to its number with the system's own tools (names may come from LDAP). */
  static int resolveId(String nameOrId, boolean group) {
    if (nameOrId.matches("\\d+")) {
      return Integer.parseInt(nameOrId);
    }
    List<String> cmd = group ? List.of("getent", "group", nameOrId) : List.of("id", "-u", nameOrId);
    String out = run(cmd);
    if (out != null) {
      String value = group ? out.split(":").length > 2 ? out.split(":")[2] : "" : out.trim();
      if (value.trim().matches("\\d+")) {
        return Integer.parseInt(value.trim());
      }
    }
    throw BbdiyException.configuration("The " + (group ? "group" : "user") + " '" + nameOrId + "' (instance.owner-"
        + (group ? "group" : "user") + ", BITBUCKET_" + (group ? "GID" : "UID") + ") does not exist on this machine;"
        + " create it or give its number");
  }

  private static @Nullable String run(List<String> cmd) {
    try {
      ChildProcess.Result r = ChildProcess.builder(cmd).build().run();
      return r.succeeded() ? String.join("\n", r.stdoutTail()).trim() : null;
    } catch (BbdiyException cannotStart) {
      return null;
    }
  }
}
