package dev.bbdiy.cli;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.RecoveryResult;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "unlock", description = {"Releases a maintenance lock: with its token, or with --recover from the"
    + " state file an interrupted run (SIGKILL, OOM, reboot) left in the working directory.",
    "Needs only bitbucket.url (and work.dir for --recover)."})
final class UnlockCommand extends BaseCommand {
  @Option(names = "--token", paramLabel = "TOKEN", description = "The unlock token.")
  @Nullable String token;

  @Option(names = "--recover", description = "Use the state file of the interrupted run in work.dir.")
  boolean recover;

  @Override
  int execute() {
    EngineFactory f = factory();
    MaintenanceClient client = f.requireClient();
    if (recover == (token != null)) {
      throw new BbdiyException(ErrorCode.USAGE, "Give either --token TOKEN or --recover");
    }
    if (token != null) {
      client.unlock(client.adopt(token));
      output.result("Unlocked " + client.baseUrl());
      if (json) {
        output.json(java.util.Map.of("released", true));
      }
      return 0;
    }
    RecoveryResult r = BackupEngine.recover(f.workDir(), client);
    output.result(r.message());
    // Then the snapshots and mounts a killed run left, when the configuration names the providers that made them.
    BackupEngine engine;
    try {
      engine = engine(f, false);
    } catch (BbdiyException e) {
      if (e.code() != ErrorCode.CONFIGURATION) {
        throw e;
      }
      output.warn("Snapshots or mounts an interrupted run may have left were not looked for (" + e.getMessage()
          + "); the next backup with the full configuration releases them");
      engine = null;
    }
    if (engine != null) {
      int released = engine.releaseLeftovers();
      output.result(released == 0 ? "No snapshot or mount of an interrupted run to release"
          : "Released " + released + " snapshot(s) an interrupted run left");
    }
    if (json) {
      output.json(r);
    }
    return 0;
  }
}
