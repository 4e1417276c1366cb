package dev.bbdiy.snapshot;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.Settings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code command} home provider: runs the administrator's commands for each phase (a SAN, NetApp, Pure, Dell or
 * VMware snapshot, an LVM snapshot, anything) with a documented environment; the archiver stores what the commands
 * expose (a mounted snapshot, read in place) or leave in the working directory. See the README's "Snapshots on
 * premises" and {@code examples/command/}.
 */
public final class CommandHomeProvider implements HomeSnapshotterProvider {
  @Override
  public String name() {
    return "command";
  }

  @Override
  public String description() {
    return "the administrator's commands per phase (SAN arrays, LVM, anything), with a documented environment";
  }

  @Override
  public List<Setting> settings() {
    return CommandProviders.settings("home");
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.FILE_OUTPUT, Capability.EXTERNAL_ARTIFACTS);
  }

  @Override
  public HomeSnapshotter create(ProviderContext context) {
    Settings s = context.settings();
    return new Home(context, CommandSource.commands(s, CommandProviders.commandSettings("home")),
        s);
  }

  private static final class Home extends CommandSource implements HomeSnapshotter {
    Home(ProviderContext context, Map<Step, String> commands, Settings s) {
      super("command", context, commands, s.duration(CommandProviders.TIMEOUT),
          s.duration(CommandProviders.CAPTURE_TIMEOUT), s.secret(CommandProviders.SECRET).orElse(null));
    }

    @Override
    protected String kind() {
      return "home";
    }

    @Override
    protected Artifact.Kind artifactKind() {
      return Artifact.Kind.HOME;
    }

    @Override
    public void preflight(RunContext ctx) {
      if (instance.home() == null) {
        throw BbdiyException.configuration("command backs up the home, but no home is configured: set bitbucket.home");
      }
      super.preflight(ctx);
    }

    @Override
    protected List<String> layoutPaths() {
      List<String> out = new ArrayList<>();
      out.add(BackupLayout.HOME);
      for (Path store : instance.dataStores()) {
        out.add(BackupLayout.dataStore(store));
      }
      return out;
    }

    @Override
    public RestoreOutcome restore(RestoreContext ctx) {
      runRestore(ctx, Map.of());
      return RestoreOutcome.home(String.valueOf(ctx.targetHome()));
    }
  }
}
