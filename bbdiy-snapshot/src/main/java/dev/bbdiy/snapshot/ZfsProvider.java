package dev.bbdiy.snapshot;

import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import java.util.List;
import java.util.Set;

/**
 * The {@code zfs} home snapshotter: while Bitbucket is locked, one {@code zfs snapshot} of the datasets holding
 * the home and the data stores (atomic together); after the unlock the archiver reads them in place from {@code
 * .zfs/snapshot/}, with the exclude lists applied, without a staging copy. Exercised only against a fake {@code
 * zfs} in bbdiy's tests (no ZFS module on the build machines).
 */
public final class ZfsProvider implements HomeSnapshotterProvider {
  /** Where the zfs program is. */
  public static final Setting BIN_DIR = Setting.of("bin-dir", SettingType.PATH,
      "The directory holding the zfs program (default: found on the PATH; package zfsutils-linux).");
  /** How many local snapshots to keep. */
  public static final Setting KEEP_LOCAL = Setting.of("keep-local", SettingType.INTEGER,
      "How many of the last backups keep their snapshots after they are verified (default 0); retention destroys"
          + " kept ones with their backup.").withDefault("0").withRange("0", "100");

  @Override
  public String name() {
    return "zfs";
  }

  @Override
  public String description() {
    return "ZFS snapshots of the home and data store datasets (atomic together), archived in place";
  }

  @Override
  public List<Setting> settings() {
    return List.of(BIN_DIR, KEEP_LOCAL);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.FILE_OUTPUT, Capability.ATOMIC_CAPTURE, Capability.EXTERNAL_ARTIFACTS,
        Capability.RESTORES_FROM_LOCAL_SNAPSHOT);
  }

  @Override
  public HomeSnapshotter create(ProviderContext context) {
    return new ZfsSnapshotter(context, context.settings().optionalPath(BIN_DIR).orElse(null),
        context.settings().integer(KEEP_LOCAL));
  }
}
