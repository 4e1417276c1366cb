package dev.bbdiy.aws;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Settings;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.rds.RdsClient;
import software.amazon.awssdk.services.rds.RdsClientBuilder;
import software.amazon.awssdk.services.rds.model.DBCluster;
import software.amazon.awssdk.services.rds.model.DBInstance;
import software.amazon.awssdk.services.rds.model.Tag;
import software.amazon.awssdk.services.rds.model.VpcSecurityGroupMembership;

/** One run of the {@code amazon-rds} provider. */
final class RdsDumper implements DatabaseDumper {
  private static final String PROVIDER = "amazon-rds";
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMddHHmmss")
      .withZone(ZoneOffset.UTC);

  private final ProviderContext context;
  private final Settings s;
  private final String source;
  private final boolean aurora;
  private @Nullable RdsClient rds;
  private final AwsSupport.Clients clients = new AwsSupport.Clients();
  private @Nullable Region region;
  private final Map<String, String> described = new LinkedHashMap<>();
  private final List<String[]> created = new ArrayList<>();

  RdsDumper(ProviderContext context) {
    this.context = context;
    this.s = context.settings();
    this.source = s.string(RdsProvider.INSTANCE_ID);
    this.aurora = s.bool(RdsProvider.AURORA);
  }

  private Region region() {
    if (region == null) {
      Optional<String> configured = s.optional(AwsSupport.REGION);
      try {
        region = configured.map(Region::of).orElseGet(() -> new DefaultAwsRegionProviderChain().getRegion());
      } catch (SdkException e) {
        throw BbdiyException.configuration("Cannot tell the AWS region: set amazon-rds.region (AWS_REGION)");
      }
    }
    return region;
  }

  private RdsClient rds() {
    if (rds == null) {
      rds = client(region(), null);
    }
    return rds;
  }

  private RdsClient client(Region r, @Nullable AwsCredentialsProvider credentials) {
    RdsClientBuilder b = RdsClient.builder().region(r).httpClient(AwsSupport.http())
        .credentialsProvider(credentials == null ? AwsSupport.credentials() : credentials)
        .overrideConfiguration(AwsSupport.overrides(s));
    AwsSupport.endpoint(s).ifPresent(b::endpointOverride);
    return clients.add(b.build(), credentials);
  }

  /** Closes the SDK clients this instance made. */
  @Override
  public void close() {
    clients.close();
  }

  private <T> T call(String what, String action, Supplier<T> call) {
    try {
      return call.get();
    } catch (SdkException e) {
      throw AwsSupport.failure(PROVIDER, what, action, e);
    }
  }

  /**
   * Runs a call that creates a snapshot, recorded first for {@link #abort}: a call whose outcome is unknown (a
   * timeout) may still have created it, and deleting one that was never made is a harmless "not found". A
   * snapshot that already existed is not ours and is forgotten again.
   */
  private void creating(String[] record, String what, String action, Supplier<?> create) {
    created.add(record);
    try {
      create.get();
    } catch (SdkException e) {
      if (String.valueOf(AwsSupport.code(e)).contains("AlreadyExists")) {
        created.remove(record);
      }
      throw AwsSupport.failure(PROVIDER, what, action, e);
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Backup

  @Override
  public void preflight(RunContext ctx) {
    described.clear();
    if (aurora) {
      DBCluster c = call("describing cluster " + source, "rds:DescribeDBClusters",
          () -> rds().describeDBClusters(r -> r.dbClusterIdentifier(source)).dbClusters().get(0));
      described.put("engine", c.engine());
      described.put("status", c.status());
      if (c.dbSubnetGroup() != null) {
        described.put("subnet-group", c.dbSubnetGroup());
      }
      described.put("security-groups", String.join(",", c.vpcSecurityGroups().stream()
          .map(VpcSecurityGroupMembership::vpcSecurityGroupId).toList()));
      c.dbClusterMembers().stream().findFirst().ifPresent(m -> {
        DBInstance i = rds().describeDBInstances(r -> r.dbInstanceIdentifier(m.dbInstanceIdentifier()))
            .dbInstances().get(0);
        described.put("instance-class", i.dbInstanceClass());
      });
    } else {
      DBInstance i = call("describing instance " + source, "rds:DescribeDBInstances",
          () -> rds().describeDBInstances(r -> r.dbInstanceIdentifier(source)).dbInstances().get(0));
      described.put("engine", i.engine());
      described.put("status", i.dbInstanceStatus());
      described.put("instance-class", i.dbInstanceClass());
      described.put("multi-az", Boolean.toString(Boolean.TRUE.equals(i.multiAZ())));
      if (i.dbSubnetGroup() != null) {
        described.put("subnet-group", i.dbSubnetGroup().dbSubnetGroupName());
      }
      described.put("security-groups", String.join(",", i.vpcSecurityGroups().stream()
          .map(VpcSecurityGroupMembership::vpcSecurityGroupId).toList()));
    }
    if (!"available".equals(described.get("status"))) {
      ctx.progress().warning(source + " is " + described.get("status") + ", not available: the snapshot may have"
          + " to wait for it");
    }
  }

  private record Started(String snapshot) implements CaptureHandle {}

  @Override
  public CaptureHandle capture(RunContext ctx) {
    String id = snapshotId(ctx.backupId().value());
    List<Tag> tags = tags(ctx.backupId().value());
    String[] record = {region().id(), id, "own"};
    if (aurora) {
      creating(record, "starting the cluster snapshot " + id, "rds:CreateDBClusterSnapshot and rds:AddTagsToResource",
          () -> rds().createDBClusterSnapshot(r -> r.dbClusterIdentifier(source).dbClusterSnapshotIdentifier(id)
              .tags(tags)));
    } else {
      creating(record, "starting the snapshot " + id, "rds:CreateDBSnapshot and rds:AddTagsToResource",
          () -> rds().createDBSnapshot(r -> r.dbInstanceIdentifier(source).dbSnapshotIdentifier(id).tags(tags)));
    }
    ctx.progress().message("started snapshot " + id + " of " + source);
    return new Started(id);
  }

  /** An RDS snapshot id: letters, digits and single hyphens, starting with a letter. */
  static String snapshotId(String backupId) {
    String id = backupId.replaceAll("[^A-Za-z0-9-]", "-").replaceAll("-{2,}", "-").replaceAll("-$", "");
    if (!Character.isLetter(id.charAt(0))) {
      id = "bbdiy-" + id;
    }
    return id.length() > 255 ? id.substring(0, 255) : id;
  }

  private List<Tag> tags(String backupId) {
    return AwsSupport.backupTags(backupId, context.instance().name(), s).entrySet().stream()
        .map(e -> Tag.builder().key(e.getKey()).value(e.getValue()).build()).toList();
  }

  @Override
  public Artifact complete(RunContext ctx, CaptureHandle handle) {
    String id = ((Started) handle).snapshot();
    String arn = awaitSnapshot(rds(), id, ctx.progress(), ctx.cancellation());
    Map<String, String> props = new LinkedHashMap<>(described);
    props.remove("status");
    props.put("snapshot", id);
    props.put("instance-id", source);
    props.put("aurora", Boolean.toString(aurora));
    props.put("region", region().id());
    copies(id, arn, props, ctx);
    return new Artifact(PROVIDER, dev.bbdiy.api.Artifact.Kind.DATABASE, List.of(), props);
  }

  /** Waits until a snapshot is available; returns its ARN. */
  private String awaitSnapshot(RdsClient client, String id, ProgressReporter progress,
      CancellationSignal cancellation) {
    Instant deadline = Instant.now().plus(s.duration(AwsSupport.WAIT_TIMEOUT));
    while (true) {
      String status;
      String arn;
      int percent;
      if (aurora) {
        var snap = call("checking snapshot " + id, "rds:DescribeDBClusterSnapshots", () -> client
            .describeDBClusterSnapshots(r -> r.dbClusterSnapshotIdentifier(id)).dbClusterSnapshots().get(0));
        status = snap.status();
        arn = snap.dbClusterSnapshotArn();
        percent = snap.percentProgress() == null ? 0 : snap.percentProgress();
      } else {
        var snap = call("checking snapshot " + id, "rds:DescribeDBSnapshots", () -> client
            .describeDBSnapshots(r -> r.dbSnapshotIdentifier(id)).dbSnapshots().get(0));
        status = snap.status();
        arn = snap.dbSnapshotArn();
        percent = snap.percentProgress() == null ? 0 : snap.percentProgress();
      }
      progress.progress("RDS snapshot " + id + " " + status, percent, 100, "percent");
      if ("available".equals(status)) {
        return arn;
      }
      if ("failed".equals(status) || "error".equals(status)) {
        throw BbdiyException.provider(PROVIDER, "snapshot " + id + " " + status, null);
      }
      if (Instant.now().isAfter(deadline)) {
        throw BbdiyException.provider(PROVIDER, "snapshot " + id + " is still " + status + " after "
            + s.duration(AwsSupport.WAIT_TIMEOUT) + " (amazon-rds.wait-timeout)", null);
      }
      EbsSnapshotter.sleep(s.duration(RdsProvider.POLL_INTERVAL), cancellation);
    }
  }

  private void copies(String id, String arn, Map<String, String> props, RunContext ctx) {
    Optional<String> copyRegion = s.optional(AwsSupport.COPY_REGION);
    Optional<String> account = s.optional(AwsSupport.COPY_ACCOUNT);
    if (copyRegion.isEmpty() && account.isEmpty()) {
      return;
    }
    Region target = Region.of(copyRegion.orElse(region().id()));
    RdsClient dest;
    if (account.isPresent()) {
      String role = s.optional(AwsSupport.COPY_ROLE).orElseThrow(() -> BbdiyException.configuration(
          "amazon-rds.copy-account needs amazon-rds.copy-role, the role to assume in that account"));
      call("sharing " + id + " with " + account.get(), "rds:ModifyDBSnapshotAttribute", () -> aurora
          ? rds().modifyDBClusterSnapshotAttribute(r -> r.dbClusterSnapshotIdentifier(id).attributeName("restore")
              .valuesToAdd(account.get()))
          : rds().modifyDBSnapshotAttribute(r -> r.dbSnapshotIdentifier(id).attributeName("restore")
              .valuesToAdd(account.get())));
      dest = client(target, AwsSupport.assumed(role, target, s));
    } else {
      dest = client(target, null);
    }
    String copy = id + "-copy";
    // SourceRegion makes the SDK presign the request for the source region: only for copies between regions.
    boolean crossRegion = !target.equals(region());
    List<Tag> tags = tags(ctx.backupId().value());
    Optional<String> kms = s.optional(AwsSupport.COPY_KMS_KEY);
    String[] record = {target.id(), copy, account.isPresent() ? "account" : "own"};
    creating(record, "copying " + id + " to " + target.id(), "rds:CopyDBSnapshot", () -> aurora
        ? dest.copyDBClusterSnapshot(r -> {
          r.sourceDBClusterSnapshotIdentifier(arn).targetDBClusterSnapshotIdentifier(copy).tags(tags)
              .sourceRegion(crossRegion ? region().id() : null);
          kms.ifPresent(r::kmsKeyId);
        })
        : dest.copyDBSnapshot(r -> {
          r.sourceDBSnapshotIdentifier(arn).targetDBSnapshotIdentifier(copy).tags(tags)
              .sourceRegion(crossRegion ? region().id() : null);
          kms.ifPresent(r::kmsKeyId);
        }));
    awaitSnapshot(dest, copy, ctx.progress(), ctx.cancellation());
    props.put("copy.snapshot", copy);
    props.put("copy.region", target.id());
    account.ifPresent(a -> props.put("copy.account", a));
  }

  @Override
  public void abort(RunContext ctx, @Nullable CaptureHandle capture) {
    for (String[] c : created) {
      RdsClient client = c[2].equals("account") ? copyClient(c[0]) : client(Region.of(c[0]), null);
      deleteSnapshot(client, c[1], ctx);
    }
  }

  private RdsClient copyClient(String r) {
    Optional<String> role = s.optional(AwsSupport.COPY_ROLE);
    return client(Region.of(r), role.isPresent() && s.optional(AwsSupport.COPY_ACCOUNT).isPresent()
        ? AwsSupport.assumed(role.get(), Region.of(r), s) : null);
  }

  /** Deletes a snapshot; one still being created is waited for first, as RDS refuses to delete it before. */
  private void deleteSnapshot(RdsClient client, String id, RunContext ctx) {
    for (int attempt = 0; ; attempt++) {
      try {
        if (aurora) {
          client.deleteDBClusterSnapshot(r -> r.dbClusterSnapshotIdentifier(id));
        } else {
          client.deleteDBSnapshot(r -> r.dbSnapshotIdentifier(id));
        }
        ctx.progress().message("deleted snapshot " + id);
        return;
      } catch (SdkException e) {
        String code = String.valueOf(AwsSupport.code(e));
        if (code.contains("NotFound")) {
          return;
        }
        if (code.startsWith("Invalid") && code.contains("State") && attempt == 0) {
          awaitSnapshot(client, id, ctx.progress(), dev.bbdiy.kit.Cancellations.none());
          continue;
        }
        throw AwsSupport.failure(PROVIDER, "deleting snapshot " + id, "rds:DeleteDBSnapshot", e);
      }
    }
  }

  @Override
  public void deleteArtifact(Artifact artifact, RunContext ctx) {
    deleteSnapshot(client(Region.of(String.valueOf(artifact.property("region"))), null),
        String.valueOf(artifact.property("snapshot")), ctx);
    String copy = artifact.property("copy.snapshot");
    if (copy != null) {
      RdsClient client = artifact.property("copy.account") != null
          ? copyClient(String.valueOf(artifact.property("copy.region")))
          : client(Region.of(String.valueOf(artifact.property("copy.region"))), null);
      deleteSnapshot(client, copy, ctx);
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Restore

  private boolean renameMode() {
    String mode = s.string(RdsProvider.RESTORE_MODE);
    if (!mode.equals("new") && !mode.equals("rename")) {
      throw BbdiyException.configuration("amazon-rds.restore-mode must be new or rename, not " + mode);
    }
    return mode.equals("rename");
  }

  private String target(RestoreContext ctx) {
    String original = String.valueOf(ctx.artifact().property("instance-id"));
    if (renameMode()) {
      return original;
    }
    if (ctx.targetDatabase() != null) {
      return ctx.targetDatabase();
    }
    return s.optional(RdsProvider.RESTORE_INSTANCE_ID)
        .orElse(original + "-restored-" + STAMP.format(Instant.now()));
  }

  private boolean exists(String id) {
    try {
      if (aurora) {
        rds().describeDBClusters(r -> r.dbClusterIdentifier(id));
      } else {
        rds().describeDBInstances(r -> r.dbInstanceIdentifier(id));
      }
      return true;
    } catch (SdkException e) {
      if (String.valueOf(AwsSupport.code(e)).contains("NotFound")) {
        return false;
      }
      throw AwsSupport.failure(PROVIDER, "looking up " + id, "rds:DescribeDBInstances", e);
    }
  }

  @Override
  public void preflightRestore(RestoreContext ctx) {
    if (renameMode()) {
      if (aurora) {
        throw BbdiyException.configuration("amazon-rds.restore-mode=rename is for RDS instances; restore an Aurora"
            + " cluster under a new id (restore-mode=new)");
      }
      return;
    }
    String target = target(ctx);
    if (exists(target)) {
      throw BbdiyException.refused((aurora ? "Cluster " : "Instance ") + target + " already exists: a restore never"
          + " overwrites. Choose another id (--target-database, amazon-rds.restore-instance-id).");
    }
  }

  @Override
  public RestoreOutcome restore(RestoreContext ctx) {
    preflightRestore(ctx); // a restore never goes into an instance or cluster that exists
    Artifact a = ctx.artifact();
    String snapshot = String.valueOf(a.property("snapshot"));
    String target = target(ctx);
    List<String> made = new ArrayList<>();
    try {
      return restore(ctx, a, snapshot, target, made);
    } catch (RuntimeException e) {
      removeCreated(made, e, ctx);
      throw e;
    }
  }

  /**
   * Deletes, newest first, what a failed or cancelled restore created (instances, then the cluster), without a
   * final snapshot: it holds nothing but the backup, which is kept. Runs with the thread's interrupt cleared.
   */
  private void removeCreated(List<String> made, RuntimeException cause, RestoreContext ctx) {
    boolean interrupted = Thread.interrupted();
    try {
      for (int i = made.size() - 1; i >= 0; i--) {
        String[] kindAndId = made.get(i).split(":", 2);
        try {
          if (kindAndId[0].equals("cluster")) {
            rds().deleteDBCluster(r -> r.dbClusterIdentifier(kindAndId[1]).skipFinalSnapshot(true));
          } else {
            rds().deleteDBInstance(r -> r.dbInstanceIdentifier(kindAndId[1]).skipFinalSnapshot(true));
          }
          ctx.progress().message("deleted " + kindAndId[0] + " " + kindAndId[1] + ", which the failed restore"
              + " created");
        } catch (SdkException e) {
          cause.addSuppressed(AwsSupport.failure(PROVIDER, "deleting the " + kindAndId[0] + " " + kindAndId[1]
              + " the failed restore created: delete it by hand", "rds:DeleteDBInstance, rds:DeleteDBCluster", e));
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private RestoreOutcome restore(RestoreContext ctx, Artifact a, String snapshot, String target,
      List<String> made) {
    String instanceClass = s.optional(RdsProvider.RESTORE_INSTANCE_CLASS).orElse(a.property("instance-class"));
    String subnet = s.optional(RdsProvider.RESTORE_SUBNET_GROUP).orElse(a.property("subnet-group"));
    List<String> groups = s.isSet(RdsProvider.RESTORE_SECURITY_GROUPS) ? s.list(RdsProvider.RESTORE_SECURITY_GROUPS)
        : a.property("security-groups") == null || a.property("security-groups").isEmpty() ? List.of()
        : List.of(a.property("security-groups").split(","));
    if (renameMode() && exists(target)) {
      String aside = target + "-pre-restore-" + STAMP.format(Instant.now());
      call("renaming " + target + " to " + aside, "rds:ModifyDBInstance", () -> rds().modifyDBInstance(r -> r
          .dbInstanceIdentifier(target).newDBInstanceIdentifier(aside).applyImmediately(true)));
      awaitInstance(aside, ctx);
      ctx.progress().message("renamed the existing instance to " + aside + " (kept)");
    }
    if (aurora) {
      call("restoring cluster " + target, "rds:RestoreDBClusterFromSnapshot", () -> rds().restoreDBClusterFromSnapshot(
          r -> r.dbClusterIdentifier(target).snapshotIdentifier(snapshot).engine(a.property("engine"))
              .dbSubnetGroupName(subnet).vpcSecurityGroupIds(groups.isEmpty() ? null : groups)));
      made.add("cluster:" + target);
      awaitCluster(target, ctx);
      call("creating the first instance of " + target, "rds:CreateDBInstance", () -> rds().createDBInstance(r -> r
          .dbInstanceIdentifier(target + "-1").dbClusterIdentifier(target).engine(a.property("engine"))
          .dbInstanceClass(instanceClass)));
      made.add("instance:" + target + "-1");
      awaitInstance(target + "-1", ctx);
    } else {
      boolean multiAz = s.isSet(RdsProvider.RESTORE_MULTI_AZ) ? s.bool(RdsProvider.RESTORE_MULTI_AZ)
          : Boolean.parseBoolean(a.property("multi-az"));
      call("restoring instance " + target, "rds:RestoreDBInstanceFromDBSnapshot",
          () -> rds().restoreDBInstanceFromDBSnapshot(r -> r.dbInstanceIdentifier(target).dbSnapshotIdentifier(snapshot)
              .dbInstanceClass(instanceClass).dbSubnetGroupName(subnet).multiAZ(multiAz)
              .vpcSecurityGroupIds(groups.isEmpty() ? null : groups).tags(tags(ctx.backupId().value()))));
      made.add("instance:" + target);
      awaitInstance(target, ctx);
    }
    ctx.progress().message("restored " + snapshot + " as " + target + "; point bitbucket.properties at it");
    return RestoreOutcome.database(target, (aurora ? "Aurora cluster " : "RDS instance ") + target + " from "
        + snapshot, List.of());
  }

  private void awaitInstance(String id, RestoreContext ctx) {
    await(id, ctx, () -> rds().describeDBInstances(r -> r.dbInstanceIdentifier(id)).dbInstances().get(0)
        .dbInstanceStatus());
  }

  private void awaitCluster(String id, RestoreContext ctx) {
    await(id, ctx, () -> rds().describeDBClusters(r -> r.dbClusterIdentifier(id)).dbClusters().get(0).status());
  }

  private void await(String id, RestoreContext ctx, Supplier<String> status) {
    Instant deadline = Instant.now().plus(s.duration(AwsSupport.WAIT_TIMEOUT));
    while (true) {
      String st;
      try {
        st = status.get();
      } catch (SdkException e) {
        if (!String.valueOf(AwsSupport.code(e)).contains("NotFound")) {
          throw AwsSupport.failure(PROVIDER, "checking " + id, "rds:DescribeDBInstances", e);
        }
        st = "not yet visible";
      }
      ctx.progress().message(id + ": " + st);
      if ("available".equals(st)) {
        return;
      }
      if (st.contains("failed") || st.contains("incompatible")) {
        throw BbdiyException.provider(PROVIDER, id + " is " + st, null);
      }
      if (Instant.now().isAfter(deadline)) {
        throw BbdiyException.provider(PROVIDER, id + " is still " + st + " after " + s.duration(AwsSupport.WAIT_TIMEOUT),
            null);
      }
      EbsSnapshotter.sleep(s.duration(RdsProvider.POLL_INTERVAL), ctx.cancellation());
    }
  }
}
