package dev.bbdiy.snapshot;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.kit.Cancellations;
import dev.bbdiy.kit.PrivateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The {@code btrfs} home snapshotter: a read-only {@code btrfs subvolume snapshot -r} of the home's subvolume and
 * of each data store on a subvolume of its own, taken while Bitbucket is locked, read in place by the archiver.
 */
final class BtrfsSnapshotter extends SnapshotHome {
  /** What a snapshot of ours is called: {@code <backup id>.<label>}, nothing else is ever deleted. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}\\.(home|store-[0-9]+)");

  /** The least free space a snapshot is taken with: copy-on-write needs room while Bitbucket runs on. */
  private static final long MIN_FREE = 64L << 20;

  private final Tool btrfs;
  private final @Nullable Path snapshotDir;

  /** The subvolumes to snapshot, by label, and where their snapshots go. */
  private final Map<String, Path> subvolumes = new LinkedHashMap<>();
  private final Map<String, Path> snapshotDirs = new LinkedHashMap<>();
  /** The snapshot commands started in prepare, by snapshot path; empty once fired or disarmed. */
  private Map<String, ArmedCommand> armed = Map.of();

  BtrfsSnapshotter(ProviderContext context, String binary, @Nullable Path snapshotDir, int keepLocal) {
    super("btrfs", context, keepLocal);
    this.btrfs = new Tool("btrfs", binary);
    this.snapshotDir = snapshotDir == null ? null : snapshotDir.toAbsolutePath().normalize();
  }

  @Override
  protected void check(RunContext ctx) {
    btrfs.requireInstalled("btrfs-progs");
    Path home = home();
    Subvolume h = subvolume(home, ctx.cancellation()).orElseThrow(() -> BbdiyException.configuration(
        home + " is not a btrfs subvolume, so it cannot be snapshotted on its own. Make it one while Bitbucket is"
            + " stopped: btrfs subvolume create " + home + ".new && cp -a --reflink=always " + home + "/. "
            + home + ".new/ && mv " + home + " " + home + ".old && mv " + home + ".new " + home
            + " (or use the copy or rsync provider)"));
    subvolumes.put(homeLabel(), home);
    List<Path> nested = nested(home, h, ctx.cancellation());
    int n = 0;
    for (Path store : stores().keySet()) {
      n++;
      if (subvolume(store, ctx.cancellation()).isPresent()) {
        subvolumes.put("store-" + n, store);
      } else if (!store.startsWith(home)) {
        throw BbdiyException.configuration("The data store " + store + " is not a btrfs subvolume and not inside"
            + " the home, so no snapshot holds it. Make it a subvolume (btrfs subvolume create, then move its"
            + " content in with cp -a --reflink=always) or use the copy or rsync provider");
      }
    }
    for (Path p : nested) {
      if (!subvolumes.containsValue(p)) {
        throw BbdiyException.configuration(p + " is a btrfs subvolume inside the home " + home + ": a snapshot of"
            + " the home does not include it (it would be an empty directory in the backup). List it as a data"
            + " store (bitbucket.data-stores), or turn it into a plain directory");
      }
    }
    String fs = filesystem(home, ctx.cancellation());
    requireRoom(home, ctx.cancellation());
    for (Map.Entry<String, Path> e : subvolumes.entrySet()) {
      Path dir = snapshotDir != null ? snapshotDir : dev.bbdiy.kit.PrivateFiles.parentOf(e.getValue()).resolve(".bbdiy-snapshots");
      if (dir.startsWith(home)) {
        throw BbdiyException.configuration("btrfs.snapshot-dir " + dir + " is inside the home: the snapshots would"
            + " be nested in the next snapshot. Choose a directory next to the home");
      }
      Path existing = dir;
      while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
        existing = existing.getParent();
      }
      if (existing == null || !Files.isDirectory(existing, LinkOption.NOFOLLOW_LINKS)) {
        throw BbdiyException.configuration("Cannot create the snapshot directory " + dir + ": no parent directory");
      }
      String there = filesystem(existing, ctx.cancellation());
      String own = e.getKey().equals(homeLabel()) ? fs : filesystem(e.getValue(), ctx.cancellation());
      if (!there.equals(own)) {
        throw BbdiyException.configuration("The snapshot directory " + dir + " is not on the btrfs file system of "
            + e.getValue() + " (snapshots cannot cross file systems): set btrfs.snapshot-dir to a directory on it");
      }
      snapshotDirs.put(e.getKey(), dir);
    }
  }

  @Override
  protected List<Part> parts(RunContext ctx) {
    List<Part> parts = new ArrayList<>();
    Path home = home();
    parts.add(new Part(dev.bbdiy.api.BackupLayout.HOME, home, homeExcludes(), homeLabel(), Path.of("")));
    int n = 0;
    for (Map.Entry<Path, String> s : stores().entrySet()) {
      n++;
      String label = "store-" + n;
      if (subvolumes.containsKey(label)) {
        parts.add(new Part(s.getValue(), s.getKey(), storeExcludes(), label, Path.of("")));
      } else {
        parts.add(new Part(s.getValue(), s.getKey(), storeExcludes(), homeLabel(), home.relativize(s.getKey())));
      }
    }
    return parts;
  }

  @Override
  public void prepare(RunContext ctx) {
    for (Path dir : snapshotDirs.values()) {
      try {
        Files.createDirectories(dir);
      } catch (IOException e) {
        throw failed("cannot create the snapshot directory " + dir + ": " + e.getMessage(), e);
      }
    }
    // A snapshot flushes the subvolume's dirty data in its commit: flush what is dirty now, while Bitbucket is
    // live, so the commit inside the lock has only what is written from here to the drain.
    for (Path subvolume : subvolumes.values()) {
      btrfs.run(ctx.cancellation(), "filesystem", "sync", subvolume.toString());
    }
    super.prepare(ctx);
  }

  @Override
  protected List<SnapshotLedger.Snap> plan(BackupId id, List<Part> parts) {
    List<SnapshotLedger.Snap> out = new ArrayList<>();
    for (String label : subvolumes.keySet()) {
      out.add(new SnapshotLedger.Snap(label, java.util.Objects.requireNonNull(snapshotDirs.get(label)).resolve(id.value() + "." + label).toString(),
          ""));
    }
    return out;
  }

  /** Refuses, before anything is recorded, a snapshot path that exists already. */
  @Override
  protected void refuseExisting(List<SnapshotLedger.Snap> planned) {
    for (SnapshotLedger.Snap s : planned) {
      if (Files.exists(Path.of(s.reference()), LinkOption.NOFOLLOW_LINKS)) {
        // btrfs would make the snapshot inside the existing one (or fail on its read-only file system).
        throw BbdiyException.refused("A snapshot named " + s.reference() + " exists already: another backup of"
            + " this instance started in the same second (backup ids name the second), or a copy of a kept"
            + " snapshot was left there. Run the backup again in a second; delete the directory if no backup"
            + " of that id exists");
      }
    }
  }

  /**
   * Starts, before the lock, one waiting {@code btrfs subvolume snapshot -r} per subvolume (see {@link
   * ArmedCommand}). No flusher runs during the drain: one that ran {@code btrfs filesystem sync} in a loop until
   * the capture made the window longer on this machine (an in-flight commit delays the snapshot's own).
   */
  @Override
  protected void arm(List<SnapshotLedger.Snap> planned, RunContext ctx) {
    disarm();
    armed = armAll(planned);
  }

  private Map<String, ArmedCommand> armAll(List<SnapshotLedger.Snap> planned) {
    Map<String, ArmedCommand> out = new LinkedHashMap<>();
    try {
      for (SnapshotLedger.Snap s : planned) {
        out.put(s.reference(), ArmedCommand.arm("btrfs", List.of(btrfs.program(), "subvolume", "snapshot", "-r",
            java.util.Objects.requireNonNull(subvolumes.get(s.label())).toString(), s.reference())));
      }
    } catch (RuntimeException e) {
      out.values().forEach(ArmedCommand::disarm);
      throw e;
    }
    return out;
  }

  /**
   * Inside the lock: fires the armed snapshot commands all at once (snapshots started together can share one
   * btrfs transaction commit) and waits for them. Nothing else runs here: no process is started unless prepare
   * did not run, no file is read or written.
   */
  @Override
  protected void create(List<SnapshotLedger.Snap> planned, RunContext ctx) {
    long start = System.nanoTime();
    Map<String, ArmedCommand> ready = armed;
    armed = Map.of();
    if (!ready.keySet().equals(planned.stream().map(SnapshotLedger.Snap::reference).collect(
        java.util.stream.Collectors.toSet())) || !ready.values().stream().allMatch(ArmedCommand::alive)) {
      ready.values().forEach(ArmedCommand::disarm);
      ready = armAll(planned); // prepare did not run (a caller driving the phases by hand)
    }
    ready.values().forEach(ArmedCommand::fire);
    BbdiyException failure = null;
    for (SnapshotLedger.Snap s : planned) {
      ArmedCommand c = java.util.Objects.requireNonNull(ready.get(s.reference()));
      Tool.Output o;
      try {
        o = c.await(ctx.cancellation());
      } catch (BbdiyException cancelled) {
        // Every other command is stopped and waited for too, so that none is still making its snapshot when
        // abort releases what the record lists.
        failure = failure == null ? cancelled : failure;
        ready.values().forEach(ArmedCommand::disarm);
        continue;
      }
      if (!o.ok() && failure == null) {
        failure = BbdiyException.provider("btrfs", "the snapshot of " + subvolumes.get(s.label()) + " failed: "
            + String.join(" ", c.command()) + " exited with " + o.exitCode()
            + (o.stdout().isEmpty() ? "" : ":\n  " + o.errorText()), null);
      }
    }
    if (failure != null) {
      throw failure;
    }
    ctx.progress().message(planned.size() + " snapshot(s) in " + (System.nanoTime() - start) / 1_000_000 + " ms");
  }

  @Override
  protected void disarm() {
    armed.values().forEach(ArmedCommand::disarm);
    armed = Map.of();
  }

  @Override
  protected Map<String, Path> expose(List<SnapshotLedger.Snap> created, RunContext ctx) {
    Map<String, Path> out = new LinkedHashMap<>();
    for (SnapshotLedger.Snap s : created) {
      Path p = Path.of(s.reference());
      // Read-only by construction; checked, since the archiver reads it as the backup.
      Tool.Output ro = btrfs.require(ctx.cancellation(), "reading the snapshot's flags", "property", "get", "-ts",
          p.toString(), "ro");
      if (!ro.stdout().contains("ro=true")) {
        throw failed("the snapshot " + p + " is not read-only", null);
      }
      out.put(s.label(), p);
    }
    return out;
  }

  @Override
  protected void release(SnapshotLedger.Snap snap, CancellationSignal cancellation, ProgressReporter progress) {
    Path p = Path.of(snap.reference()).toAbsolutePath().normalize();
    if (!NAME.matcher(p.getFileName() == null ? "" : p.getFileName().toString()).matches()
        || !p.toString().equals(snap.reference())) {
      throw BbdiyException.refused("btrfs: not deleting " + snap.reference() + ": it is not named like a snapshot"
          + " bbdiy made (<backup id>.home or .store-N)");
    }
    if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      // A snapshot command killed while it waited for its commit may still have its snapshot made by that commit:
      // let pending commits finish, then look again.
      Path dir = PrivateFiles.parentOf(p);
      if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        btrfs.run(Cancellations.none(), "filesystem", "sync", dir.toString());
      }
      if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
        return;
      }
    }
    Optional<Subvolume> sv = subvolume(p, Cancellations.none());
    if (sv.isEmpty() || sv.get().parentUuid().equals("-")) {
      throw BbdiyException.refused("btrfs: not deleting " + p + ": it is not a btrfs snapshot");
    }
    btrfs.require(cancellation, "deleting the snapshot " + p, "subvolume", "delete", p.toString());
    progress.message("deleted the snapshot " + p);
  }

  @Override
  protected Path restoreRoot(SnapshotLedger.Snap snap, Path recorded, CancellationSignal cancellation) {
    Path p = Path.of(snap.reference());
    if (!p.isAbsolute() || !p.normalize().equals(p) || !recorded.equals(p) || p.getFileName() == null
        || !NAME.matcher(p.getFileName().toString()).matches()) {
      throw BbdiyException.refused("btrfs: not restoring from " + snap.reference() + ": it is not named like a"
          + " snapshot bbdiy made (<backup id>.home or .store-N)");
    }
    Optional<Subvolume> sv = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? subvolume(p, cancellation)
        : Optional.empty();
    if (sv.isEmpty()) {
      throw BbdiyException.configuration("The snapshot " + p + " is not on this machine any more (only the backups"
          + " btrfs.keep-local keeps have theirs): restore from the archive (without --from-snapshot)");
    }
    Tool.Output ro = btrfs.require(cancellation, "reading the snapshot's flags", "property", "get", "-ts",
        p.toString(), "ro");
    if (sv.get().parentUuid().equals("-") || !ro.stdout().contains("ro=true")) {
      throw BbdiyException.refused("btrfs: not restoring from " + p + ": it is not a read-only snapshot");
    }
    return p;
  }

  /** What {@code btrfs subvolume show} says about a subvolume. */
  private record Subvolume(String pathInFilesystem, String parentUuid) {}

  private Optional<Subvolume> subvolume(Path p, CancellationSignal cancellation) {
    Tool.Output o = btrfs.run(cancellation, "subvolume", "show", p.toString());
    if (!o.ok() || o.stdout().isEmpty()) {
      return Optional.empty();
    }
    String parent = "-";
    for (String line : o.stdout()) {
      String t = line.trim();
      if (t.startsWith("Parent UUID:")) {
        parent = t.substring("Parent UUID:".length()).trim();
      }
    }
    return Optional.of(new Subvolume(o.stdout().get(0).trim(), parent));
  }

  /** Returns the subvolumes below {@code home}'s subvolume, as absolute paths. */
  private List<Path> nested(Path home, Subvolume h, CancellationSignal cancellation) {
    Tool.Output o = btrfs.require(cancellation, "listing the subvolumes inside " + home, "subvolume", "list", "-o",
        home.toString());
    String prefix = h.pathInFilesystem().equals("/") ? "" : h.pathInFilesystem() + "/";
    List<Path> out = new ArrayList<>();
    for (String line : o.stdout()) {
      int i = line.indexOf(" path ");
      if (i < 0) {
        continue;
      }
      String rel = line.substring(i + " path ".length());
      if (rel.startsWith("<FS_TREE>/")) {
        rel = rel.substring("<FS_TREE>/".length());
      }
      if (rel.startsWith(prefix)) {
        out.add(home.resolve(rel.substring(prefix.length())).normalize());
      } else {
        throw BbdiyException.configuration("Cannot tell where the subvolume " + rel + " inside " + home + " is; make"
            + " sure no subvolume is nested in the home");
      }
    }
    return out;
  }

  /** Returns the UUID of the btrfs file system holding {@code p}, failing if it is on none. */
  private String filesystem(Path p, CancellationSignal cancellation) {
    Tool.Output o = new Tool("btrfs", "findmnt").run(cancellation, "-n", "-o", "UUID,FSTYPE", "-T", p.toString());
    String[] f = o.ok() && !o.stdout().isEmpty() ? o.stdout().get(0).trim().split("\\s+") : new String[0];
    if (f.length != 2 || !f[1].equals("btrfs")) {
      throw BbdiyException.configuration(p + " is not on a btrfs file system (findmnt: "
          + (o.stdout().isEmpty() ? o.errorText() : o.stdout().get(0).trim()) + "): use the copy or rsync provider");
    }
    return f[0];
  }

  /** Fails if the file system of {@code p} has less than {@code MIN_FREE} left: a snapshot needs metadata room. */
  private void requireRoom(Path p, CancellationSignal cancellation) {
    Tool.Output o = btrfs.run(cancellation, "filesystem", "usage", "-b", p.toString());
    for (String line : o.stdout()) {
      String t = line.trim();
      if (t.startsWith("Free (estimated):")) {
        String[] f = t.substring("Free (estimated):".length()).trim().split("\\s+");
        try {
          long free = Long.parseLong(f[0]);
          if (free < MIN_FREE) {
            throw BbdiyException.configuration("The btrfs file system of " + p + " has " + free / (1 << 20)
                + " MiB free; a snapshot needs room for its metadata while Bitbucket writes: free at least "
                + MIN_FREE / (1 << 20) + " MiB");
          }
        } catch (NumberFormatException ignored) {
          // unreadable: the snapshot itself reports a full file system
        }
      }
    }
  }
}
