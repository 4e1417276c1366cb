package dev.bbdiy.cli;

import java.util.List;
import picocli.CommandLine.Command;

@Command(name = "check", description = "Validates the configuration and runs every provider's checks and an"
    + " authenticated call to Bitbucket, without locking anything.")
final class CheckCommand extends BaseCommand {
  @Override
  int execute() {
    List<String> warnings = engine(factory(), false).check();
    output.result("Configuration, tools and credentials are good" + (warnings.isEmpty() ? ""
        : " (" + warnings.size() + " warnings above)"));
    if (json) {
      output.json(java.util.Map.of("ok", true, "warnings", warnings));
    }
    return 0;
  }
}
