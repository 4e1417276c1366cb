package dev.bbdiy.cli;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.RestoreResult;
import dev.bbdiy.api.StoredBackup;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.RestoreRequest;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "restore", description = {"Restores a backup into empty targets, verifying it as it is extracted.",
    "Without a backup id, lists the backups. 'latest' is the newest one bbdiy made.",
    "A restore never overwrites: the home, data stores and database must be empty or absent."})
final class RestoreCommand extends BaseCommand {
  @Parameters(index = "0", arity = "0..1", paramLabel = "BACKUP-ID", description = "The backup, or 'latest'.")
  @Nullable String id;

  @Option(names = "--target-home", paramLabel = "DIR", description = "Restore the home here instead of instance.home.")
  @Nullable Path targetHome;

  @Option(names = "--target-data-store", paramLabel = "ORIGINAL=TARGET",
      description = "Restore the data store backed up from ORIGINAL into TARGET.")
  Map<Path, Path> dataStores = new LinkedHashMap<>();

  @Option(names = "--target-database", paramLabel = "NAME",
      description = "Restore the database under this name (it must not exist), e.g. bitbucket_restored.")
  @Nullable String targetDatabase;

  @Option(names = "--home-only", description = "Restore only the home and data stores.")
  boolean homeOnly;

  @Option(names = "--database-only", description = "Restore only the database.")
  boolean databaseOnly;

  @Option(names = "--allow-unverified",
      description = "Allow restoring a backup without a manifest (made by Atlassian's scripts).")
  boolean allowUnverified;

  @Option(names = "--from-snapshot", description = {"Restore the home from the snapshot the btrfs or zfs provider"
      + " kept on this machine (keep-local) instead of from the archive: much faster, into the same empty targets,"
      + " with the backup's excludes left out. The database, if any, is restored from the archive."})
  boolean fromSnapshot;

  @Option(names = "--node", paramLabel = "NAME", description = "With home.type=mesh: restore only this Mesh node"
      + " (repeatable; mesh.restore-nodes). Implies --home-only; the shared home still goes to --target-home.")
  List<String> meshNodes = new java.util.ArrayList<>();

  @Override
  int execute() {
    if (!meshNodes.isEmpty()) {
      if (databaseOnly) {
        throw new BbdiyException(ErrorCode.USAGE, "--node and --database-only exclude each other");
      }
      overrides.put("mesh.restore-nodes", String.join(",", meshNodes));
      homeOnly = true;
    }
    EngineFactory factory = factory();
    BackupEngine engine = engine(factory, true);
    if (id == null) {
      List<StoredBackup> backups = engine.list();
      ListCommand.print(output, backups, json);
      output.error("Name the backup to restore: bbdiy restore <backup-id> (or latest)");
      return ErrorCode.USAGE.exitCode();
    }
    if (homeOnly && databaseOnly) {
      throw new BbdiyException(ErrorCode.USAGE, "--home-only and --database-only exclude each other");
    }
    BackupId backupId = ListCommand.resolve(engine, id);
    RestoreRequest.Builder request = RestoreRequest.builder(backupId).allowUnverified(allowUnverified)
        .fromLocalSnapshot(fromSnapshot);
    if (targetHome != null) {
      request.targetHome(targetHome);
    }
    dataStores.forEach(request::dataStore);
    if (targetDatabase != null) {
      request.targetDatabase(targetDatabase);
    }
    if (homeOnly) {
      request.homeOnly();
    }
    if (databaseOnly) {
      request.databaseOnly();
    }
    output.info("Restoring " + backupId);
    RestoreResult r = engine.restore(request.build());
    // Exactly what was checked, and nothing more: a snapshot restore extracts nothing, so nothing is "verified".
    output.result("Restored " + backupId + " in " + Output.seconds(r.total()) + (r.files() > 0 || r.verified()
        ? ": " + r.files() + " files, " + Output.mib(r.bytes()) : "")
        + (r.verified() ? ", verified against its manifest" : r.files() > 0 ? " (UNVERIFIED: no manifest)" : ""));
    for (String target : r.targets()) {
      output.info("  restored: " + target);
    }
    for (String check : r.checks()) {
      output.info("  checked: " + check);
    }
    if (json) {
      output.json(r);
    }
    return 0;
  }
}
