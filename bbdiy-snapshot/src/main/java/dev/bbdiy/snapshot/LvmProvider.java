package dev.bbdiy.snapshot;

import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The {@code lvm} home snapshotter: while Bitbucket is locked, only {@code lvcreate --snapshot} of the logical
 * volumes holding the home and the data stores; after the unlock each snapshot is mounted read-only (with {@code
 * nouuid} for XFS) and the archiver reads it in place, with the exclude lists, without a staging copy; unmounted and
 * removed once the backup is verified. Exercised only against fake LVM tools in bbdiy's tests (no device-mapper
 * snapshot target on the build machines).
 */
public final class LvmProvider implements HomeSnapshotterProvider {
  /** Where the tools are. */
  public static final Setting BIN_DIR = Setting.of("bin-dir", SettingType.PATH,
      "The directory holding lvcreate, lvremove, lvs, vgs, mount, umount and findmnt (default: found on the PATH).");
  /** The size of each snapshot. */
  public static final Setting SNAPSHOT_SIZE = Setting.of("snapshot-size", SettingType.STRING,
      "The size of each snapshot (e.g. 20G): room for every block changed while it exists (default: half the volume"
          + " group's free space, shared among the snapshots; checked in preflight).");
  /** Where snapshots are mounted. */
  public static final Setting MOUNT_DIR = Setting.of("mount-dir", SettingType.PATH,
      "Where snapshots are mounted read-only for the archiver (default /run/bbdiy/lvm).")
      .withDefault("/run/bbdiy/lvm");

  @Override
  public String name() {
    return "lvm";
  }

  @Override
  public String description() {
    return "LVM snapshots of the home and data store volumes, mounted read-only and archived in place";
  }

  @Override
  public List<Setting> settings() {
    return List.of(BIN_DIR, SNAPSHOT_SIZE, MOUNT_DIR);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.FILE_OUTPUT, Capability.ATOMIC_CAPTURE, Capability.EXTERNAL_ARTIFACTS);
  }

  @Override
  public HomeSnapshotter create(ProviderContext context) {
    var s = context.settings();
    s.optional(SNAPSHOT_SIZE).ifPresent(LvmSnapshotter::parseSize);
    return new LvmSnapshotter(context, s.optionalPath(BIN_DIR).orElse(null), s.optional(SNAPSHOT_SIZE).orElse(null),
        Path.of(s.string(MOUNT_DIR)));
  }
}
