package dev.bbdiy.restic;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.BackupContent;
import dev.bbdiy.api.spi.ExtractResult;
import dev.bbdiy.api.spi.ExtractionPlan;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.archive.TarFormat;
import dev.bbdiy.kit.FileNames;
import dev.bbdiy.kit.LockFile;
import dev.bbdiy.kit.PrivateFiles;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Stores each backup as one restic snapshot of the backup layout ({@code bitbucket-home}, {@code
 * bitbucket-data-stores/...}, {@code bitbucket-db}) and bbdiy's {@code manifest.json}, at the top of the snapshot,
 * so that {@code restic restore} alone gives a usable tree. Snapshots carry the tags {@code bbdiy}, {@code
 * bbdiy-id=<backup id>} and {@code bbdiy-instance=<instance>}; a snapshot is pending while it also carries {@code
 * bbdiy-pending}, which {@link #commit} removes ({@code restic tag}), and is never listed while it does.
 *
 * <p>Verify runs {@code restic check} (with {@code --read-data-subset} when configured) and reads the snapshot back
 * ({@code restic dump --archive tar}) against the manifest's digests; extraction reads the same stream through
 * bbdiy's checked extraction, so nothing is written outside the plan's targets or over an existing file. Delete
 * forgets the snapshot by id and prunes.
 *
 * <p>The store lock ({@link #lock}) is a file lock: in the repository directory for a local repository, else in
 * bbdiy's state directory, so for a remote repository it excludes only processes of this machine (restic's own
 * repository lock still protects the repository's integrity).
 */
public final class ResticArchiver implements Archiver {
  static final String TAG = "bbdiy";
  static final String PENDING = "bbdiy-pending";
  static final String ID_TAG = "bbdiy-id";
  static final String INSTANCE_TAG = "bbdiy-instance";
  private static final Pattern SUBSET = Pattern.compile("\\d{1,3}(\\.\\d{1,3})?%|\\d{1,6}/\\d{1,6}|\\d{1,9}[KMGT]?");
  private static final Pattern TAG_SAFE = Pattern.compile("[A-Za-z0-9._@:+-]+");
  private static final int BUFFER = 1 << 20;
  private static final Pattern SNAPSHOT_ID = Pattern.compile("[0-9a-f]{8,64}");

  private final Restic restic;
  private final String repositoryName;
  private final String instanceTag;
  private final Path stateDir;
  private final Path tempDir;
  private final Path lockFile;
  private final boolean init;
  private final boolean check;
  private final @Nullable String readDataSubset;
  private final Map<BackupId, Pending> pending = new ConcurrentHashMap<>();
  private final SnapshotStore snapshots;

  private record Pending(Snapshots.Snapshot snapshot, BackupSummary summary) {}

  /**
   * Creates an archiver.
   *
   * @param repositoryName the repository for messages, without credentials
   * @param localRepository the repository's directory if it is a local one, which then holds the store lock
   * @param instance the name of the instance whose backups this archiver sees
   * @param stateDir a private directory kept between runs (digest cache, summaries, the lock of a remote store)
   */
  ResticArchiver(Restic restic, String repositoryName, @Nullable Path localRepository, String instance,
      Path stateDir, Path tempDir, boolean init, boolean check, @Nullable String readDataSubset) {
    this.restic = restic;
    this.repositoryName = repositoryName;
    this.instanceTag = INSTANCE_TAG + "=" + tagValue(instance);
    this.stateDir = stateDir;
    this.tempDir = tempDir;
    this.lockFile = localRepository != null ? localRepository.resolve("bbdiy-store.lock")
        : stateDir.resolve("store-" + HexFormat.of().formatHex(ManifestPass.sha256().digest(
            repositoryName.getBytes(StandardCharsets.UTF_8))).substring(0, 16) + ".lock");
    this.init = init;
    this.check = check;
    if (readDataSubset != null && !SUBSET.matcher(readDataSubset).matches()) {
      throw BbdiyException.configuration("restic.read-data-subset: '" + readDataSubset + "' is not a subset restic"
          + " understands; write a percentage (5%), a part (1/10) or a size (500M)");
    }
    this.readDataSubset = readDataSubset;
    this.snapshots = new SnapshotStore(restic, repositoryName, instanceTag, stateDir, tempDir);
  }

  /** Returns an instance name as a tag value: as it is when it is made of safe characters, else percent-encoded. */
  static String tagValue(String s) {
    if (TAG_SAFE.matcher(s).matches()) {
      return s;
    }
    StringBuilder b = new StringBuilder();
    for (byte c : s.getBytes(StandardCharsets.UTF_8)) {
      char ch = (char) (c & 0xff);
      if (ch < 0x80 && TAG_SAFE.matcher(String.valueOf(ch)).matches() && ch != '%') {
        b.append(ch);
      } else {
        b.append(String.format("%%%02X", c & 0xff));
      }
    }
    return b.toString();
  }

  @Override
  public boolean compresses() {
    // Repositories of format 2 (restic 0.14's default) compress with zstd; a dump is smaller uncompressed then.
    return true;
  }

  @Override
  public void preflight(RunContext ctx) {
    int[] v = restic.version();
    if (!Restic.atLeast(v, Restic.OLDEST)) {
      throw BbdiyException.configuration("restic " + v[0] + "." + v[1] + "." + v[2] + " is too old: bbdiy needs"
          + " restic 0.14 or newer (Debian 12's). Install a newer restic or point restic.binary at one");
    }
    Restic.Result r = restic.run(List.of("cat", "config"), null, line -> {}, ctx.cancellation());
    if (r.succeeded()) {
      return;
    }
    if (r.noRepository() && init) {
      ctx.progress().message("restic: no repository at " + repositoryName + " yet; it is created by the backup"
          + " (restic.init=true)");
      return;
    }
    if (r.noRepository()) {
      throw BbdiyException.configuration("restic: there is no repository at " + repositoryName + ". Create it"
          + " with 'restic init', or set restic.init=true, or correct restic.repository");
    }
    if (r.wrongPassword()) {
      throw BbdiyException.configuration("restic: the password does not open the repository " + repositoryName
          + ". Check restic.password-file");
    }
    throw BbdiyException.configuration("restic: cannot open the repository " + repositoryName + " (exit "
        + r.exitCode() + "):\n  " + String.join("\n  ", r.stderrTail()) + Restic.hint(r)
        + "\nCheck restic.repository and the backend's credentials in the environment");
  }

  @Override
  public StoredBackup store(BackupContent content, RunContext ctx) {
    BackupId id = content.summary().id();
    ctx.cancellation().throwIfCancelled();
    if (pending.containsKey(id)) {
      throw BbdiyException.refused("A backup named " + id + " is already being written to the restic repository "
          + repositoryName + "; not replacing it");
    }
    Path root = content.root();
    Path manifest = root.resolve(BackupLayout.MANIFEST);
    List<String> targets = new ArrayList<>();
    for (String p : content.paths()) {
      if (Files.exists(FileNames.resolve(root, p), LinkOption.NOFOLLOW_LINKS)) {
        targets.add(p);
      }
    }
    // No listing before the backup to refuse an id the repository holds: each restic start derives the
    // repository's key (scrypt) and opens it, a second or more on a loaded machine, more than an incremental
    // backup takes. commit lists once after publishing and refuses (forgetting its own) if the id was taken.
    BackupSummary summary;
    String snapshotId = null;
    boolean started = false;
    try {
      PrivateFiles.createPrivateDirectories(stateDir);
      List<String> excluded = new ArrayList<>();
      summary = ManifestPass.write(content, targets, manifest, excluded, tempDir, stateDir, ctx);
      targets.add(BackupLayout.MANIFEST);
      started = true;
      snapshotId = backupOrInit(id, content, targets, excluded, summary, ctx);
    } catch (IOException | RuntimeException e) {
      if (started) {
        snapshots.forgetQuietly(id);
      }
      throw BbdiyException.wrap(e, ErrorCode.PROVIDER_FAILED, "restic: cannot store " + id + " in "
          + repositoryName);
    } finally {
      try {
        Files.deleteIfExists(manifest);
      } catch (IOException ignored) {
        // replaced by the next backup's
      }
    }
    if (snapshotId != null) {
      // The id restic printed: no second listing. A writer of the same id that published after the listing is
      // caught by commit, which lists after publishing.
      Snapshots.Snapshot s = new Snapshots.Snapshot(snapshotId, "", Instant.now(),
          List.of(TAG, PENDING, ID_TAG + "=" + id.value(), instanceTag));
      pending.put(id, new Pending(s, summary));
      return stored(id, s, summary);
    }
    List<Snapshots.Snapshot> made = snapshots.snapshotsOf(id, ctx);
    if (made.size() != 1 || !made.get(0).tags().contains(PENDING)) {
      snapshots.forgetQuietly(id);
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "restic: after 'restic backup' the repository "
          + repositoryName + " holds " + made.size() + " snapshots of " + id + " instead of one pending snapshot;"
          + " another process writes the same backup id. Nothing was kept; retry");
    }
    Snapshots.Snapshot s = made.get(0);
    pending.put(id, new Pending(s, summary));
    return stored(id, s, summary);
  }

  /** Runs the backup; creates a missing repository first when {@code restic.init} allows it. */
  private @Nullable String backupOrInit(BackupId id, BackupContent content, List<String> targets,
      List<String> excluded, BackupSummary summary, RunContext ctx) throws IOException {
    try {
      return backup(id, content, targets, excluded, summary, ctx);
    } catch (BbdiyException e) {
      if (e.code() != ErrorCode.NOT_FOUND || !init) {
        throw e;
      }
    }
    ctx.progress().message("restic: creating the repository " + repositoryName);
    restic.run(List.of("init"), null, line -> {}, ctx.cancellation()).orThrow("creating the repository "
        + repositoryName);
    return backup(id, content, targets, excluded, summary, ctx);
  }

  private StoredBackup stored(BackupId id, Snapshots.Snapshot s, @Nullable BackupSummary summary) {
    return new StoredBackup(id, repositoryName + " snapshot " + s.shortId(), "restic",
        summary == null ? 0 : summary.bytes(), s.time(), summary);
  }

  /**
   * Runs {@code restic backup} of {@code targets} (relative to the working directory, so at the top of the
   * snapshot), through a {@link SourceView} when parts come from content sources.
   */
  private @Nullable String backup(BackupId id, BackupContent content, List<String> targets, List<String> excluded,
      BackupSummary summary, RunContext ctx) throws IOException {
    if (content.sources().isEmpty()) {
      return backup(id, content.root(), targets, List.of(), summary, ctx);
    }
    try (SourceView view = SourceView.create(tempDir.resolveSibling("restic-view"), content.root(), targets,
        content.sources(), excluded, tempDir)) {
      return backup(id, view.directory(), List.of(), view.arguments(), summary, ctx);
    }
  }

  private @Nullable String backup(BackupId id, Path root, List<String> targets, List<String> options,
      BackupSummary summary, RunContext ctx) {
    List<String> args = new ArrayList<>(List.of("backup", "--json", "--tag",
        String.join(",", TAG, PENDING, ID_TAG + "=" + id.value(), instanceTag)));
    args.addAll(options);
    if (!targets.isEmpty()) {
      args.add("--");
      args.addAll(targets);
    }
    ProgressReporter progress = ctx.progress();
    long[] added = {-1};
    String[] snapshot = {null};
    List<String> errors = new ArrayList<>();
    Restic.Result r = restic.run(args, root, line -> {
      Map<String, Object> m = Restic.jsonLine(line);
      if (m == null) {
        return;
      }
      Object type = m.get("message_type");
      if ("status".equals(type)) {
        long done = Restic.number(m.get("bytes_done"));
        long total = Restic.number(m.get("total_bytes"));
        progress.progress("restic backup: " + Restic.number(m.get("files_done")) + " files", done < 0 ? 0 : done,
            total, "bytes");
      } else if ("summary".equals(type)) {
        added[0] = Restic.number(m.get("data_added"));
        Object sid = m.get("snapshot_id");
        if (sid instanceof String v && SNAPSHOT_ID.matcher(v).matches()) {
          snapshot[0] = v;
        }
      } else if ("error".equals(type)) {
        String item = String.valueOf(m.get("item"));
        synchronized (errors) {
          if (errors.size() < 20) {
            errors.add(FileNames.display(item.length() > 300 ? item.substring(0, 300) : item));
          }
        }
      }
    }, ctx.cancellation());
    if (r.exitCode() == 3) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "restic could not read some files of the working copy ("
          + String.join(", ", errors) + "); the snapshot would be incomplete, so it was removed. Check the"
          + " permissions of the working directory and retry");
    }
    if (!r.succeeded() && r.noRepository()) {
      throw new BbdiyException(ErrorCode.NOT_FOUND, "There is no restic repository at " + repositoryName
          + ". Create it with 'restic init', or set restic.init=true, or correct restic.repository");
    }
    r.orThrow("backup of " + id + " to " + repositoryName);
    if (added[0] >= 0) {
      progress.message("restic added " + added[0] + " bytes to the repository for " + summary.files() + " files of "
          + summary.bytes() + " bytes");
    }
    return snapshot[0];
  }

  @Override
  public StoredBackup commit(BackupId id) {
    Pending p = pending.get(id);
    if (p == null) {
      throw new BbdiyException(ErrorCode.NOT_FOUND, "restic: no pending backup " + id + " to publish in "
          + repositoryName);
    }
    // One listing, after the tag: restic gives the retagged snapshot a new id and names the old one "original",
    // which tells ours from a snapshot of the same id someone else published meanwhile.
    restic.run(List.of("tag", "--remove", PENDING, p.snapshot().id()), null, line -> {}, null)
        .orThrow("publishing " + id + " (restic tag)");
    Snapshots.Snapshot published = null;
    boolean other = false;
    for (Snapshots.Snapshot s : snapshots.snapshotsOf(id, null)) {
      if (s.tags().contains(PENDING)) {
        continue;
      }
      if (published == null && s.isOrCameFrom(p.snapshot().id())) {
        published = s;
      } else {
        other = true;
      }
    }
    if (other) {
      pending.remove(id);
      if (published != null) {
        restic.run(List.of("forget", published.id()), null, line -> {}, null);
      }
      throw BbdiyException.refused("A backup named " + id + " appeared in the restic repository " + repositoryName
          + " while this one was written; not replacing it");
    }
    if (published == null) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "restic: " + id + " is not listed after 'restic tag'"
          + " published it; check the repository with 'restic snapshots'");
    }
    pending.remove(id);
    snapshots.cacheSummary(published.tree(), p.summary());
    return stored(id, published, p.summary());
  }

  @Override
  public Lock lock(Duration wait, RunContext context) {
    try {
      if (!Files.isDirectory(PrivateFiles.parentOf(lockFile))) {
        PrivateFiles.createPrivateDirectories(PrivateFiles.parentOf(lockFile));
      }
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "restic: cannot create " + lockFile.getParent() + ": "
          + e.getMessage(), e);
    }
    return LockFile.acquireStore(lockFile, "the restic repository " + repositoryName,
        context.phase().name().toLowerCase(Locale.ROOT), wait, context.cancellation(), context.progress());
  }

  /**
   * {@inheritDoc}
   *
   * <p>A repository that does not exist yet is empty when {@code restic.init} is set (the first backup creates
   * it), and not found otherwise.
   */
  @Override
  public List<StoredBackup> list() {
    List<Snapshots.Snapshot> all;
    try {
      all = snapshots.listing(null);
    } catch (BbdiyException e) {
      if (e.code() == ErrorCode.NOT_FOUND && init) {
        return List.of();
      }
      throw e;
    }
    Map<BackupId, Snapshots.Snapshot> newest = new LinkedHashMap<>();
    for (Snapshots.Snapshot s : all) {
      if (s.tags().contains(PENDING)) {
        continue;
      }
      Optional<BackupId> id = SnapshotStore.idOf(s);
      if (id.isEmpty()) {
        continue;
      }
      newest.merge(id.get(), s, (a, b) -> a.time().isAfter(b.time()) ? a : b);
    }
    List<StoredBackup> out = new ArrayList<>();
    for (Map.Entry<BackupId, Snapshots.Snapshot> e : newest.entrySet()) {
      out.add(stored(e.getKey(), e.getValue(), snapshots.summaryOf(e.getKey(), e.getValue())));
    }
    out.sort(StoredBackup.NEWEST_FIRST);
    return out;
  }

  private Snapshots.Snapshot snapshot(BackupId id, RunContext ctx) {
    Pending p = pending.get(id);
    if (p != null) {
      return p.snapshot();
    }
    return snapshots.snapshotsOf(id, ctx).stream().filter(s -> !s.tags().contains(PENDING))
        .max(Comparator.comparing(Snapshots.Snapshot::time))
        .orElseThrow(() -> new BbdiyException(ErrorCode.NOT_FOUND, "No backup " + id + " in the restic repository "
            + repositoryName + "; 'bbdiy list' shows the backups there"));
  }

  @Override
  public VerifyResult verify(BackupId id, RunContext ctx) {
    Instant start = Instant.now();
    Snapshots.Snapshot s = snapshot(id, ctx);
    List<String> problems = new ArrayList<>();
    if (check) {
      List<String> args = new ArrayList<>(List.of("check"));
      if (readDataSubset != null) {
        args.add("--read-data-subset=" + readDataSubset);
      }
      ctx.progress().message("restic check" + (readDataSubset == null ? "" : " --read-data-subset="
          + readDataSubset));
      List<String> out = new ArrayList<>();
      Restic.Result r = restic.run(args, null, line -> {
        synchronized (out) {
          if (out.size() < 20 && !line.isBlank()) {
            out.add(line);
          }
        }
      }, ctx.cancellation());
      if (r.locked()) {
        ctx.progress().warning("restic check was skipped: another restic process holds the repository's lock;"
            + " the snapshot is still read back against its manifest");
      } else if (!r.succeeded()) {
        problems.add("restic check found errors in the repository " + repositoryName + ": "
            + String.join("; ", r.stderrTail().isEmpty() ? out : r.stderrTail()));
      }
    }
    VerifyResult content;
    Restic.Result dumped;
    try (Restic.Running r = restic.start(List.of("dump", "--archive", "tar", s.id(), "/"), null,
        ctx.cancellation())) {
      content = TarFormat.verify(id, new BufferedInputStream(r.stdout(), BUFFER), tempDir, ctx);
      dumped = r.finish();
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "restic: cannot read " + id + " back: " + e.getMessage(),
          e);
    }
    if (!dumped.succeeded()) {
      problems.add("restic could not read snapshot " + s.shortId() + " back: " + dumped.stderr().strip());
    }
    problems.addAll(content.problems());
    return new VerifyResult(id, content.ok() && problems.isEmpty(), content.entries(), content.bytes(), problems,
        Duration.between(start, Instant.now()));
  }

  @Override
  public ExtractResult extract(BackupId id, ExtractionPlan plan, RunContext ctx) {
    Snapshots.Snapshot s = snapshot(id, ctx);
    ExtractResult result;
    Restic.Result dumped;
    try (Restic.Running r = restic.start(List.of("dump", "--archive", "tar", s.id(), "/"), null,
        ctx.cancellation())) {
      try {
        result = TarFormat.extract(id, new BufferedInputStream(r.stdout(), BUFFER), plan, tempDir, ctx);
      } catch (BbdiyException e) {
        Restic.Result failed = r.finish();
        if (!failed.succeeded() && e.code() == ErrorCode.VERIFICATION_FAILED) {
          throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, e.getMessage() + "\nrestic: "
              + failed.stderr().strip(), e);
        }
        throw e;
      }
      dumped = r.finish();
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "restic: cannot read " + id + ": " + e.getMessage(), e);
    }
    if (!dumped.succeeded()) {
      throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "restic could not read snapshot " + s.shortId()
          + " of " + id + " to its end: " + dumped.stderr().strip() + ". Restore an older backup");
    }
    return result;
  }

  @Override
  public void delete(BackupId id) {
    Pending p = pending.remove(id);
    List<String> ids = new ArrayList<>();
    for (Snapshots.Snapshot s : snapshots.snapshotsOf(id, null)) {
      ids.add(s.id());
    }
    if (p != null && ids.stream().noneMatch(i -> i.startsWith(p.snapshot().id()))) {
      ids.add(p.snapshot().id());
    }
    if (ids.isEmpty()) {
      throw new BbdiyException(ErrorCode.NOT_FOUND, "No backup " + id + " in the restic repository "
          + repositoryName);
    }
    List<String> args = new ArrayList<>(List.of("forget", "--prune"));
    args.addAll(ids);
    restic.run(args, null, line -> {}, null).orThrow("forgetting " + id + " (restic forget --prune)");
  }
}
