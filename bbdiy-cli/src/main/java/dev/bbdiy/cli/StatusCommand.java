package dev.bbdiy.cli;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.core.MaintenanceClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;

@Command(name = "status", description = "Shows Bitbucket's maintenance state and whether an interrupted bbdiy run"
    + " left a lock on this machine.")
final class StatusCommand extends BaseCommand {
  @Override
  int execute() {
    EngineFactory f = factory();
    Map<String, Object> status = new LinkedHashMap<>();
    MaintenanceClient client = f.requireClient();
    status.put("url", client.baseUrl());
    String state = client.health();
    status.put("state", state);
    try {
      status.put("version", client.applicationProperties().version());
    } catch (BbdiyException e) {
      status.put("version", null);
    }
    output.data("Bitbucket " + client.baseUrl() + ": " + state + ("MAINTENANCE".equals(state)
        ? " (locked for maintenance)" : "") + (status.get("version") == null ? "" : ", version "
        + status.get("version")));
    Path stateFile = null;
    try {
      stateFile = f.workDir().resolve(".bbdiy/maintenance-lock.json");
    } catch (BbdiyException e) {
      output.data("work.dir is not configured: local run state unknown");
    }
    if (stateFile != null && Files.exists(stateFile)) {
      status.put("interruptedRun", stateFile.toString());
      output.data("An interrupted bbdiy run left its lock state in " + stateFile + ": run 'bbdiy unlock --recover'");
      try {
        output.data(Files.readString(stateFile, StandardCharsets.UTF_8).replaceAll("\"unlockToken\"\\s*:\\s*\"[^\"]*\"",
            "\"unlockToken\": \"(hidden; --recover uses it)\""));
      } catch (java.io.IOException ignored) {
        // shown above
      }
    } else if (stateFile != null) {
      status.put("interruptedRun", null);
      output.data("No interrupted bbdiy run on this machine");
    }
    if (json) {
      output.json(status);
    }
    return 0;
  }
}
