package dev.bbdiy.cli;

import dev.bbdiy.api.BackupId;
import java.util.List;
import picocli.CommandLine.Command;

@Command(name = "prune", description = {"Deletes the backups the retention rules (retention.keep,"
    + " retention.within) no longer keep, with what they hold outside the archive (snapshots).",
    "Only backups this instance's configuration made are ever considered; the newest is always kept."})
final class PruneCommand extends BaseCommand {
  @Override
  int execute() {
    EngineFactory f = factory();
    var retention = config().group("retention");
    if (retention.integer(CoreKeys.KEEP) == 0 && retention.optional(CoreKeys.WITHIN).isEmpty()) {
      output.result("No retention rule is configured (retention.keep, retention.within): nothing is deleted");
      if (json) {
        output.json(List.of());
      }
      return 0;
    }
    List<BackupId> deleted = engine(f, false).prune();
    output.result(deleted.isEmpty() ? "Nothing to delete" : "Deleted " + deleted.size() + " backups: " + deleted);
    if (json) {
      output.json(deleted);
    }
    return 0;
  }
}
