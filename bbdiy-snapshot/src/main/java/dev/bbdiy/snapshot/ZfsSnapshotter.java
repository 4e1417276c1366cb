package dev.bbdiy.snapshot;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.kit.Cancellations;
import dev.bbdiy.kit.PrivateFiles;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The {@code zfs} home snapshotter: one {@code zfs snapshot} command for the datasets of the home and the data
 * stores, so their snapshots are atomic together; the archiver reads each snapshot in place under the dataset's
 * {@code .zfs/snapshot/} directory.
 */
final class ZfsSnapshotter extends SnapshotHome {
  private static final Pattern SNAPSHOT =
      Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:/-]*@bbdiy-[A-Za-z0-9][A-Za-z0-9._-]{0,199}");
  private static final long MIN_FREE = 64L << 20;

  private final Tool zfs;
  /** Dataset name and mount point, by label; the home's dataset is {@code home}. */
  private final Map<String, String[]> datasets = new LinkedHashMap<>();
  private final List<Part> parts = new ArrayList<>();

  ZfsSnapshotter(ProviderContext context, @Nullable Path binDir, int keepLocal) {
    super("zfs", context, keepLocal);
    this.zfs = new Tool("zfs", binDir == null ? "zfs" : binDir.resolve("zfs").toString());
  }

  /** Returns the dataset holding {@code path} and its mount point. */
  private String[] dataset(Path path, CancellationSignal c) {
    Tool.Output o = zfs.run(c, "list", "-H", "-o", "name,mountpoint", path.toString());
    if (!o.ok() || o.stdout().isEmpty() || o.stdout().get(0).split("\t").length != 2) {
      throw BbdiyException.configuration(path + " is not on a ZFS dataset (zfs list: " + o.errorText() + "). Create"
          + " one (zfs create -o mountpoint=" + path + " <pool>/bitbucket-home) and move the home into it, or use"
          + " the copy or rsync provider");
    }
    String[] f = o.stdout().get(0).split("\t");
    if (!Path.of(f[1]).isAbsolute() || !path.startsWith(Path.of(f[1]))) {
      throw BbdiyException.configuration("The dataset " + f[0] + " holding " + path + " is mounted at " + f[1]
          + ", not above it (legacy or no mount point): set its mountpoint property");
    }
    return f;
  }

  @Override
  protected void check(RunContext ctx) {
    zfs.requireInstalled("zfsutils-linux");
    Path home = home();
    String[] h = dataset(home, ctx.cancellation());
    datasets.put(homeLabel(), h);
    parts.add(new Part(BackupLayout.HOME, home, homeExcludes(), homeLabel(), Path.of(h[1]).relativize(home)));
    int n = 0;
    for (Map.Entry<Path, String> s : stores().entrySet()) {
      n++;
      String[] d = dataset(s.getKey(), ctx.cancellation());
      String label = homeLabel();
      for (Map.Entry<String, String[]> e : datasets.entrySet()) {
        if (e.getValue()[0].equals(d[0])) {
          label = e.getKey();
          d = null;
          break;
        }
      }
      if (d != null) {
        label = "store-" + n;
        datasets.put(label, d);
      }
      parts.add(new Part(s.getValue(), s.getKey(), storeExcludes(), label,
          Path.of(java.util.Objects.requireNonNull(datasets.get(label))[1]).relativize(s.getKey())));
    }
    // A child dataset mounted inside the home is not in the home's snapshot: refuse unless it is a data store.
    Tool.Output children = zfs.require(ctx.cancellation(), "listing the datasets below " + h[0], "list", "-H", "-r",
        "-o", "name,mountpoint", h[0]);
    for (String line : children.stdout()) {
      String[] f = line.split("\t");
      if (f.length == 2 && !f[0].equals(h[0]) && Path.of(f[1]).isAbsolute() && Path.of(f[1]).startsWith(home)
          && datasets.values().stream().noneMatch(d -> d[0].equals(f[0]))) {
        throw BbdiyException.configuration("The dataset " + f[0] + " is mounted inside the home at " + f[1] + ": a"
            + " snapshot of " + h[0] + " does not include it. List " + f[1] + " as a data store, or make it a"
            + " directory of " + h[0]);
      }
    }
    for (String[] d : datasets.values()) {
      Tool.Output a = zfs.require(ctx.cancellation(), "reading the free space of " + d[0], "get", "-H", "-p", "-o",
          "value", "available", d[0]);
      try {
        long free = Long.parseLong(a.stdout().get(0).trim());
        if (free < MIN_FREE) {
          throw BbdiyException.configuration("The dataset " + d[0] + " has " + free / (1 << 20) + " MiB available; a"
              + " snapshot needs room for the changes made while it exists: free at least " + MIN_FREE / (1 << 20)
              + " MiB in its pool");
        }
      } catch (NumberFormatException | IndexOutOfBoundsException e) {
        throw BbdiyException.configuration("Cannot read the available space of " + d[0] + ": " + a.stdout());
      }
    }
  }

  @Override
  protected List<Part> parts(RunContext ctx) {
    return List.copyOf(parts);
  }

  @Override
  protected List<SnapshotLedger.Snap> plan(BackupId id, List<Part> parts) {
    List<SnapshotLedger.Snap> out = new ArrayList<>();
    datasets.forEach((label, d) -> out.add(new SnapshotLedger.Snap(label, d[0] + "@bbdiy-" + id.value(), "")));
    return out;
  }

  @Override
  protected void create(List<SnapshotLedger.Snap> planned, RunContext ctx) {
    List<String> args = new ArrayList<>();
    args.add("snapshot");
    planned.forEach(s -> args.add(s.reference()));
    // One command: the snapshots of all datasets are taken atomically together.
    zfs.require(ctx.cancellation(), "the snapshot of " + planned.size() + " dataset(s)", args.toArray(String[]::new));
  }

  @Override
  protected Map<String, Path> expose(List<SnapshotLedger.Snap> created, RunContext ctx) {
    Map<String, Path> out = new LinkedHashMap<>();
    for (SnapshotLedger.Snap s : created) {
      String[] d = java.util.Objects.requireNonNull(datasets.get(s.label()));
      String snapName = s.reference().substring(s.reference().indexOf('@') + 1);
      Path dir = Path.of(d[1], ".zfs", "snapshot", snapName);
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        throw failed("the snapshot " + s.reference() + " is not visible at " + dir + " (is the dataset mounted?)",
            null);
      }
      out.put(s.label(), dir);
    }
    return out;
  }

  @Override
  protected Path restoreRoot(SnapshotLedger.Snap snap, Path recorded, CancellationSignal cancellation) {
    String ref = snap.reference();
    String snapName = ref.substring(ref.indexOf('@') + 1);
    Path mount = !recorded.isAbsolute() || recorded.getNameCount() < 4 ? null
        : PrivateFiles.parentOf(PrivateFiles.parentOf(PrivateFiles.parentOf(recorded)));
    if (!SNAPSHOT.matcher(ref).matches() || mount == null || !recorded.isAbsolute()
        || !recorded.normalize().equals(recorded) || !recorded.endsWith(Path.of(".zfs", "snapshot", snapName))) {
      throw BbdiyException.refused("zfs: not restoring from " + ref + " at " + recorded + ": it is not a snapshot"
          + " bbdiy made (<dataset>@bbdiy-<backup id>) under its dataset's .zfs/snapshot directory");
    }
    Tool.Output o = zfs.run(cancellation, "list", "-H", "-t", "snapshot", "-o", "name", ref);
    if (!o.ok() || !o.stdout().contains(ref)) {
      throw BbdiyException.configuration("The snapshot " + ref + " is not on this machine any more (only the"
          + " backups zfs.keep-local keeps have theirs): restore from the archive (without --from-snapshot)");
    }
    String[] d = dataset(mount, cancellation);
    if (!d[0].equals(ref.substring(0, ref.indexOf('@'))) || !Path.of(d[1]).equals(mount)
        || !Files.isDirectory(recorded, LinkOption.NOFOLLOW_LINKS)) {
      throw BbdiyException.refused("zfs: not restoring from " + recorded + ": it is not where the dataset of " + ref
          + " shows its snapshots");
    }
    return recorded;
  }

  @Override
  protected void release(SnapshotLedger.Snap snap, CancellationSignal cancellation, ProgressReporter progress) {
    if (!SNAPSHOT.matcher(snap.reference()).matches()) {
      throw BbdiyException.refused("zfs: not destroying " + snap.reference() + ": it is not a snapshot bbdiy made"
          + " (<dataset>@bbdiy-<backup id>)");
    }
    Tool.Output o = zfs.run(Cancellations.none(), "list", "-H", "-t", "snapshot", "-o", "name", snap.reference());
    if (!o.ok() || !o.stdout().contains(snap.reference())) {
      return; // gone already
    }
    zfs.require(cancellation, "destroying the snapshot " + snap.reference(), "destroy", snap.reference());
    progress.message("destroyed the snapshot " + snap.reference());
  }
}
