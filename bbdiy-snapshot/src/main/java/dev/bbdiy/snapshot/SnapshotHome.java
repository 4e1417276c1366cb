package dev.bbdiy.snapshot;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.ContentSource;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.kit.Cancellations;
import dev.bbdiy.kit.HomeExcludes;
import dev.bbdiy.kit.PrivateFiles;
import dev.bbdiy.kit.Reasons;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The lifecycle every file-system snapshot provider shares. Inside the lock it only creates the snapshots; after
 * the unlock it exposes them read-only and {@linkplain RunContext#readFrom hands them to the archiver} with the
 * instance's exclude lists, leaving an empty placeholder in the working directory (no staging copy). The snapshots
 * are released once the backup is verified (when the engine closes this instance without having aborted it), or
 * kept, the last {@code keep-local} of them, until retention deletes their backup.
 *
 * <p>Everything created is first written to a {@link SnapshotLedger} in the state directory. {@code abort}
 * releases what this run created; what a killed run left is released by the next backup's {@code prepare}
 * (before the lock, and not in {@code preflight}, which must not change anything).
 */
abstract class SnapshotHome implements HomeSnapshotter {
  /** One part of the backup: where it lives and which snapshot (and path inside it) holds it. */
  record Part(String layoutPath, Path source, List<String> excludes, String label, Path inSnapshot) {}

  protected final String provider;
  protected final BitbucketInstance instance;
  protected final Path workDir;
  protected final int keepLocal;
  private final ProviderContext providerContext;
  private @Nullable SnapshotLedger ledger;
  private @Nullable BackupId created;
  private List<SnapshotLedger.Snap> snaps = List.of();
  private boolean completed;
  private boolean finished;

  SnapshotHome(String provider, ProviderContext context, int keepLocal) {
    this.provider = provider;
    this.providerContext = context;
    this.instance = context.instance();
    this.workDir = context.workDir();
    this.keepLocal = keepLocal;
  }

  /** Checks the tools and what the paths are, naming the fix; no side effects. */
  protected abstract void check(RunContext ctx);

  /** Returns the parts to back up, each with the label of the snapshot that holds it; called after check. */
  protected abstract List<Part> parts(RunContext ctx);

  /** Returns the snapshots {@code create} will make for backup {@code id}, before anything is created. */
  protected abstract List<SnapshotLedger.Snap> plan(BackupId id, List<Part> parts);

  /** Creates the planned snapshots. Runs while Bitbucket is locked: nothing else. */
  protected abstract void create(List<SnapshotLedger.Snap> planned, RunContext ctx);

  /**
   * Exposes each snapshot read-only (mounts it if need be) and returns the directory that holds its content, by
   * label.
   */
  protected abstract Map<String, Path> expose(List<SnapshotLedger.Snap> created, RunContext ctx);

  /**
   * Releases one snapshot (unmounts it first if need be); does nothing if it does not exist. Refuses (throws)
   * anything that is not a snapshot this provider made, whatever a record says.
   */
  protected abstract void release(SnapshotLedger.Snap snap, CancellationSignal cancellation, ProgressReporter progress);

  /** Returns the label of the snapshot of the home, {@code home}. */
  protected static String homeLabel() {
    return "home";
  }

  protected Path home() {
    Path h = instance.home();
    if (h == null) {
      throw BbdiyException.configuration(provider + " backs up the home, but no home is configured: set"
          + " bitbucket.home (BITBUCKET_HOME)");
    }
    return h.toAbsolutePath().normalize();
  }

  protected List<String> homeExcludes() {
    return HomeExcludes.home(instance.type(), instance.excludedRepositories());
  }

  protected List<String> storeExcludes() {
    return HomeExcludes.dataStore(instance.excludedRepositories());
  }

  private SnapshotLedger ledger() {
    if (ledger == null) {
      ledger = new SnapshotLedger(providerContext.stateDirectory());
    }
    return ledger;
  }

  private List<Part> parts = List.of();

  @Override
  public void preflight(RunContext ctx) {
    Path home = home();
    if (!Files.isDirectory(home, LinkOption.NOFOLLOW_LINKS)) {
      throw BbdiyException.configuration("The home " + home + " is not a directory: check bitbucket.home");
    }
    check(ctx);
    parts = parts(ctx);
    try {
      for (SnapshotLedger.Entry e : ledger().entries()) {
        if (e.state() == SnapshotLedger.State.PENDING && !e.writerAlive()) {
          ctx.progress().warning("the interrupted backup " + e.id() + " left " + e.snaps().size()
              + " snapshot(s) recorded in " + ledger().directory() + "; this backup releases them before it locks");
        }
      }
    } catch (IOException e) {
      throw BbdiyException.configuration(provider + ": cannot read " + ledger().directory() + ": " + Reasons.of(e));
    }
  }

  /**
   * Releases what killed runs left, then records the snapshots this run will make: the record is written (and
   * synced) here, while Bitbucket is live, so the capture inside the lock runs only the snapshot commands.
   */
  @Override
  public void prepare(RunContext ctx) {
    releaseLeftovers(ctx.cancellation(), ctx.progress());
    record(ctx.backupId());
    arm(snaps, ctx);
  }

  /**
   * Refuses snapshots about to be planned that exist already on the file system although no record names them
   * (called before they are recorded). The default does nothing.
   */
  protected void refuseExisting(List<SnapshotLedger.Snap> planned) {}

  /**
   * Gets ready to create {@code planned} at once when the capture comes (the last step of {@code prepare}, once
   * they are recorded): start what can be started before the lock. The default does nothing.
   */
  protected void arm(List<SnapshotLedger.Snap> planned, RunContext ctx) {}

  /** Stops what {@link #arm} started and the capture did not use; called by abort and close. Must not throw. */
  protected void disarm() {}

  private void record(BackupId id) {
    List<SnapshotLedger.Snap> planned = plan(id, parts);
    try {
      // Backup ids name the second a backup starts. A second backup in the same second would share the first
      // one's snapshot names: its record would replace the first one's, and its abort would release a snapshot
      // the first backup keeps. Refused here, before anything is recorded or made.
      for (SnapshotLedger.Entry e : ledger().entries()) {
        if (e.id().equals(id)) {
          throw BbdiyException.refused("The snapshots of backup " + id + " exist already (" + ledger().directory()
              + "): another backup of this instance started in the same second (backup ids name the second)."
              + " Run the backup again in a second");
        }
      }
      refuseExisting(planned);
      ledger().pending(id, planned);
    } catch (IOException e) {
      throw BbdiyException.provider(provider, "cannot record the snapshots about to be made in "
          + ledger().directory() + ": " + Reasons.of(e), e);
    }
    created = id;
    snaps = planned;
  }

  @Override
  public int releaseLeftovers(RunContext ctx) {
    return releaseLeftovers(ctx.cancellation(), ctx.progress());
  }

  /** Releases what killed runs left (pending records of dead writers); returns how many snapshots it released. */
  int releaseLeftovers(CancellationSignal cancellation, ProgressReporter progress) {
    int released = 0;
    try {
      for (SnapshotLedger.Entry e : ledger().entries()) {
        if (e.state() != SnapshotLedger.State.PENDING || e.writerAlive()) {
          continue;
        }
        for (SnapshotLedger.Snap s : reversed(e.snaps())) {
          release(s, cancellation, progress);
          released++;
        }
        ledger().forget(e.id());
        progress.message("released the snapshots the interrupted backup " + e.id() + " left");
      }
    } catch (IOException e) {
      throw BbdiyException.provider(provider, "cannot release the snapshots of an interrupted run recorded in "
          + ledger().directory() + ": " + Reasons.of(e), e);
    }
    return released;
  }

  @Override
  public CaptureHandle capture(RunContext ctx) {
    if (!ctx.backupId().equals(created)) {
      record(ctx.backupId()); // prepare did not run (a caller driving the phases by hand)
    }
    create(snaps, ctx);
    return CaptureHandle.NONE;
  }

  @Override
  public Artifact complete(RunContext ctx, CaptureHandle capture) {
    ctx.cancellation().throwIfCancelled();
    Map<String, Path> exposed = expose(snaps, ctx);
    List<String> paths = new ArrayList<>();
    Map<String, String> properties = new LinkedHashMap<>();
    for (Part p : parts) {
      // Emptying a placeholder an earlier copying provider filled can take long: a cancelled run stops here.
      ctx.cancellation().throwIfCancelled();
      Path root = Objects.requireNonNull(exposed.get(p.label()), p.label());
      Path dir = p.inSnapshot().toString().isEmpty() ? root : root.resolve(p.inSnapshot());
      placeholder(ctx.workDir().resolve(p.layoutPath()));
      ctx.readFrom(new ContentSource(p.layoutPath(), dir, p.excludes()));
      paths.add(p.layoutPath());
      // What a restore from the kept snapshot needs: which snapshot holds the part, where, minus what.
      properties.put("part." + p.layoutPath() + ".snapshot", p.label());
      properties.put("part." + p.layoutPath() + ".path", p.inSnapshot().toString());
      properties.put("part." + p.layoutPath() + ".excludes", String.join("\n", p.excludes()));
    }
    for (SnapshotLedger.Snap s : snaps) {
      properties.put("snapshot." + s.label(), s.reference());
      properties.put("snapshot-dir." + s.label(), Objects.requireNonNull(exposed.get(s.label())).toString());
    }
    properties.put("kept-locally", Boolean.toString(keepLocal > 0));
    completed = true;
    return new Artifact(provider, Artifact.Kind.HOME, paths, properties);
  }

  /** Makes {@code dir} an empty directory: what an earlier copying provider left there is not this backup's. */
  private void placeholder(Path dir) {
    try {
      if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        PrivateFiles.emptyDirectory(dir);
      } else {
        PrivateFiles.deleteTree(dir);
        Files.createDirectories(dir);
      }
    } catch (IOException e) {
      throw BbdiyException.provider(provider, "cannot prepare the empty placeholder " + dir + ": " + Reasons.of(e),
          e);
    }
  }

  @Override
  public void abort(RunContext ctx, @Nullable CaptureHandle capture) {
    disarm();
    finished = true;
    BackupId id = created;
    if (id == null) {
      return;
    }
    releaseAll(id, snaps, ctx.progress());
  }

  private void releaseAll(BackupId id, List<SnapshotLedger.Snap> list, ProgressReporter progress) {
    RuntimeException failure = null;
    for (SnapshotLedger.Snap s : reversed(list)) {
      try {
        release(s, Cancellations.none(), progress);
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw BbdiyException.provider(provider, "could not release every snapshot of " + id + " (" + failure.getMessage()
          + "); the record in " + ledger().directory() + " stays, and the next backup retries", failure);
    }
    try {
      ledger().forget(id);
    } catch (IOException e) {
      progress.warning("could not remove the record of " + id + ": " + Reasons.of(e));
    }
  }

  /**
   * Releases this run's snapshots once the backup is verified and published, or keeps them (and releases the
   * oldest kept beyond {@code keep-local}). The engine closes this instance after {@code abort} on a failure, so
   * reaching here completed and not aborted means the backup is good.
   */
  @Override
  public void close() {
    disarm();
    BackupId id = created;
    if (id == null || !completed || finished) {
      return;
    }
    finished = true;
    ProgressReporter quiet = new ProgressReporter() {
      @Override
      public void message(String message) {}

      @Override
      public void progress(String message, long done, long total, String unit) {}

      @Override
      public void warning(String message) {}
    };
    try {
      if (keepLocal <= 0) {
        releaseAll(id, snaps, quiet);
        return;
      }
      unexpose(snaps);
      ledger().keep(id);
      List<SnapshotLedger.Entry> kept = new ArrayList<>();
      for (SnapshotLedger.Entry e : ledger().entries()) {
        if (e.state() == SnapshotLedger.State.KEPT) {
          kept.add(e);
        }
      }
      for (int i = 0; i < kept.size() - keepLocal; i++) {
        releaseAll(kept.get(i).id(), kept.get(i).snaps(), quiet);
      }
    } catch (IOException | RuntimeException e) {
      // close must not throw; the ledger keeps the record, and the next backup releases what is pending.
    }
  }

  /** Undoes {@link #expose} for snapshots that are kept (unmounts what was mounted); the default does nothing. */
  protected void unexpose(List<SnapshotLedger.Snap> kept) {}

  @Override
  public void deleteArtifact(Artifact artifact, RunContext ctx) {
    List<SnapshotLedger.Snap> listed = new ArrayList<>();
    for (Map.Entry<String, String> e : artifact.properties().entrySet()) {
      if (e.getKey().startsWith("snapshot.")) {
        listed.add(new SnapshotLedger.Snap(e.getKey().substring("snapshot.".length()), e.getValue(), ""));
      }
    }
    for (SnapshotLedger.Snap s : listed) {
      release(s, ctx.cancellation(), ctx.progress());
    }
    try {
      for (SnapshotLedger.Entry e : ledger().entries()) {
        if (e.state() == SnapshotLedger.State.KEPT && e.snaps().stream().allMatch(s -> listed.stream()
            .anyMatch(l -> l.reference().equals(s.reference())))) {
          ledger().forget(e.id());
        }
      }
    } catch (IOException e) {
      ctx.progress().warning("could not update " + ledger().directory() + ": " + Reasons.of(e));
    }
  }

  /**
   * Returns the directory that holds the content of the kept snapshot {@code snap} for a restore, once it is
   * checked to be a snapshot this provider made that still exists; {@code recorded} is where the backup read it.
   *
   * @throws BbdiyException naming what to do when it is gone or is not ours
   */
  protected Path restoreRoot(SnapshotLedger.Snap snap, Path recorded, CancellationSignal cancellation) {
    throw BbdiyException.configuration(provider + " keeps no local snapshots: restore from the archive");
  }

  /** One part of a restore from a kept snapshot: where from, where to, minus what. */
  private record Copy(String layoutPath, Path from, Path to, List<String> excludes) {}

  private List<Copy> copies(RestoreContext ctx) {
    Artifact a = ctx.artifact();
    Map<String, String> props = a.properties();
    List<Copy> out = new ArrayList<>();
    for (String path : a.paths()) {
      String label = props.get("part." + path + ".snapshot");
      String in = props.get("part." + path + ".path");
      String reference = label == null ? null : props.get("snapshot." + label);
      String dir = label == null ? null : props.get("snapshot-dir." + label);
      if (label == null || in == null || reference == null || dir == null) {
        throw BbdiyException.configuration("Backup " + ctx.backupId() + " does not record which snapshot holds "
            + path + " (it was made by an earlier version): restore it from the archive (without --from-snapshot)");
      }
      Path rel = Path.of(in);
      if (rel.isAbsolute() || !rel.normalize().equals(rel) || rel.startsWith("..")) {
        throw BbdiyException.refused("Backup " + ctx.backupId() + " records " + path + " at " + in + " inside its"
            + " snapshot, which is not a plain relative path: not restoring from it");
      }
      Path root = restoreRoot(new SnapshotLedger.Snap(label, reference, ""), Path.of(dir), ctx.cancellation());
      Path from = in.isEmpty() ? root : root.resolve(rel);
      if (!Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
        throw failed("the snapshot " + reference + " holds no directory " + from + " for " + path, null);
      }
      Path to = ctx.targetHome();
      if (!path.equals(BackupLayout.HOME)) {
        to = null;
        for (Map.Entry<Path, Path> e : ctx.targetDataStores().entrySet()) {
          if (BackupLayout.dataStore(e.getKey()).equals(path)) {
            to = e.getValue();
          }
        }
      }
      if (to == null) {
        throw BbdiyException.configuration("No target for " + path + " of backup " + ctx.backupId()
            + ": set --target-home or --target-data-store");
      }
      String excludes = props.getOrDefault("part." + path + ".excludes", "");
      out.add(new Copy(path, from, to, excludes.isEmpty() ? List.of() : List.of(excludes.split("\n"))));
    }
    return out;
  }

  /** Checks, for a restore from the kept snapshots, that each still exists and is one this provider made. */
  @Override
  public void preflightRestore(RestoreContext ctx) {
    if (ctx.fromLocalSnapshot()) {
      copies(ctx);
    }
  }

  /**
   * From the archive, the engine has extracted the files into the empty targets, as for every file provider. From
   * a kept local snapshot ({@link RestoreContext#fromLocalSnapshot()}), copies each part's directory of the
   * read-only snapshot into its target, minus the excludes the backup applied; a failure removes what was copied.
   */
  @Override
  public RestoreOutcome restore(RestoreContext ctx) {
    if (!ctx.fromLocalSnapshot()) {
      return RestoreOutcome.home(String.valueOf(ctx.targetHome()));
    }
    List<Copy> copies = copies(ctx);
    List<String> checks = new ArrayList<>();
    List<Path> touched = new ArrayList<>();
    try {
      for (Copy c : copies) {
        touched.add(c.to());
        SnapshotCopy.Copied done = SnapshotCopy.copy(c.from(), c.to(), c.excludes(), ctx.cancellation());
        checks.add(c.layoutPath() + ": " + done.files() + " files, " + done.bytes() + " bytes copied from the"
            + " read-only snapshot " + c.from() + " (not read from the archive, so not checked against its"
            + " manifest)");
        ctx.progress().message("copied " + c.from() + " to " + c.to());
      }
    } catch (IOException | RuntimeException e) {
      for (Path t : touched) {
        try {
          PrivateFiles.emptyDirectory(t);
        } catch (IOException ignored) {
          // the engine empties the targets of a failed restore too
        }
      }
      if (e instanceof BbdiyException b) {
        throw b;
      }
      throw failed("the restore from the local snapshot failed: " + (e instanceof IOException io ? Reasons.of(io)
          : e.getMessage()), e);
    }
    return new RestoreOutcome(ctx.targetHome() + " from the local snapshot", null, checks);
  }

  /** Returns the data stores with their layout paths. */
  protected Map<Path, String> stores() {
    Map<Path, String> out = new LinkedHashMap<>();
    for (Path s : instance.dataStores()) {
      out.put(s.toAbsolutePath().normalize(), BackupLayout.dataStore(s));
    }
    return out;
  }

  protected BbdiyException failed(String what, @Nullable Throwable cause) {
    return new BbdiyException(ErrorCode.PROVIDER_FAILED, provider + ": " + what, cause);
  }

  private static <T> List<T> reversed(List<T> list) {
    List<T> r = new ArrayList<>(list);
    java.util.Collections.reverse(r);
    return r;
  }
}
