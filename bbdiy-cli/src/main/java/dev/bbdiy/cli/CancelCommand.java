package dev.bbdiy.cli;

import dev.bbdiy.core.ExternalBackup;
import dev.bbdiy.core.MaintenanceClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "cancel", description = {"Cancels Bitbucket's running backup task with its cancel token. Bitbucket"
    + " stays locked: unlock it afterwards."})
final class CancelCommand extends BaseCommand {
  @Option(names = "--token", paramLabel = "TOKEN", required = true, description = "The cancel token.")
  String token;

  @Override
  int execute() {
    MaintenanceClient client = factory().requireClient();
    client.cancel(ExternalBackup.ofCancelToken(token));
    output.result("Cancelled the backup task; Bitbucket stays locked until 'bbdiy unlock'");
    if (json) {
      output.json(java.util.Map.of("cancelled", true));
    }
    return 0;
  }
}
