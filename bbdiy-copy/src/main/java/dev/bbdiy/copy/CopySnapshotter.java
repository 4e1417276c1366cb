package dev.bbdiy.copy;

import dev.bbdiy.kit.ExcludeMatcher;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.kit.HomeTree;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The {@code copy} home snapshotter: a full mirror pass of the home and every data store before the lock, with a
 * change journal watching each tree; while Bitbucket is locked, only what the journal says changed is copied
 * (the lock window grows with the change, not with the number of files). Where the journal cannot be trusted
 * (a network file system, the watch limit, lost events) the pass in the lock compares every entry with the index
 * of the live pass instead, and the result says so.
 */
final class CopySnapshotter implements HomeSnapshotter {
  /** How long the journal may take to show it has reported everything up to now. */
  private static final Duration JOURNAL_CHECK = Duration.ofSeconds(2);

  private final BitbucketInstance instance;
  private final ProviderContext context;
  private final Path workDir;
  private final int threads;
  private final boolean journal;
  private final Map<String, String> stats = new TreeMap<>();
  private final Map<String, ChangeJournal> journals = new LinkedHashMap<>();

  CopySnapshotter(ProviderContext context, int threads, boolean journal) {
    this.instance = context.instance();
    this.context = context;
    this.workDir = context.workDir();
    this.threads = threads;
    this.journal = journal;
  }

  private Mirror mirror(HomeTree job, RunContext ctx) throws IOException {
    Path source = job.source().toRealPath();
    Path index = context.stateDirectory().resolve(job.layoutPath().replace('/', '_') + ".idx");
    return new Mirror(source, workDir.resolve(job.layoutPath()), new ExcludeMatcher(job.excludes()), index,
        threads, ctx.cancellation(), ctx.progress());
  }

  @Override
  public void preflight(RunContext ctx) {
    HomeTree.checkCopyInto(instance, workDir, ctx.progress());
  }

  @Override
  public void prepare(RunContext ctx) {
    for (HomeTree job : HomeTree.of(instance)) {
      ChangeJournal j = null;
      if (journal) {
        try {
          j = ChangeJournal.start(job.source().toRealPath(), context.stateDirectory().resolve("journal"));
          journals.put(job.layoutPath(), j);
        } catch (IOException e) {
          ctx.progress().warning("no change journal for the " + job.label() + " (" + e.getMessage() + "): the"
              + " pass in the lock compares every entry");
        }
      }
      ChangeJournal jj = j;
      run(job, ctx, "prepare", m -> jj == null ? m.fullPass() : m.fullPass(jj));
    }
  }

  @Override
  public CaptureHandle capture(RunContext ctx) {
    try {
      for (HomeTree job : HomeTree.of(instance)) {
        ChangeJournal j = journals.get(job.layoutPath());
        String key = "capture" + (job.layoutPath().equals(BackupLayout.HOME) ? "" : "." + job.layoutPath());
        Map<String, ChangeJournal.Change> changes = j == null ? null : j.changes(JOURNAL_CHECK);
        if (changes != null) {
          stats.put(key + ".journal", changes.size() + " changes");
          run(job, ctx, "capture", m -> {
            Mirror.Stats s = m.journalPass(changes);
            if (s == null) {
              stats.put(key + ".journal", "not applicable: a change's directory changed type; compared everything");
              return m.indexPass();
            }
            return s;
          });
        } else {
          String why = j == null ? (journal ? "no journal" : "copy.journal=false") : j.untrusted();
          stats.put(key + ".journal", "not used: " + why);
          if (journal) {
            ctx.progress().warning("the change journal of the " + job.label() + " cannot be trusted (" + why
                + "): the pass in the lock compares every entry, so it lasts longer");
          }
          run(job, ctx, "capture", Mirror::indexPass);
        }
      }
    } finally {
      closeJournals();
    }
    return CaptureHandle.NONE;
  }

  private interface Pass {
    Mirror.Stats run(Mirror m) throws IOException;
  }

  private void closeJournals() {
    journals.values().forEach(ChangeJournal::close);
    journals.clear();
  }

  private void run(HomeTree job, RunContext ctx, String phase, Pass pass) {
    try {
      Mirror m = mirror(job, ctx);
      Mirror.Stats s = pass.run(m);
      String key = phase + (job.layoutPath().equals(BackupLayout.HOME) ? "" : "." + job.layoutPath());
      stats.put(key + ".entries", Long.toString(s.scanned()));
      stats.put(key + ".copied-files", Long.toString(s.copied()));
      stats.put(key + ".copied-bytes", Long.toString(s.bytes()));
      stats.put(key + ".deleted", Long.toString(s.deleted()));
      stats.put(key + ".millis", Long.toString(s.took().toMillis()));
      ctx.progress().message(phase + " " + job.label() + ": compared " + s.scanned() + " entries, copied "
          + s.copied() + " files (" + s.bytes() + " bytes), deleted " + s.deleted() + " in "
          + s.took().toMillis() + " ms");
    } catch (IOException e) {
      throw BbdiyException.provider("copy", "cannot mirror the " + job.label() + " " + job.source() + " into "
          + workDir.resolve(job.layoutPath()) + ": " + e, e);
    }
  }

  @Override
  public Artifact complete(RunContext ctx, CaptureHandle capture) {
    List<String> paths = new ArrayList<>();
    for (HomeTree job : HomeTree.of(instance)) {
      paths.add(job.layoutPath());
    }
    Map<String, String> props = new LinkedHashMap<>(stats);
    return new Artifact("copy", Artifact.Kind.HOME, paths, props);
  }

  @Override
  public void abort(RunContext ctx, @Nullable CaptureHandle capture) {
    // The working copy is a mirror, not a backup: a partial pass leaves whole files only, and the next
    // pass compares everything again. Archived backups are never touched.
    closeJournals();
  }

  @Override
  public void close() {
    closeJournals();
  }

  @Override
  public RestoreOutcome restore(RestoreContext ctx) {
    // The engine extracts the files; nothing is left to do.
    return RestoreOutcome.home(String.valueOf(ctx.targetHome()));
  }
}
