package dev.bbdiy.rsync;

import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import java.util.List;
import java.util.Set;

/**
 * The {@code rsync} home snapshotter ({@code BACKUP_DISK_TYPE=rsync}): {@code rsync -a --delete
 * --delete-excluded} of the home and each data store into the working copy, once while Bitbucket is live and
 * once, for the changes only, while it is locked.
 */
public final class RsyncProvider implements HomeSnapshotterProvider {
  /** The rsync program. */
  public static final Setting BINARY = Setting.of("binary", SettingType.PATH,
      "The rsync program (default: rsync on the PATH).").withDefault("rsync");
  /** Extra options. */
  public static final Setting OPTIONS = Setting.of("options", SettingType.LIST,
      "Extra rsync options, e.g. --bwlimit=50m. bbdiy always passes -a --delete --delete-excluded and the"
          + " excludes.");

  @Override
  public String name() {
    return "rsync";
  }

  @Override
  public String description() {
    return "rsync of the home and data stores (Atlassian's rsync strategy, with the right exclude lists)";
  }

  @Override
  public List<Setting> settings() {
    return List.of(BINARY, OPTIONS);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.FILE_OUTPUT);
  }

  @Override
  public HomeSnapshotter create(ProviderContext context) {
    return new RsyncSnapshotter(context.instance(), context.workDir(), context::stateDirectory,
        context.settings().string(BINARY), context.settings().list(OPTIONS));
  }
}
