package dev.bbdiy.cli;

import dev.bbdiy.api.BackupResult;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.Phase;
import dev.bbdiy.core.BackupEngine;
import java.time.Duration;
import picocli.CommandLine.Command;

@Command(name = "backup", description = {"Makes a backup: locks Bitbucket only while capturing, archives and"
    + " verifies it, then applies retention.", "On Ctrl-C or SIGTERM it stops its work, cancels Bitbucket's task"
    + " and unlocks before exiting."})
final class BackupCommand extends BaseCommand {
  @Override
  int execute() {
    EngineFactory factory = factory();
    Reporting reporting = new Reporting(config(), output);
    BackupEngine engine = engine(factory, false);
    try {
      output.info("Backup of " + engine.instance().name() + " starting");
      BackupResult r = engine.backup();
      String lock = r.lockWindow() == null ? "no lock (zero-downtime)"
          : "Bitbucket locked for " + Output.seconds(r.lockWindow())
              + (r.drainedWindow() == null ? "" : ", drained for " + Output.seconds(r.drainedWindow()));
      output.result("Backup " + r.id() + " is complete and verified: " + r.stored().location() + " ("
          + Output.mib(r.stored().size()) + ", " + r.summary().files() + " files, " + Output.mib(r.summary().bytes())
          + ")");
      output.info(lock + "; total " + Output.seconds(r.total()));
      if (verbose) {
        for (Phase phase : Phase.values()) {
          Duration d = r.phases().get(phase);
          if (d != null) {
            output.info("  " + phase.name().toLowerCase(java.util.Locale.ROOT) + ": " + Output.seconds(d));
          }
        }
      }
      if (!r.pruned().isEmpty()) {
        output.info("Retention deleted " + r.pruned());
      }
      reporting.success(engine.instance().name(), r);
      if (json) {
        output.json(r);
      }
      return 0;
    } catch (BbdiyException e) {
      reporting.failure(engine.instance().name(), e);
      throw e;
    }
  }
}
