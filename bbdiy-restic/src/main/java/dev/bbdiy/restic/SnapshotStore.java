package dev.bbdiy.restic;

import static dev.bbdiy.restic.ResticArchiver.ID_TAG;
import static dev.bbdiy.restic.ResticArchiver.PENDING;
import static dev.bbdiy.restic.ResticArchiver.TAG;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupLayout;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.archive.ManifestCodec;
import dev.bbdiy.archive.TarFormat;
import dev.bbdiy.kit.PrivateFiles;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * This instance's bbdiy snapshots in one restic repository: listing them ({@code restic snapshots --json}, checked
 * again after restic's own filter), the summaries of published ones (cached in the state directory by tree, else
 * read from the head of the snapshot's manifest), and forgetting what a failed backup left.
 */
final class SnapshotStore {
  private final Restic restic;
  private final String repositoryName;
  private final String instanceTag;
  private final Path stateDir;
  private final Path tempDir;

  SnapshotStore(Restic restic, String repositoryName, String instanceTag, Path stateDir, Path tempDir) {
    this.restic = restic;
    this.repositoryName = repositoryName;
    this.instanceTag = instanceTag;
    this.stateDir = stateDir;
    this.tempDir = tempDir;
  }

  static Optional<BackupId> idOf(Snapshots.Snapshot s) {
    String v = s.tag(ID_TAG);
    return v == null ? Optional.empty() : BackupId.parse(v);
  }

  /** This instance's snapshots of {@code id}, pending or published. */
  List<Snapshots.Snapshot> snapshotsOf(BackupId id, @Nullable RunContext ctx) {
    List<Snapshots.Snapshot> out = new ArrayList<>();
    for (Snapshots.Snapshot s : listing(ctx)) {
      if (idOf(s).filter(id::equals).isPresent()) {
        out.add(s);
      }
    }
    return out;
  }

  /** This instance's bbdiy snapshots, checked. */
  List<Snapshots.Snapshot> listing(@Nullable RunContext ctx) {
    Path out = null;
    try {
      Files.createDirectories(tempDir);
      out = Files.createTempFile(tempDir, "restic-snapshots-", ".json");
      Restic.Result r = restic.runTo(List.of("snapshots", "--json", "--tag", TAG + "," + instanceTag), out,
          ctx == null ? null : ctx.cancellation());
      if (!r.succeeded() && r.noRepository()) {
        throw new BbdiyException(ErrorCode.NOT_FOUND, "There is no restic repository at " + repositoryName
            + ": no backup was ever stored there. Check restic.repository");
      }
      r.orThrow("listing the snapshots of " + repositoryName);
      Snapshots.Listing listing;
      try (InputStream in = new BufferedInputStream(Files.newInputStream(out))) {
        listing = Snapshots.parse(in);
      }
      if (listing.dropped() > 0 && ctx != null) {
        ctx.progress().warning("restic: ignored " + listing.dropped() + " snapshots whose listing is not valid");
      }
      List<Snapshots.Snapshot> mine = new ArrayList<>();
      for (Snapshots.Snapshot s : listing.snapshots()) {
        // restic filtered by tag already; checked again, its output being input like any other
        if (s.tags().contains(TAG) && s.tags().contains(instanceTag)) {
          mine.add(s);
        }
      }
      return mine;
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "restic: cannot list the snapshots of " + repositoryName
          + ": " + e.getMessage(), e);
    } finally {
      if (out != null) {
        try {
          Files.deleteIfExists(out);
        } catch (IOException ignored) {
          // in the temporary directory
        }
      }
    }
  }

  private Path summaryFile(String tree) {
    return stateDir.resolve("summaries").resolve(tree + ".json");
  }

  void cacheSummary(String tree, BackupSummary summary) {
    try {
      PrivateFiles.createPrivateDirectories(PrivateFiles.parentOf(summaryFile(tree)));
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      ManifestCodec.writeSummary(bytes, summary, Map.of());
      PrivateFiles.writeAtomically(summaryFile(tree), bytes.toByteArray());
    } catch (IOException | RuntimeException ignored) {
      // only a cache: read from the snapshot next time
    }
  }

  /**
   * Returns the summary of a published snapshot: from the local cache (keyed by the snapshot's tree, which
   * is its content) or else read from the head of the snapshot's manifest; {@code null} if it has none or it is of
   * another backup.
   */
  @Nullable BackupSummary summaryOf(BackupId id, Snapshots.Snapshot s) {
    BackupSummary summary = null;
    Path cached = summaryFile(s.tree());
    if (Files.isRegularFile(cached, LinkOption.NOFOLLOW_LINKS)) {
      try {
        summary = TarFormat.parseSidecar(Files.readAllBytes(cached));
      } catch (IOException ignored) {
        summary = null;
      }
    }
    if (summary == null) {
      try (Restic.Running r = restic.start(List.of("dump", s.id(), "/" + BackupLayout.MANIFEST), null, null);
          InputStream in = new BufferedInputStream(r.stdout(), 1 << 16);
          ManifestCodec.Reader reader = ManifestCodec.reader(in)) {
        summary = reader.summary();
      } catch (IOException | RuntimeException e) {
        return null;
      }
      if (summary.id().equals(id)) {
        cacheSummary(s.tree(), summary);
      }
    }
    return summary.id().equals(id) ? summary : null;
  }

  /** Forgets whatever snapshot a failed store left, without pruning (the next prune removes its data). */
  void forgetQuietly(BackupId id) {
    try {
      List<String> ids = new ArrayList<>();
      for (Snapshots.Snapshot s : snapshotsOf(id, null)) {
        if (s.tags().contains(PENDING)) {
          ids.add(s.id());
        }
      }
      if (!ids.isEmpty()) {
        List<String> args = new ArrayList<>(List.of("forget"));
        args.addAll(ids);
        restic.run(args, null, line -> {}, null);
      }
    } catch (RuntimeException ignored) {
      // reported by the store's own failure; a pending snapshot is never listed
    }
  }
}
