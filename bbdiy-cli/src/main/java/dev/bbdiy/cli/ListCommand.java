package dev.bbdiy.cli;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.core.BackupEngine;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;

@Command(name = "list", description = "Lists the stored backups, newest first, including those of Atlassian's scripts.")
final class ListCommand extends BaseCommand {
  @Override
  int execute() {
    List<StoredBackup> backups = engine(factory(), false).list();
    print(output, backups, json);
    return 0;
  }

  static void print(Output output, List<StoredBackup> backups, boolean json) {
    if (json) {
      output.json(backups);
      return;
    }
    if (backups.isEmpty()) {
      output.data("No backups yet.");
      return;
    }
    output.data(String.format(Locale.ROOT, "%-34s %10s %-8s %12s %9s  %s", "BACKUP", "SIZE", "FORMAT", "LOCK WINDOW",
        "FILES", "NOTE"));
    for (StoredBackup b : backups) {
      String lock = b.summary() == null || b.summary().lockWindow() == null ? "-"
          : Output.seconds(b.summary().lockWindow());
      String files = b.summary() == null ? "-" : Long.toString(b.summary().files());
      String note = b.summary() == null ? "no manifest (another tool): restore with --allow-unverified"
          : b.summary().zeroDowntime() ? "zero-downtime" : "";
      output.data(String.format(Locale.ROOT, "%-34s %10s %-8s %12s %9s  %s", b.id(), Output.mib(b.size()),
          b.format(), lock, files, note));
    }
  }

  /** Resolves {@code latest} to the newest backup with a manifest. */
  static BackupId resolve(BackupEngine engine, String id) {
    if (!id.equals("latest")) {
      try {
        return new BackupId(id);
      } catch (IllegalArgumentException e) {
        throw new BbdiyException(ErrorCode.USAGE, String.valueOf(e.getMessage()));
      }
    }
    return engine.list().stream().filter(StoredBackup::hasManifest).findFirst().map(StoredBackup::id)
        .orElseThrow(() -> new BbdiyException(ErrorCode.NOT_FOUND, "There is no backup yet"));
  }
}
