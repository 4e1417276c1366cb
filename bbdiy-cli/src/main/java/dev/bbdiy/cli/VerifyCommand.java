package dev.bbdiy.cli;

import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.VerifyResult;
import dev.bbdiy.core.BackupEngine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "verify", description = "Reads a stored backup back and checks every byte against its manifest,"
    + " without restoring it. Exits 6 if anything differs.")
final class VerifyCommand extends BaseCommand {
  @Parameters(index = "0", paramLabel = "BACKUP-ID", description = "The backup, or 'latest'.")
  String id;

  @Override
  int execute() {
    BackupEngine engine = engine(factory(), false);
    VerifyResult r = engine.verify(ListCommand.resolve(engine, id));
    if (json) {
      output.json(r);
    }
    if (r.ok()) {
      output.result("Backup " + r.id() + " is intact: " + r.entries() + " entries, " + Output.mib(r.bytes())
          + " checked in " + Output.seconds(r.took()));
      return 0;
    }
    for (String p : r.problems()) {
      output.error(p);
    }
    output.error("Backup " + r.id() + " FAILED verification");
    return ErrorCode.VERIFICATION_FAILED.exitCode();
  }
}
