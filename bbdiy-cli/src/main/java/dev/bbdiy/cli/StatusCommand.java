package dev.bbdiy.cli;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.core.MaintenanceClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;

@Command(name = "status", description = "Shows Bitbucket's maintenance state, the bbdiy run in progress in the"
    + " working directory (backup id, phase, how long Bitbucket has been locked) with the command that cancels it,"
    + " and whether an interrupted run left a lock.")
final class StatusCommand extends BaseCommand {
  @Override
  int execute() {
    EngineFactory f = factory();
    Map<String, Object> status = new LinkedHashMap<>();
    Path stateDir = null;
    try {
      stateDir = f.workDir().resolve(".bbdiy");
    } catch (BbdiyException e) {
      output.data("work.dir is not configured: local run state unknown");
    }
    Optional<RunState.Run> run = stateDir == null ? Optional.empty() : RunState.read(stateDir);
    status.put("running", run.map(r -> r.toJson(Instant.now())).orElse(null));
    run.ifPresent(r -> showRun(r, status));

    MaintenanceClient client = f.requireClient();
    status.put("url", client.baseUrl());
    String state;
    try {
      state = client.health();
    } catch (BbdiyException e) {
      if (run.isEmpty()) {
        throw e;
      }
      // What runs here is shown above; Bitbucket's side is not known.
      output.warn("Bitbucket's state is unknown: " + e.getMessage());
      if (json) {
        status.put("state", null);
        output.json(status);
      }
      return e.code().exitCode();
    }
    status.put("state", state);
    try {
      status.put("version", client.applicationProperties().version());
    } catch (BbdiyException e) {
      status.put("version", null);
    }
    output.data("Bitbucket " + client.baseUrl() + ": " + state + ("MAINTENANCE".equals(state)
        ? " (locked for maintenance)" : "") + (status.get("version") == null ? "" : ", version "
        + status.get("version")));
    Path stateFile = stateDir == null ? null : stateDir.resolve("maintenance-lock.json");
    boolean live = run.flatMap(RunState.Run::process).isPresent();
    if (stateFile != null && Files.exists(stateFile) && !live) {
      status.put("interruptedRun", stateFile.toString());
      output.data("An interrupted bbdiy run left its lock state in " + stateFile + ": run 'bbdiy unlock --recover'");
      try {
        output.data(Files.readString(stateFile, StandardCharsets.UTF_8)
            .replaceAll("\"(unlockToken|cancelToken)\"\\s*:\\s*\"[^\"]*\"", "\"$1\": \"(hidden; --recover uses it)\""));
      } catch (java.io.IOException ignored) {
        // shown above
      }
    } else if (stateFile != null) {
      status.put("interruptedRun", null);
      if (!live) {
        output.data("No interrupted bbdiy run on this machine");
      }
    }
    if (json) {
      output.json(status);
    }
    return 0;
  }

  private void showRun(RunState.Run r, Map<String, Object> status) {
    Instant now = Instant.now();
    String what = r.operation() + (r.backupId() == null ? "" : " " + r.backupId());
    String where = "pid " + r.pid() + " on " + r.host();
    if (r.process().isEmpty()) {
      output.data("A bbdiy " + what + " (" + where + ") left its run state but " + (r.onThisHost()
          ? "its process is gone" : "runs on another host (" + r.host() + ")") + "; it was in phase "
          + r.phase());
      if (r.onThisHost()) {
        return;
      }
    } else {
      output.data("Running: " + what + " (" + where + "), phase " + r.phase() + (r.phaseStartedAt() == null ? ""
          : " for " + Output.seconds(Duration.between(r.phaseStartedAt(), now))) + ", started "
          + Output.seconds(Duration.between(r.startedAt(), now)) + " ago");
    }
    r.lockHeld(now).ifPresent(held -> output.data("  Bitbucket has been locked by it for "
        + Output.seconds(held) + (r.lockReleased() ? "" : " (its unlock FAILED: it may still be locked)")));
    String cancel = cancelCommand();
    status.put("cancelCommand", cancel);
    output.data("  To cancel it: " + cancel);
  }

  /**
   * Returns the command that cancels the run: {@code bbdiy cancel --running} with the options that name this
   * configuration. Only the configuration's files and the non-secret keys that locate the run are repeated.
   */
  String cancelCommand() {
    List<String> words = new ArrayList<>(List.of("bbdiy", "cancel", "--running"));
    if (configFile != null) {
      words.add("--config");
      words.add(Shell.quote(configFile.toString()));
    }
    if (varsFile != null) {
      words.add("--vars-file");
      words.add(Shell.quote(varsFile.toString()));
    }
    overrides.forEach((k, v) -> {
      if (k.equals("work.dir") || k.equals("instance.name") || k.equals("bitbucket.url")) {
        words.add("--set");
        words.add(Shell.quote(k + "=" + v));
      }
    });
    return String.join(" ", words);
  }
}
