package dev.bbdiy.core.internal;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.RestoreResult;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.ExtractResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.core.RestoreRequest;
import dev.bbdiy.kit.GitLockFiles;
import dev.bbdiy.kit.Ownership;
import dev.bbdiy.kit.PrivateFiles;
import dev.bbdiy.kit.Reasons;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One restore, top to bottom: find the backup, plan where each part goes (targets come from the request and the
 * configuration only, never from the archive), check that every target is empty and every provider can restore,
 * extract and verify against the manifest, finish the home (stale git locks, ownership), then load the database.
 * What a failed extraction wrote is removed; a failed database restore leaves a finished home.
 */
public final class RestoreRun {
  private final EngineSetup setup;
  private final Operation op;
  private final OperationProviders providers;
  private final RestoreRequest request;
  private final EventSink events;

  public RestoreRun(EngineSetup setup, Operation op, OperationProviders providers, RestoreRequest request) {
    this.setup = setup;
    this.op = op;
    this.providers = providers;
    this.request = request;
    this.events = op.events();
  }

  /** Where each part of the backup goes, decided before anything is written. */
  private static final class Plan {
    final ExtractionPlan.Builder extraction = ExtractionPlan.builder();
    final List<Path> emptyTargets = new ArrayList<>();
    final Map<Path, Path> stores = new LinkedHashMap<>();
    @Nullable Artifact homeArtifact;
    @Nullable Artifact dbArtifact;
    @Nullable Path home;
    @Nullable Path dbDir;
    /** Parts of the home artifact outside every local target (a mesh backup's nodes), staged for its provider. */
    final Map<String, Path> parts = new LinkedHashMap<>();
    @Nullable Path partsDir;
    OperationProviders.@Nullable Source homeSource;
    OperationProviders.@Nullable Source dbSource;
    boolean fromSnapshot;

    boolean extracts() {
      return (home != null && !fromSnapshot) || dbDir != null || !parts.isEmpty();
    }
  }

  /** Restores the backup; returns what was restored where, and what was checked. */
  public RestoreResult run() {
    Instant start = setup.clock().instant();
    Archiver archiver = providers.archiver();
    StoredBackup stored = archiver.find(request.id()).orElseThrow(() -> new BbdiyException(ErrorCode.NOT_FOUND,
        "No backup " + request.id() + " to restore. Available: " + describe(archiver.list())));
    BackupSummary summary = stored.summary();
    if (summary == null && !request.allowUnverified()) {
      throw BbdiyException.refused("Backup " + request.id() + " has no manifest (it was made by another tool,"
          + " such as Atlassian's scripts), so it cannot be verified before it is restored. Restore it anyway with"
          + " --allow-unverified.");
    }
    if (summary == null) {
      events.warning("bbdiy", "backup " + request.id() + " has no manifest: it is restored without verification");
    }
    Plan plan = plan(summary != null ? summary.artifacts() : foreignArtifacts());
    requireEmpty(plan.emptyTargets);
    events.phase(Phase.PREFLIGHT, () -> {
      if (plan.dbSource != null) {
        plan.dbSource.source().preflightRestore(context(plan, Objects.requireNonNull(plan.dbArtifact), null,
            plan.dbSource.name()));
      }
      if (plan.homeSource != null) {
        plan.homeSource.source().preflightRestore(context(plan, Objects.requireNonNull(plan.homeArtifact), null,
            plan.homeSource.name()));
      }
    });

    List<String> checks = new ArrayList<>();
    List<String> targets = new ArrayList<>();
    ExtractResult extracted = new ExtractResult(0, 0, false);
    RestoreOutcome dbOutcome = null;
    DatabaseWhileExtracting early = overlapped(plan);
    boolean done = false;
    try {
      if (plan.extracts()) {
        extracted = extract(archiver, plan, summary != null, early);
        if (extracted.verified()) {
          checks.add("archive " + request.id() + " matched its manifest: " + extracted.files() + " files, "
              + extracted.bytes() + " bytes, every SHA-256");
        }
      }
      // The home is finished (ownership, stale git locks) before the database is loaded, so that a database
      // restore that fails leaves a complete home and '--database-only' is all that remains to do.
      if (plan.homeArtifact != null) {
        RestoreOutcome homeOutcome = events.phase(Phase.RESTORE_HOME, () -> restoreHome(plan));
        targets.add(homeOutcome.target());
        checks.addAll(homeOutcome.checks());
      }
      if (plan.dbSource != null) {
        dbOutcome = restoreDatabase(plan, early);
        targets.add(dbOutcome.target());
        checks.addAll(dbOutcome.checks());
      }
      done = true;
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "Restore failed: " + Reasons.of(e), e);
    } finally {
      if (early != null && !done) {
        // Stopped before it was awaited (the home could not be finished, the run was cancelled): the load is
        // cancelled and undone before the dump it reads is removed.
        String left = early.abandon("the restore failed before the database was loaded");
        if (left != null) {
          events.warning("bbdiy", left);
        }
      }
      if (plan.partsDir != null) {
        try {
          PrivateFiles.deleteTree(plan.partsDir);
        } catch (IOException e) {
          events.warning("bbdiy", "could not remove the temporary copy of the Mesh nodes' parts in " + plan.partsDir);
        }
      }
      if (plan.dbDir != null) {
        try {
          PrivateFiles.deleteTree(PrivateFiles.parentOf(plan.dbDir));
        } catch (IOException e) {
          events.warning("bbdiy", "could not remove the temporary copy of the dump in " + PrivateFiles.parentOf(plan.dbDir));
        }
      }
    }
    return new RestoreResult(request.id(), plan.home, List.copyOf(plan.stores.values()),
        dbOutcome == null ? null : dbOutcome.database(), extracted.files(), extracted.bytes(),
        plan.extracts() && extracted.verified(), targets, checks, events.phases(),
        Duration.between(start, setup.clock().instant()), events.warnings());
  }

  private Plan plan(List<Artifact> artifacts) {
    Plan plan = new Plan();
    plan.fromSnapshot = request.fromLocalSnapshot();
    plan.homeArtifact = request.home()
        ? artifacts.stream().filter(a -> a.kind() == Artifact.Kind.HOME).findFirst().orElse(null) : null;
    plan.dbArtifact = request.database()
        ? artifacts.stream().filter(a -> a.kind() == Artifact.Kind.DATABASE).findFirst().orElse(null) : null;
    if (plan.homeArtifact == null && plan.dbArtifact == null) {
      throw BbdiyException.configuration("Backup " + request.id() + " holds nothing of what was asked to restore");
    }
    Artifact home = plan.homeArtifact;
    if (home != null) {
      plan.homeSource = home.paths().isEmpty() ? matchingSource(home) : providers.sourceFor(home).orElse(null);
      if (request.fromLocalSnapshot()) {
        OperationProviders.Source s = plan.homeSource;
        if (s == null || home.paths().isEmpty() || !s.has(Capability.RESTORES_FROM_LOCAL_SNAPSHOT)) {
          throw BbdiyException.configuration("Backup " + request.id() + "'s home was made by the " + home.provider()
              + " provider, which cannot restore from a local snapshot: restore it from the archive (without"
              + " --from-snapshot)");
        }
      }
      if (!home.paths().isEmpty()) {
        planFiles(plan, home);
      }
    }
    Artifact db = plan.dbArtifact;
    if (db != null) {
      plan.dbSource = matchingSource(db);
      if (!db.paths().isEmpty()) {
        plan.dbDir = setup.stateDir().resolve("restore-" + request.id().value()).resolve(BackupLayout.DATABASE);
        plan.extraction.map(BackupLayout.DATABASE, plan.dbDir);
      }
    }
    return plan;
  }

  /** Plans the home's and the data stores' files: targets from the request and the configuration only. */
  private void planFiles(Plan plan, Artifact home) {
    Path target = request.targetHome() != null ? request.targetHome() : setup.instance().home();
    if (target == null) {
      throw BbdiyException.configuration("Where should the home be restored? Set instance.home (BITBUCKET_HOME) or"
          + " pass --target-home");
    }
    plan.home = target.toAbsolutePath().normalize();
    boolean extract = !request.fromLocalSnapshot();
    if (extract) {
      plan.extraction.map(BackupLayout.HOME, plan.home);
    }
    plan.emptyTargets.add(plan.home);
    for (Path store : dataStoresOf(home)) {
      // The manifest's path of a data store is only the name of that part of the backup.
      Path storeTarget = request.dataStoreTargets().get(store);
      if (storeTarget == null && setup.instance().dataStores().contains(store)) {
        storeTarget = store;
      }
      if (storeTarget == null) {
        throw BbdiyException.configuration("Backup " + request.id() + " holds the data store " + store
            + ", which this configuration does not list. Say where to restore it with --target-data-store "
            + store + "=<empty directory>, or add it to instance.data-stores (BITBUCKET_DATA_STORES).");
      }
      storeTarget = storeTarget.toAbsolutePath().normalize();
      plan.stores.put(store, storeTarget);
      if (extract) {
        plan.extraction.map(BackupLayout.dataStore(store), storeTarget);
      }
      plan.emptyTargets.add(storeTarget);
    }
    for (String p : home.paths()) {
      String name = ExtractionPlan.normalize(p); // the manifest is outside input: no '..', nothing absolute
      if (name.startsWith(BackupLayout.MESH + "/")) {
        plan.partsDir = setup.stateDir().resolve("restore-" + request.id().value() + "-parts");
        Path stage = plan.partsDir.resolve(name);
        plan.parts.put(name, stage);
        plan.extraction.map(name, stage);
      }
    }
    for (Path asked : request.dataStoreTargets().keySet()) {
      if (!plan.stores.containsKey(asked)) {
        throw BbdiyException.configuration("Backup " + request.id() + " holds no data store " + asked
            + " (it holds " + (plan.stores.isEmpty() ? "none" : plan.stores.keySet()) + "): check"
            + " --target-data-store");
      }
    }
  }

  private static void requireEmpty(List<Path> targets) {
    for (Path target : targets) {
      try {
        if (!PrivateFiles.isAbsentOrEmpty(target)) {
          throw BbdiyException.refused("Restore target " + target + " is not empty. A restore never overwrites:"
              + " move the old data away, or restore elsewhere (--target-home, --target-data-store).");
        }
      } catch (IOException e) {
        throw BbdiyException.refused("Cannot check restore target " + target + ": " + Reasons.of(e));
      }
    }
  }

  /**
   * Returns the database load that starts while the home is extracted, or {@code null} if the database is loaded
   * after the extraction: when its provider cannot start before the verification, or nothing is extracted after
   * the dump.
   */
  private @Nullable DatabaseWhileExtracting overlapped(Plan plan) {
    OperationProviders.Source db = plan.dbSource;
    if (db == null || plan.dbDir == null || plan.home == null || !db.has(Capability.RESTORES_WHILE_EXTRACTING)) {
      return null;
    }
    DatabaseWhileExtracting early = new DatabaseWhileExtracting(db.name(), db.source(), (signal, verified) ->
        context(plan, Objects.requireNonNull(plan.dbArtifact), plan.dbDir, db.name(), signal, verified), events,
        op.cancellation());
    plan.extraction.whenComplete(BackupLayout.DATABASE, early::start);
    return early;
  }

  /** Extracts and verifies; removes what was extracted (and stops a database load) if either fails. */
  private ExtractResult extract(Archiver archiver, Plan plan, boolean hasManifest,
      @Nullable DatabaseWhileExtracting early) throws IOException {
    if (plan.dbDir != null) {
      PrivateFiles.deleteTree(PrivateFiles.parentOf(plan.dbDir));
      PrivateFiles.createPrivateDirectories(PrivateFiles.parentOf(plan.dbDir));
    }
    if (plan.partsDir != null) {
      PrivateFiles.deleteTree(plan.partsDir);
      PrivateFiles.createPrivateDirectories(plan.partsDir);
    }
    ExtractResult extracted;
    try {
      extracted = op.cancellation().interruptibly(() -> events.phase(Phase.EXTRACT, () -> archiver.extract(
          request.id(), plan.extraction.build(), op.context(Phase.EXTRACT, providers.archiverName()))));
    } catch (RuntimeException e) {
      abandon(early, "the extraction failed: " + e.getMessage());
      undoExtraction(plan.emptyTargets);
      throw e;
    }
    if (hasManifest && !extracted.verified()) {
      String why = "Backup " + request.id() + " could not be verified while it was restored";
      abandon(early, why);
      undoExtraction(plan.emptyTargets);
      throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, why + "; the restored files were removed"
          + (early != null && early.started() ? " and the database load was stopped" : ""));
    }
    if (early != null) {
      early.verified();
    }
    return extracted;
  }

  private void abandon(@Nullable DatabaseWhileExtracting early, String why) {
    if (early != null) {
      String left = early.abandon(why);
      if (left != null) {
        events.warning("bbdiy", left);
      }
    }
  }

  private RestoreOutcome restoreHome(Plan plan) {
    Artifact home = Objects.requireNonNull(plan.homeArtifact);
    return op.cancellation().interruptibly(() -> {
      Path into = plan.home;
      if (into == null) {
        OperationProviders.Source snapshot = Objects.requireNonNull(plan.homeSource);
        return snapshot.source().restore(context(plan, home, null, snapshot.name()));
      }
      if (plan.fromSnapshot) {
        OperationProviders.Source s = Objects.requireNonNull(plan.homeSource);
        RestoreOutcome copied;
        try {
          copied = s.source().restore(context(plan, home, null, s.name()));
        } catch (RuntimeException e) {
          undoExtraction(plan.emptyTargets); // what the copy left; the provider removes it too
          throw e;
        }
        finishHome(into, plan.stores);
        return new RestoreOutcome(copied.target(), null, copied.checks());
      }
      finishHome(into, plan.stores);
      if (plan.homeSource != null) {
        plan.homeSource.source().restore(context(plan, home, into, plan.homeSource.name()));
      }
      return RestoreOutcome.home(into + (plan.stores.isEmpty() ? "" : " and data stores "
          + String.join(", ", plan.stores.values().stream().map(Path::toString).toList())));
    });
  }

  private RestoreOutcome restoreDatabase(Plan plan, @Nullable DatabaseWhileExtracting early) {
    OperationProviders.Source db = Objects.requireNonNull(plan.dbSource);
    try {
      return op.cancellation().interruptibly(() -> early != null && early.started()
          ? events.phase(Phase.RESTORE_DATABASE, early::await)
          : events.phase(Phase.RESTORE_DATABASE, () -> db.source().restore(context(plan,
              Objects.requireNonNull(plan.dbArtifact), plan.dbDir, db.name()))));
    } catch (RuntimeException e) {
      if (plan.homeArtifact != null) {
        events.warning("bbdiy", "the home was restored" + (plan.home == null ? "" : " into " + plan.home) + " and"
            + " is complete, but the database restore failed; after fixing the cause, restore the database alone"
            + " with --database-only");
      }
      throw e;
    }
  }

  /** Removes stale git locks from every restored repository and gives the files to Bitbucket's user. */
  private void finishHome(Path home, Map<Path, Path> stores) {
    List<Path> roots = new ArrayList<>();
    roots.add(home);
    roots.addAll(stores.values());
    int removed = 0;
    for (Path root : roots) {
      removed += GitLockFiles.removeStale(root, events.reporter("bbdiy"));
    }
    if (removed > 0) {
      events.progress("bbdiy", "removed " + removed + " stale git lock files", removed, removed, "files");
    }
    if (setup.instance().uid().isPresent() || setup.instance().gid().isPresent()) {
      for (Path root : roots) {
        Ownership.chown(root, setup.instance().uid().orElse(-1), setup.instance().gid().orElse(-1));
      }
    }
  }

  private void undoExtraction(List<Path> targets) {
    for (Path t : targets) {
      try {
        PrivateFiles.emptyDirectory(t);
      } catch (IOException e) {
        events.warning("bbdiy", "could not remove what was partly restored into " + t + ": " + Reasons.of(e));
      }
    }
  }

  /** The artifacts of an archive without a manifest, made by Atlassian's scripts: the configured layout. */
  private List<Artifact> foreignArtifacts() {
    List<Artifact> out = new ArrayList<>();
    List<String> homePaths = new ArrayList<>();
    homePaths.add(BackupLayout.HOME);
    for (Path store : setup.instance().dataStores()) {
      homePaths.add(BackupLayout.dataStore(store));
    }
    out.add(new Artifact(setup.home() == null ? "atlassian-scripts" : setup.home().name(), Artifact.Kind.HOME,
        homePaths, Map.of()));
    if (setup.database() != null) {
      out.add(new Artifact(setup.database().name(), Artifact.Kind.DATABASE, List.of(BackupLayout.DATABASE),
          Map.of()));
    }
    return out;
  }

  private static List<Path> dataStoresOf(Artifact home) {
    List<Path> stores = new ArrayList<>();
    String prefix = BackupLayout.DATA_STORES + "/";
    for (String p : home.paths()) {
      String name = ExtractionPlan.normalize(p); // the manifest is outside input: no '..', nothing absolute
      if (name.startsWith(prefix)) {
        stores.add(Path.of("/" + name.substring(prefix.length())));
      }
    }
    return stores;
  }

  private OperationProviders.Source matchingSource(Artifact a) {
    String key = a.kind() == Artifact.Kind.HOME ? "home.type" : "database.type";
    return providers.sourceFor(a).orElseThrow(() -> BbdiyException.configuration("The "
        + a.kind().name().toLowerCase(Locale.ROOT) + " of this backup was made by '" + a.provider()
        + "'; set " + key + "=" + a.provider() + " (with its settings) to restore it"));
  }

  private RestoreContext context(Plan plan, Artifact artifact, @Nullable Path source, String name) {
    return context(plan, artifact, source, name, op.cancellation(), () -> {});
  }

  private RestoreContext context(Plan plan, Artifact artifact, @Nullable Path source, String name,
      CancellationSignal cancellation, Runnable sourceVerified) {
    return new EngineContexts.Restore(request.id(), artifact, source, plan.home, plan.stores,
        request.targetDatabase(), events.reporter(name), cancellation, sourceVerified,
        request.fromLocalSnapshot() && artifact.kind() == Artifact.Kind.HOME, Map.copyOf(plan.parts));
  }

  private static String describe(List<StoredBackup> backups) {
    if (backups.isEmpty()) {
      return "none";
    }
    List<String> ids = new ArrayList<>();
    for (StoredBackup b : backups.subList(0, Math.min(10, backups.size()))) {
      ids.add(b.id().value());
    }
    return String.join(", ", ids) + (backups.size() > 10 ? ", ..." : "");
  }
}
