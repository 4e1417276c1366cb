package dev.bbdiy.snapshot;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import dev.bbdiy.api.spi.Settings;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code command-database} provider: the database counterpart of {@code command} (named apart because a
 * provider name also is its settings prefix). The capture or complete command writes the dump into {@code
 * $BBDIY_WORK_DIR/bitbucket-db}; the restore command loads it from {@code $BBDIY_RESTORE_SOURCE} into {@code
 * $BBDIY_TARGET_DATABASE}, which must not exist.
 */
public final class CommandDatabaseProvider implements DatabaseDumperProvider {
  /** The database name restores go to when none is given. */
  public static final Setting DATABASE = Setting.of("database", SettingType.STRING,
      "The database a restore loads into when --target-database is not given (default bitbucket); passed as"
          + " BBDIY_TARGET_DATABASE.").withDefault("bitbucket");

  @Override
  public String name() {
    return "command-database";
  }

  @Override
  public String description() {
    return "the administrator's commands per phase for the database, with a documented environment";
  }

  @Override
  public List<Setting> settings() {
    return CommandProviders.settings("database", DATABASE);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.FILE_OUTPUT, Capability.EXTERNAL_ARTIFACTS);
  }

  @Override
  public DatabaseDumper create(ProviderContext context) {
    Settings s = context.settings();
    return new Dumper(context, CommandSource.commands(s, CommandProviders.commandSettings("database")), s);
  }

  private static final class Dumper extends CommandSource implements DatabaseDumper {
    private final String database;

    Dumper(ProviderContext context, Map<Step, String> commands, Settings s) {
      super("command-database", context, commands, s.duration(CommandProviders.TIMEOUT),
          s.duration(CommandProviders.CAPTURE_TIMEOUT), s.secret(CommandProviders.SECRET).orElse(null));
      this.database = s.string(DATABASE);
    }

    @Override
    protected String kind() {
      return "database";
    }

    @Override
    protected Artifact.Kind artifactKind() {
      return Artifact.Kind.DATABASE;
    }

    @Override
    protected List<String> layoutPaths() {
      return List.of(BackupLayout.DATABASE);
    }

    @Override
    public void preflightRestore(RestoreContext ctx) {
      if (!has(Step.RESTORE)) {
        throw BbdiyException.configuration("command-database.restore is not set: configure the command that loads"
            + " the dump from $BBDIY_RESTORE_SOURCE into $BBDIY_TARGET_DATABASE");
      }
    }

    @Override
    public RestoreOutcome restore(RestoreContext ctx) {
      preflightRestore(ctx);
      String target = ctx.targetDatabase() == null ? database : ctx.targetDatabase();
      runRestore(ctx, Map.of("BBDIY_TARGET_DATABASE", target));
      return RestoreOutcome.database(target, "database " + target + " (command-database.restore)", List.of());
    }
  }
}
