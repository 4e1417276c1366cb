package dev.bbdiy.core.internal;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.core.ApplicationProperties;
import dev.bbdiy.core.CredentialCheck;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.kit.PrivateFiles;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The checks before anything is done, while Bitbucket is live: Bitbucket (reachable, not already locked,
 * credentials, version for zero-downtime mode) and every provider's preflight, in parallel.
 */
public final class Preflight {
  private Preflight() {}

  /** Runs the checks as {@link Phase#PREFLIGHT}; the working directory exists afterwards. */
  public static void run(EngineSetup setup, Operation op, OperationProviders providers) {
    op.events().phase(Phase.PREFLIGHT, () -> {
      try {
        PrivateFiles.createPrivateDirectories(setup.workDir());
      } catch (IOException e) {
        throw BbdiyException.configuration("Cannot create the working directory " + setup.workDir() + ": "
            + dev.bbdiy.kit.Reasons.of(e) + ". Check work.dir.");
      }
      if (setup.zeroDowntime()) {
        zeroDowntime(setup, op, providers);
      } else {
        bitbucket(setup, op);
      }
      Archiver archiver = providers.archiver();
      Map<String, Supplier<Void>> tasks = new LinkedHashMap<>();
      for (OperationProviders.Source s : providers.sources()) {
        tasks.put(s.name(), () -> {
          s.source().preflight(op.context(Phase.PREFLIGHT, s.name()));
          return null;
        });
      }
      tasks.put(providers.archiverName(), () -> {
        archiver.preflight(op.context(Phase.PREFLIGHT, providers.archiverName()));
        return null;
      });
      op.cancellation().interruptibly(() -> Parallel.run("preflight", tasks, op.cancellation(),
          OperationProviders.STOP_TIMEOUT));
    });
  }

  private static void zeroDowntime(EngineSetup setup, Operation op, OperationProviders providers) {
    for (OperationProviders.Source s : providers.sources()) {
      if (!s.has(Capability.ATOMIC_CAPTURE)) {
        throw BbdiyException.configuration("Zero-downtime mode needs atomic point-in-time snapshots, but "
            + s.name() + " copies files while Bitbucket runs, which would give an inconsistent backup. Use"
            + " snapshot providers (amazon-ebs, amazon-rds) or turn zero-downtime mode off.");
      }
    }
    MaintenanceClient client = setup.client();
    if (client == null) {
      op.events().warning("bbdiy", "no Bitbucket URL configured: the version needed for zero-downtime mode"
          + " (4.8 or later) was not checked");
      return;
    }
    ApplicationProperties props = client.applicationProperties();
    op.bitbucketVersion(props.version());
    if (!props.isAtLeast(4, 8)) {
      throw BbdiyException.configuration("Zero-downtime backups need Bitbucket 4.8 or later; "
          + client.baseUrl() + " runs " + props.version() + ". Turn zero-downtime mode off.");
    }
  }

  private static void bitbucket(EngineSetup setup, Operation op) {
    MaintenanceClient client = setup.client();
    if (client == null) {
      throw BbdiyException.configuration("Set bitbucket.url, bitbucket.user and bitbucket.password: a backup"
          + " locks Bitbucket for maintenance (or enable zero-downtime mode with snapshot providers)");
    }
    if ("MAINTENANCE".equals(client.health())) {
      throw new BbdiyException(ErrorCode.BITBUCKET_BUSY, "Bitbucket at " + client.baseUrl() + " is already"
          + " locked for maintenance by someone else. Wait for that maintenance to end; if a killed bbdiy run"
          + " left it, run 'bbdiy unlock --recover' on the machine it ran on.");
    }
    CredentialCheck check = client.checkCredentials();
    try {
      op.bitbucketVersion(client.applicationProperties().version());
    } catch (BbdiyException e) {
      op.events().warning("bitbucket", "could not read Bitbucket's version: " + e.getMessage());
    }
    if (!check.sysAdmin()) {
      op.events().warning("bitbucket", "user '" + check.user() + "' is not listed with SYS_ADMIN"
          + (check.permission() == null ? "" : " (listed: " + check.permission() + ")")
          + "; the lock needs SYS_ADMIN, which may come from a group");
    }
  }
}
