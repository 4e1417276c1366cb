package dev.bbdiy.copy;

import dev.bbdiy.kit.ExcludeMatcher;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.kit.HomeTree;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The {@code copy} home snapshotter: a full mirror pass of the home and every data store before the lock, and a
 * delta pass against the index of that pass while Bitbucket is locked.
 */
final class CopySnapshotter implements HomeSnapshotter {
  private final BitbucketInstance instance;
  private final Path workDir;
  private final int threads;
  private final Map<String, String> stats = new TreeMap<>();

  CopySnapshotter(BitbucketInstance instance, Path workDir, int threads) {
    this.instance = instance;
    this.workDir = workDir;
    this.threads = threads;
  }

  private Mirror mirror(HomeTree job, RunContext ctx) throws IOException {
    Path source = job.source().toRealPath();
    Path index = workDir.resolve(".bbdiy").resolve("copy").resolve(job.layoutPath().replace('/', '_') + ".idx");
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
      run(job, ctx, "prepare", true);
    }
  }

  @Override
  public CaptureHandle capture(RunContext ctx) {
    for (HomeTree job : HomeTree.of(instance)) {
      run(job, ctx, "capture", false);
    }
    return CaptureHandle.NONE;
  }

  private void run(HomeTree job, RunContext ctx, String phase, boolean full) {
    try {
      Mirror m = mirror(job, ctx);
      Mirror.Stats s = full ? m.fullPass() : m.indexPass();
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
  }

  @Override
  public RestoreOutcome restore(RestoreContext ctx) {
    // The engine extracts the files; nothing is left to do.
    return RestoreOutcome.home(String.valueOf(ctx.targetHome()));
  }
}
