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
   * Gets ready to create {@code planned} at once when the capture comes (the last step of {@code prepare}, once
   * they are recorded): start what can be started before the lock. The default does nothing.
   */
  protected void arm(List<SnapshotLedger.Snap> planned, RunContext ctx) {}

  /** Stops what {@link #arm} started and the capture did not use; called by abort and close. Must not throw. */
  protected void disarm() {}

  private void record(BackupId id) {
    List<SnapshotLedger.Snap> planned = plan(id, parts);
    try {
      ledger().pending(id, planned);
    } catch (IOException e) {
      throw BbdiyException.provider(provider, "cannot record the snapshots about to be made in "
          + ledger().directory() + ": " + Reasons.of(e), e);
    }
    created = id;
    snaps = planned;
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
    }
    for (SnapshotLedger.Snap s : snaps) {
      properties.put("snapshot." + s.label(), s.reference());
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

  @Override
  public RestoreOutcome restore(RestoreContext ctx) {
    // The engine extracts the archived files into the empty targets, as for every file provider.
    return RestoreOutcome.home(String.valueOf(ctx.targetHome()));
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
