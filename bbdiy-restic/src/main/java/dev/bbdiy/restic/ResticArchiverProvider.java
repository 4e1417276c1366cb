package dev.bbdiy.restic;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.ArchiverProvider;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import dev.bbdiy.api.spi.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The {@code restic} archiver: each backup one snapshot in a restic repository (deduplicated, encrypted, on any
 * backend restic supports). The repository and password reach restic through its environment ({@code
 * RESTIC_REPOSITORY}, {@code RESTIC_PASSWORD_FILE}), never its command line; backend credentials ({@code
 * AWS_ACCESS_KEY_ID}, {@code B2_ACCOUNT_KEY}...) are taken from bbdiy's own environment, as restic documents them.
 */
public final class ResticArchiverProvider implements ArchiverProvider {
  public static final Setting REPOSITORY = Setting.of("repository", SettingType.STRING,
      "The restic repository: a directory, sftp:host:/path, s3:https://host/bucket, rest:https://host/... Given"
          + " to restic as RESTIC_REPOSITORY, never on its command line.").asRequired();
  public static final Setting PASSWORD_FILE = Setting.of("password-file", SettingType.PATH,
      "File holding the repository's password (first line), given to restic as RESTIC_PASSWORD_FILE. Keep it"
          + " 0600. Default: RESTIC_PASSWORD_FILE, RESTIC_PASSWORD or RESTIC_PASSWORD_COMMAND of the environment.");
  public static final Setting PASSWORD = Setting.of("password", SettingType.SECRET,
      "The repository's password itself (prefer password-file), given to restic as RESTIC_PASSWORD.");
  public static final Setting INIT = Setting.of("init", SettingType.BOOLEAN,
      "Create the repository (restic init) when it does not exist yet. Default false: a missing repository is an"
          + " error, so that a mistyped repository does not quietly start a new one.").withDefault("false");
  public static final Setting OPTIONS = Setting.of("options", SettingType.LIST,
      "Extended options for every restic command, each given as -o <option>, e.g. s3.storage-class=STANDARD_IA,"
          + "sftp.command=... They are on restic's command line: never put a secret here.");
  public static final Setting BINARY = Setting.of("binary", SettingType.STRING,
      "The restic program (0.14 or newer).").withDefault("restic");
  public static final Setting CHECK = Setting.of("check", SettingType.BOOLEAN,
      "Run restic check when a backup is verified (default true). The snapshot is always read back against"
          + " bbdiy's manifest as well.").withDefault("true");
  public static final Setting READ_DATA_SUBSET = Setting.of("read-data-subset", SettingType.STRING,
      "Have restic check also read this part of all pack files: 5%, 1/10 or 500M (default: none, only the"
          + " repository's structure; the new backup's own data is read back anyway).");

  private static final Pattern REMOTE = Pattern.compile("^(sftp|rest|s3|azure|gs|b2|swift|rclone):.*",
      Pattern.DOTALL);
  private static final Pattern CREDENTIALS = Pattern.compile("(://)[^/@]*@");

  @Override
  public String name() {
    return "restic";
  }

  @Override
  public String description() {
    return "One restic snapshot per backup (deduplicated, encrypted, any restic backend), with a SHA-256"
        + " manifest";
  }

  @Override
  public List<Setting> settings() {
    return List.of(REPOSITORY, PASSWORD_FILE, PASSWORD, INIT, OPTIONS, BINARY, CHECK, READ_DATA_SUBSET);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.REMOTE, Capability.READS_CONTENT_SOURCES);
  }

  @Override
  public Archiver create(ProviderContext context) {
    Settings s = context.settings();
    String repository = s.string(REPOSITORY);
    if (repository.isBlank()) {
      throw BbdiyException.configuration("restic.repository is empty: give the repository (a directory,"
          + " sftp:..., s3:..., rest:...)");
    }
    Map<String, String> env = new LinkedHashMap<>();
    List<String> removed = new ArrayList<>(List.of("RESTIC_REPOSITORY", "RESTIC_REPOSITORY_FILE"));
    env.put("RESTIC_REPOSITORY", repository);
    Optional<Path> passwordFile = s.optionalPath(PASSWORD_FILE);
    Optional<Secret> password = s.secret(PASSWORD);
    if (passwordFile.isPresent() && password.isPresent()) {
      throw BbdiyException.configuration("Set restic.password-file or restic.password, not both");
    }
    if (passwordFile.isPresent() || password.isPresent()) {
      removed.addAll(List.of("RESTIC_PASSWORD", "RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND"));
    }
    if (passwordFile.isPresent()) {
      Path f = passwordFile.get().toAbsolutePath();
      if (!Files.isRegularFile(f) || !Files.isReadable(f)) {
        throw BbdiyException.configuration("restic.password-file " + f + " is not a readable file: create it"
            + " (chmod 600) with the repository's password on its first line");
      }
      env.put("RESTIC_PASSWORD_FILE", f.toString());
    } else if (password.isPresent()) {
      env.put("RESTIC_PASSWORD", password.get().reveal());
    } else if (System.getenv("RESTIC_PASSWORD_FILE") == null && System.getenv("RESTIC_PASSWORD") == null
        && System.getenv("RESTIC_PASSWORD_COMMAND") == null) {
      throw BbdiyException.configuration("restic needs the repository's password: set restic.password-file (a"
          + " 0600 file), or RESTIC_PASSWORD_FILE or RESTIC_PASSWORD_COMMAND in the environment");
    }
    List<String> options = s.isSet(OPTIONS) ? s.list(OPTIONS) : List.of();
    for (String o : options) {
      if (!o.contains("=") || o.startsWith("-")) {
        throw BbdiyException.configuration("restic.options: '" + o + "' is not an extended option key=value");
      }
    }
    Restic restic = new Restic(s.string(BINARY), env, removed, options);
    Path state = context.stateDirectory();
    return new ResticArchiver(restic, displayName(repository), localDirectory(repository),
        context.instance().name(), state, context.workDir().resolve(".bbdiy").resolve("tmp"), s.bool(INIT),
        s.bool(CHECK), s.optional(READ_DATA_SUBSET).filter(v -> !v.isBlank()).orElse(null));
  }

  /** Returns the repository for messages, without a user name or password in a URL. */
  static String displayName(String repository) {
    return CREDENTIALS.matcher(repository).replaceAll("$1***@");
  }

  /** Returns the directory of a local repository, or {@code null} for a remote one. */
  static @Nullable Path localDirectory(String repository) {
    if (REMOTE.matcher(repository).matches()) {
      return null;
    }
    String path = repository.startsWith("local:") ? repository.substring("local:".length()) : repository;
    return Path.of(path).toAbsolutePath().normalize();
  }
}
