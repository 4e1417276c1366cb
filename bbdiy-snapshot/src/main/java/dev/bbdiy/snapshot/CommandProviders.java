package dev.bbdiy.snapshot;

import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** The settings the {@code command} and {@code command-database} providers share. */
final class CommandProviders {
  private CommandProviders() {}

  static final Setting TIMEOUT = Setting.of("timeout", SettingType.DURATION,
      "How long each command but capture may run before it is stopped (default 30m).").withDefault("30m")
      .withRange("1s", "1d");
  static final Setting CAPTURE_TIMEOUT = Setting.of("capture-timeout", SettingType.DURATION,
      "How long the capture command may run: it runs while Bitbucket is locked, within the lock window watchdog"
          + " (default 60s).").withDefault("60s").withRange("1s", "1h");
  static final Setting SECRET = Setting.of("secret", SettingType.SECRET,
      "A secret the commands need (an array's API token), given to them as BBDIY_SECRET in the environment, never"
          + " on a command line; or secret.file=<path>.");

  static Map<CommandSource.Step, Setting> commandSettings(String kind) {
    Map<CommandSource.Step, Setting> out = new EnumMap<>(CommandSource.Step.class);
    out.put(CommandSource.Step.PREFLIGHT, Setting.of("preflight", SettingType.STRING,
        "Checks, without side effects, before anything else (exit 2 for a configuration problem)."));
    out.put(CommandSource.Step.PREPARE, Setting.of("prepare", SettingType.STRING,
        "Runs while Bitbucket is live, before the lock."));
    out.put(CommandSource.Step.CAPTURE, Setting.of("capture", SettingType.STRING,
        "Takes the consistent point of the " + kind + " while Bitbucket is locked: only the snapshot. Required."));
    out.put(CommandSource.Step.COMPLETE, Setting.of("complete", SettingType.STRING,
        "Runs after the unlock: mounts the snapshot and writes 'expose <layout path> <dir>' lines, or writes the files"
            + " into BBDIY_WORK_DIR."));
    out.put(CommandSource.Step.RELEASE, Setting.of("release", SettingType.STRING,
        "Runs once the backup is verified: unmounts or deletes what capture and complete made."));
    out.put(CommandSource.Step.ABORT, Setting.of("abort", SettingType.STRING,
        "Undoes what this run made after a failure, or what a killed run left (its BBDIY_ARTIFACT_FILE)."));
    out.put(CommandSource.Step.RESTORE, Setting.of("restore", SettingType.STRING,
        "Runs on restore, after the engine extracted the files (BBDIY_RESTORE_SOURCE, BBDIY_TARGET_*)."));
    out.put(CommandSource.Step.DELETE, Setting.of("delete", SettingType.STRING,
        "Deletes what a backup recorded ('id' lines) when retention drops it."));
    return out;
  }

  static List<Setting> settings(String kind, Setting... extra) {
    List<Setting> out = new ArrayList<>(commandSettings(kind).values());
    out.add(TIMEOUT);
    out.add(CAPTURE_TIMEOUT);
    out.add(SECRET);
    out.addAll(List.of(extra));
    return List.copyOf(out);
  }
}
