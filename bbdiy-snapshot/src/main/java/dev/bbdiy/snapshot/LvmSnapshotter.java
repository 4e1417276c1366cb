package dev.bbdiy.snapshot;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.kit.Cancellations;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The {@code lvm} home snapshotter: {@code lvcreate --snapshot} of the logical volume holding the home (and of each
 * data store on another one) while Bitbucket is locked; after the unlock each snapshot is mounted read-only ({@code
 * nouuid} for XFS) and read in place by the archiver; unmounted and removed once the backup is verified.
 */
final class LvmSnapshotter extends SnapshotHome {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9+_.-]+/bbdiy-[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
      + "\\.(home|store-[0-9]+)");
  private static final Pattern SIZE = Pattern.compile("(\\d+)([kmgt]?)", Pattern.CASE_INSENSITIVE);
  /** The smallest snapshot worth taking: it must hold every block Bitbucket changes until it is released. */
  private static final long MIN_SIZE = 256L << 20;

  private final @Nullable Path binDir;
  private final @Nullable String size;
  private final Path mountDir;
  /** The logical volume ({@code vg/lv}), its mount point and file system type, by label. */
  private final Map<String, String[]> volumes = new LinkedHashMap<>();
  private final List<Part> parts = new ArrayList<>();
  private long snapshotBytes;

  LvmSnapshotter(ProviderContext context, @Nullable Path binDir, @Nullable String size, Path mountDir) {
    super("lvm", context, 0);
    this.binDir = binDir;
    this.size = size;
    this.mountDir = mountDir.toAbsolutePath().normalize();
  }

  private Tool tool(String name) {
    return new Tool("lvm", binDir == null ? name : binDir.resolve(name).toString());
  }

  /** Returns {vg/lv, mount point, fstype} of the logical volume holding {@code path}. */
  private String[] volume(Path path, CancellationSignal c) {
    Tool.Output m = tool("findmnt").run(c, "-n", "-o", "SOURCE,TARGET,FSTYPE", "-T", path.toString());
    String[] f = m.ok() && !m.stdout().isEmpty() ? m.stdout().get(0).trim().split("\\s+") : new String[0];
    if (f.length != 3) {
      throw BbdiyException.configuration("Cannot tell which device holds " + path + " (findmnt: " + m.errorText()
          + ")");
    }
    Tool.Output l = tool("lvs").run(c, "--noheadings", "--separator", "|", "-o", "vg_name,lv_name,lv_attr", f[0]);
    String[] v = l.ok() && !l.stdout().isEmpty() ? l.stdout().get(0).trim().split("\\|") : new String[0];
    if (v.length != 3) {
      throw BbdiyException.configuration(path + " is on " + f[0] + ", which is not an LVM logical volume: put the"
          + " home on a logical volume (lvcreate, mkfs, mount it at " + path + ") or use the copy or rsync provider");
    }
    if (v[2].startsWith("s") || v[2].startsWith("S")) {
      throw BbdiyException.configuration(path + " is on a snapshot (" + v[0] + "/" + v[1] + "), not an origin volume");
    }
    return new String[] {v[0] + "/" + v[1], f[1], f[2]};
  }

  @Override
  protected void check(RunContext ctx) {
    for (String t : List.of("lvcreate", "lvremove", "lvs", "vgs", "mount", "umount", "findmnt")) {
      tool(t).requireInstalled(t.startsWith("lv") || t.equals("vgs") ? "lvm2" : "util-linux");
    }
    Path home = home();
    String[] h = volume(home, ctx.cancellation());
    volumes.put(homeLabel(), h);
    parts.add(new Part(BackupLayout.HOME, home, homeExcludes(), homeLabel(), Path.of(h[1]).relativize(home)));
    int n = 0;
    for (Map.Entry<Path, String> s : stores().entrySet()) {
      n++;
      String[] v = volume(s.getKey(), ctx.cancellation());
      String label = null;
      for (Map.Entry<String, String[]> e : volumes.entrySet()) {
        if (e.getValue()[0].equals(v[0])) {
          label = e.getKey();
        }
      }
      if (label == null) {
        label = "store-" + n;
        volumes.put(label, v);
      }
      parts.add(new Part(s.getValue(), s.getKey(), storeExcludes(), label,
          Path.of(java.util.Objects.requireNonNull(volumes.get(label))[1]).relativize(s.getKey())));
    }
    Map<String, Integer> perGroup = new LinkedHashMap<>();
    for (String[] v : volumes.values()) {
      perGroup.merge(v[0].substring(0, v[0].indexOf('/')), 1, Integer::sum);
    }
    for (Map.Entry<String, Integer> g : perGroup.entrySet()) {
      Tool.Output o = tool("vgs").require(ctx.cancellation(), "reading the free space of " + g.getKey(),
          "--noheadings", "--units", "b", "--nosuffix", "-o", "vg_free", g.getKey());
      long free;
      try {
        free = Long.parseLong(o.stdout().get(0).trim());
      } catch (NumberFormatException | IndexOutOfBoundsException e) {
        throw BbdiyException.configuration("Cannot read the free space of the volume group " + g.getKey() + ": "
            + o.stdout());
      }
      long each = size == null ? free / 2 / g.getValue() : parseSize(size);
      if (each < MIN_SIZE || each * g.getValue() > free) {
        throw BbdiyException.configuration("The volume group " + g.getKey() + " has " + free / (1 << 20) + " MiB free,"
            + " not enough for " + g.getValue() + " snapshot(s) of " + each / (1 << 20) + " MiB (at least "
            + MIN_SIZE / (1 << 20) + " MiB each, holding every block changed while the snapshot exists): extend the"
            + " volume group (vgextend) or set lvm.snapshot-size");
      }
      snapshotBytes = each;
    }
    if (mountDir.startsWith(home)) {
      throw BbdiyException.configuration("lvm.mount-dir " + mountDir + " is inside the home: choose another directory");
    }
  }

  static long parseSize(String text) {
    Matcher m = SIZE.matcher(text.trim());
    if (!m.matches()) {
      throw BbdiyException.configuration("Bad value for lvm.snapshot-size: '" + text + "'; write e.g. 20G or 512M");
    }
    long n = Long.parseLong(m.group(1));
    switch (m.group(2).toLowerCase(Locale.ROOT)) {
      case "k":
        return n << 10;
      case "m":
        return n << 20;
      case "g":
        return n << 30;
      case "t":
        return n << 40;
      default:
        return n;
    }
  }

  @Override
  protected List<Part> parts(RunContext ctx) {
    return List.copyOf(parts);
  }

  @Override
  protected List<SnapshotLedger.Snap> plan(BackupId id, List<Part> parts) {
    List<SnapshotLedger.Snap> out = new ArrayList<>();
    volumes.forEach((label, v) -> {
      String name = "bbdiy-" + id.value() + "." + label;
      out.add(new SnapshotLedger.Snap(label, v[0].substring(0, v[0].indexOf('/')) + "/" + name,
          mountDir.resolve(name).toString()));
    });
    return out;
  }

  @Override
  public void prepare(RunContext ctx) {
    super.prepare(ctx);
    try {
      Files.createDirectories(mountDir);
    } catch (IOException e) {
      throw failed("cannot create " + mountDir + ": " + e.getMessage(), e);
    }
  }

  @Override
  protected void create(List<SnapshotLedger.Snap> planned, RunContext ctx) {
    for (SnapshotLedger.Snap s : planned) {
      String[] v = java.util.Objects.requireNonNull(volumes.get(s.label()));
      tool("lvcreate").require(ctx.cancellation(), "the snapshot of " + v[0], "--snapshot", "--size",
          snapshotBytes + "b", "--name", s.reference().substring(s.reference().indexOf('/') + 1), v[0]);
    }
  }

  @Override
  protected Map<String, Path> expose(List<SnapshotLedger.Snap> created, RunContext ctx) {
    Map<String, Path> out = new LinkedHashMap<>();
    for (SnapshotLedger.Snap s : created) {
      Path dir = Path.of(s.mount());
      try {
        Files.createDirectories(dir);
      } catch (IOException e) {
        throw failed("cannot create the mount point " + dir + ": " + e.getMessage(), e);
      }
      String options = java.util.Objects.requireNonNull(volumes.get(s.label()))[2].equals("xfs") ? "ro,nouuid" : "ro";
      tool("mount").require(ctx.cancellation(), "mounting the snapshot " + s.reference(), "-o", options,
          "/dev/" + s.reference(), dir.toString());
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        throw failed("the snapshot mount point " + dir + " is not a directory", null);
      }
      out.put(s.label(), dir);
    }
    return out;
  }

  @Override
  protected void unexpose(List<SnapshotLedger.Snap> kept) {
    kept.forEach(s -> unmount(s, Cancellations.none()));
  }

  private void unmount(SnapshotLedger.Snap s, CancellationSignal c) {
    if (s.mount().isEmpty()) {
      return;
    }
    Tool.Output mounted = tool("findmnt").run(c, "-n", "-o", "TARGET", "--mountpoint", s.mount());
    if (mounted.ok() && !mounted.stdout().isEmpty()) {
      tool("umount").require(c, "unmounting " + s.mount(), s.mount());
    }
    try {
      Files.deleteIfExists(Path.of(s.mount()));
    } catch (IOException notEmpty) {
      // left for the administrator to look at; the snapshot itself is removed below
    }
  }

  @Override
  protected void release(SnapshotLedger.Snap snap, CancellationSignal cancellation, ProgressReporter progress) {
    if (!NAME.matcher(snap.reference()).matches()) {
      throw BbdiyException.refused("lvm: not removing " + snap.reference() + ": it is not a snapshot bbdiy made"
          + " (<vg>/bbdiy-<backup id>.<label>)");
    }
    if (!snap.mount().isEmpty() && !dev.bbdiy.kit.PrivateFiles.parentOf(Path.of(snap.mount())).equals(mountDir)) {
      throw BbdiyException.refused("lvm: not unmounting " + snap.mount() + ": it is not below lvm.mount-dir "
          + mountDir);
    }
    unmount(snap, cancellation);
    Tool.Output o = tool("lvs").run(Cancellations.none(), "--noheadings", "-o", "lv_attr", snap.reference());
    if (!o.ok() || o.stdout().isEmpty()) {
      return; // gone already
    }
    if (!o.stdout().get(0).trim().toLowerCase(Locale.ROOT).startsWith("s")) {
      throw BbdiyException.refused("lvm: not removing " + snap.reference() + ": it is not a snapshot volume");
    }
    tool("lvremove").require(cancellation, "removing the snapshot " + snap.reference(), "-f", snap.reference());
    progress.message("removed the snapshot " + snap.reference());
  }
}
