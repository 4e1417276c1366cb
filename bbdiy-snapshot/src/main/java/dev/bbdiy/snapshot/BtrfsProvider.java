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
 * The {@code btrfs} home snapshotter: while Bitbucket is locked it runs only {@code btrfs subvolume snapshot -r}
 * of the home's subvolume (and of each data store on a subvolume of its own), so the lock window stays at a few
 * milliseconds whatever the home's size; after the unlock the archiver reads the read-only snapshots in place,
 * with the home's exclude list applied, and no staging copy is made. The snapshots are deleted once the backup is
 * verified, unless {@code btrfs.keep-local} keeps the last ones (retention then deletes them with their backup).
 */
public final class BtrfsProvider implements HomeSnapshotterProvider {
  /** The btrfs program. */
  public static final Setting BINARY = Setting.of("binary", SettingType.PATH,
      "The btrfs program (default: btrfs on the PATH; package btrfs-progs).").withDefault("btrfs");
  /** Where snapshots go. */
  public static final Setting SNAPSHOT_DIR = Setting.of("snapshot-dir", SettingType.PATH,
      "Where snapshots are created, on the same btrfs file system, outside the home (default: .bbdiy-snapshots"
          + " next to each subvolume).");
  /** How many local snapshots to keep. */
  public static final Setting KEEP_LOCAL = Setting.of("keep-local", SettingType.INTEGER,
      "How many of the last backups keep their snapshots on the file system after they are verified (default 0:"
          + " deleted at once); retention deletes kept ones with their backup.").withDefault("0")
      .withRange("0", "100");

  @Override
  public String name() {
    return "btrfs";
  }

  @Override
  public String description() {
    return "read-only btrfs snapshots of the home and data store subvolumes, archived in place (no staging copy)";
  }

  @Override
  public List<Setting> settings() {
    return List.of(BINARY, SNAPSHOT_DIR, KEEP_LOCAL);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.FILE_OUTPUT, Capability.ATOMIC_CAPTURE, Capability.EXTERNAL_ARTIFACTS,
        Capability.RESTORES_FROM_LOCAL_SNAPSHOT);
  }

  @Override
  public HomeSnapshotter create(ProviderContext context) {
    return new BtrfsSnapshotter(context, context.settings().string(BINARY),
        context.settings().optionalPath(SNAPSHOT_DIR).orElse(null), context.settings().integer(KEEP_LOCAL));
  }
}
