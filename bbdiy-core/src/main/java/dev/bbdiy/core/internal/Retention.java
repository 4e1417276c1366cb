package dev.bbdiy.core.internal;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.core.MaintenanceClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Applies the retention policy to the published backups this configuration made (same instance name, same
 * Bitbucket), never to others: backups of other tools, other instances or pending ones are not even counted.
 * What a backup holds outside the archive (snapshots) is deleted by the provider that made it before the backup
 * itself; a backup whose snapshots cannot be deleted, or whose provider this configuration lacks, is kept.
 * The caller holds the store's lock.
 */
public final class Retention {
  private final EngineSetup setup;
  private final Operation op;
  private final OperationProviders providers;

  public Retention(EngineSetup setup, Operation op, OperationProviders providers) {
    this.setup = setup;
    this.op = op;
    this.providers = providers;
  }

  /**
   * Deletes what the policy no longer keeps.
   *
   * @param justMade the backup this run made, always kept, or {@code null}
   * @return the deleted backups
   */
  public List<BackupId> apply(Archiver archiver, @org.jspecify.annotations.Nullable BackupId justMade) {
    List<StoredBackup> ours = new ArrayList<>();
    MaintenanceClient client = setup.client();
    String name = setup.instance().name();
    for (StoredBackup b : archiver.list()) {
      BackupSummary s = b.summary();
      if (s == null || !s.instance().equals(name) || !b.id().belongsTo(name)) {
        continue;
      }
      if (client != null && s.bitbucketUrl() != null && !EngineSetup.sameUrl(s.bitbucketUrl(), client.baseUrl())) {
        continue;
      }
      ours.add(b);
    }
    Set<StoredBackup> keep = setup.retention().kept(ours, setup.clock().instant());
    List<BackupId> deleted = new ArrayList<>();
    for (StoredBackup b : ours) {
      if (keep.contains(b) || b.id().equals(justMade)) {
        continue;
      }
      op.cancellation().throwIfCancelled();
      if (deleteOutside(b)) {
        archiver.delete(b.id());
        deleted.add(b.id());
        op.events().progress("bbdiy", "deleted backup " + b.id(), deleted.size(), -1, "backups");
      }
    }
    return deleted;
  }

  /** Deletes what {@code b} holds outside the archive; returns whether all of it is gone. */
  private boolean deleteOutside(StoredBackup b) {
    boolean gone = true;
    for (Artifact a : Objects.requireNonNull(b.summary()).artifacts()) {
      Optional<OperationProviders.Source> owner = providers.sourceFor(a);
      if (owner.isPresent() && owner.get().has(Capability.EXTERNAL_ARTIFACTS)) {
        try {
          owner.get().source().deleteArtifact(a, op.context(Phase.RETENTION, a.provider()));
        } catch (BbdiyException e) {
          gone = false;
          op.events().warning(a.provider(), "could not delete what backup " + b.id() + " holds outside the"
              + " archive (" + e.getMessage() + "); keeping the backup");
        }
      } else if (owner.isEmpty() && a.paths().isEmpty()) {
        gone = false;
        op.events().warning("bbdiy", "kept backup " + b.id() + ": its " + a.kind().name().toLowerCase(
            java.util.Locale.ROOT) + " is held by " + a.provider() + " outside the archive (snapshots), and this"
            + " configuration does not use " + a.provider() + " to delete them. Prune with that provider"
            + " configured, or delete its snapshots (tagged bbdiy:backup-id=" + b.id() + ") by hand.");
      }
    }
    return gone;
  }
}
