package dev.bbdiy.aws;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.CancellationSignal;
import dev.bbdiy.api.spi.CaptureHandle;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.RestoreContext;
import dev.bbdiy.api.spi.RestoreOutcome;
import dev.bbdiy.api.spi.RunContext;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.kit.ChildProcess;
import dev.bbdiy.kit.GitLockFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.Ec2ClientBuilder;
import software.amazon.awssdk.services.ec2.model.CreateSnapshotsResponse;
import software.amazon.awssdk.services.ec2.model.CreateVolumeRequest;
import software.amazon.awssdk.services.ec2.model.Filter;
import software.amazon.awssdk.services.ec2.model.Instance;
import software.amazon.awssdk.services.ec2.model.ResourceType;
import software.amazon.awssdk.services.ec2.model.Snapshot;
import software.amazon.awssdk.services.ec2.model.SnapshotInfo;
import software.amazon.awssdk.services.ec2.model.SnapshotState;
import software.amazon.awssdk.services.ec2.model.Tag;
import software.amazon.awssdk.services.ec2.model.TagSpecification;
import software.amazon.awssdk.services.ec2.model.Volume;
import software.amazon.awssdk.services.ec2.model.VolumeAttachment;
import software.amazon.awssdk.services.ec2.model.VolumeAttachmentState;
import software.amazon.awssdk.services.ec2.model.VolumeState;
import software.amazon.awssdk.services.ec2.model.VolumeType;

/** One run of the {@code amazon-ebs} provider. */
final class EbsSnapshotter implements HomeSnapshotter {
  private static final String PROVIDER = "amazon-ebs";

  private final ProviderContext context;
  private final Settings s;
  private final List<String[]> mountsAndDevices = new ArrayList<>();
  private final List<String> created = Collections.synchronizedList(new ArrayList<>());
  /** The backup whose CreateSnapshots was sent, answered or not: abort also looks its snapshots up by tag. */
  private volatile @Nullable String snapshotsRequestedFor;
  private final List<String[]> createdCopies = Collections.synchronizedList(new ArrayList<>());
  private @Nullable InstanceIdentity identity;
  private @Nullable Ec2Client ec2;
  private final Map<String, String> volumeByDevice = new LinkedHashMap<>();
  private final List<String> otherDataVolumes = new ArrayList<>();
  private boolean rootIsOurs;

  EbsSnapshotter(ProviderContext context) {
    this.context = context;
    this.s = context.settings();
    for (String pair : s.list(EbsProvider.VOLUMES)) {
      int colon = pair.lastIndexOf(':');
      if (colon <= 0 || colon == pair.length() - 1) {
        throw BbdiyException.configuration("amazon-ebs.volumes: '" + pair + "' is not mount-point:device, e.g."
            + " /var/atlassian/application-data/bitbucket:/dev/xvdf");
      }
      mountsAndDevices.add(new String[] {pair.substring(0, colon), pair.substring(colon + 1)});
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Clients

  private InstanceIdentity identity() {
    if (identity == null) {
      identity = InstanceIdentity.resolve(s.optional(EbsProvider.INSTANCE_ID).orElse(null),
          s.optional(EbsProvider.AVAILABILITY_ZONE).orElse(null), s.optional(AwsSupport.REGION),
          s.optional(EbsProvider.IMDS_ENDPOINT).orElse(null));
    }
    return identity;
  }

  private Ec2Client ec2() {
    if (ec2 == null) {
      ec2 = client(Region.of(identity().region()), null);
    }
    return ec2;
  }

  private Ec2Client client(Region region, @Nullable AwsCredentialsProvider credentials) {
    Ec2ClientBuilder b = Ec2Client.builder().region(region).httpClient(AwsSupport.http())
        .credentialsProvider(credentials == null ? AwsSupport.credentials() : credentials)
        .overrideConfiguration(AwsSupport.overrides(s));
    AwsSupport.endpoint(s).ifPresent(b::endpointOverride);
    return b.build();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Backup

  @Override
  public void preflight(RunContext ctx) {
    InstanceIdentity id = identity();
    try {
      List<Volume> attached = ec2().describeVolumes(r -> r.filters(
          Filter.builder().name("attachment.instance-id").values(id.instanceId()).build())).volumes();
      Map<String, String> byDevice = new TreeMap<>();
      for (Volume v : attached) {
        for (VolumeAttachment a : v.attachments()) {
          if (id.instanceId().equals(a.instanceId())) {
            byDevice.put(a.device(), v.volumeId());
          }
        }
      }
      Instance instance = ec2().describeInstances(r -> r.instanceIds(id.instanceId())).reservations().get(0)
          .instances().get(0);
      String rootVolume = byDevice.get(instance.rootDeviceName());
      volumeByDevice.clear();
      for (String[] md : mountsAndDevices) {
        String volume = byDevice.get(md[1]);
        if (volume == null) {
          throw BbdiyException.configuration("amazon-ebs.volumes: no volume is attached to " + id.instanceId()
              + " as " + md[1] + " (attached: " + byDevice.keySet() + ")");
        }
        volumeByDevice.put(md[1], volume);
      }
      rootIsOurs = rootVolume != null && volumeByDevice.containsValue(rootVolume);
      otherDataVolumes.clear();
      for (String v : byDevice.values()) {
        if (!volumeByDevice.containsValue(v) && !v.equals(rootVolume)) {
          otherDataVolumes.add(v);
        }
      }
      // EC2 answers a dry run with DryRunOperation when the call would be allowed.
      try {
        ec2().createSnapshots(r -> r.dryRun(true).instanceSpecification(spec()));
      } catch (SdkException e) {
        if (!AwsSupport.isDryRunSuccess(e)) {
          throw AwsSupport.failure(PROVIDER, "creating snapshots of " + id.instanceId(), "ec2:CreateSnapshots", e);
        }
      }
    } catch (SdkException e) {
      throw AwsSupport.failure(PROVIDER, "looking up the volumes of " + id.instanceId(),
          "ec2:DescribeVolumes and ec2:DescribeInstances", e);
    }
    if (s.bool(EbsProvider.FREEZE)) {
      for (String[] md : mountsAndDevices) {
        if (!Files.isDirectory(Path.of(md[0]))) {
          throw BbdiyException.configuration("amazon-ebs.volumes: mount point " + md[0] + " does not exist");
        }
        if (onRootFileSystem(Path.of(md[0]))) {
          // Freezing / would also freeze what thawing it needs (the fsfreeze binary, logs, this JVM's files).
          throw BbdiyException.configuration("amazon-ebs.volumes: " + md[0] + " is on the root file system, which"
              + " must not be frozen. Put the home on a volume of its own, or set amazon-ebs.freeze=false");
        }
      }
      ChildProcess.Result r = ChildProcess.builder(s.string(EbsProvider.FREEZE_COMMAND), "--version")
          .name("fsfreeze").build().run();
      if (!r.succeeded()) {
        throw BbdiyException.configuration("Cannot run " + s.string(EbsProvider.FREEZE_COMMAND) + " (util-linux);"
            + " install it or set amazon-ebs.freeze=false");
      }
    }
  }

  private static boolean onRootFileSystem(Path dir) {
    try {
      return Files.getFileStore(dir).equals(Files.getFileStore(Path.of("/")));
    } catch (java.io.IOException e) {
      throw BbdiyException.configuration("Cannot tell which file system " + dir + " is on: " + e.getMessage());
    }
  }

  private software.amazon.awssdk.services.ec2.model.InstanceSpecification spec() {
    return software.amazon.awssdk.services.ec2.model.InstanceSpecification.builder()
        .instanceId(identity().instanceId())
        .excludeBootVolume(!rootIsOurs)
        .excludeDataVolumeIds(otherDataVolumes.isEmpty() ? null : otherDataVolumes)
        .build();
  }

  /** The snapshots one capture started: volume id to snapshot id. */
  private record Started(Map<String, String> snapshotByVolume) implements CaptureHandle {}

  @Override
  public CaptureHandle capture(RunContext ctx) {
    Map<String, String> byVolume = new LinkedHashMap<>();
    try (FsFreeze freeze = new FsFreeze(s.string(EbsProvider.FREEZE_COMMAND), PROVIDER)) {
      if (s.bool(EbsProvider.FREEZE)) {
        for (String[] md : mountsAndDevices) {
          freeze.freeze(md[0], ctx.cancellation());
        }
      }
      snapshotsRequestedFor = ctx.backupId().value();
      CreateSnapshotsResponse resp;
      try {
        resp = ec2().createSnapshots(r -> r.instanceSpecification(spec())
            .description("bbdiy backup " + ctx.backupId() + " of " + context.instance().name())
            .tagSpecifications(TagSpecification.builder().resourceType(ResourceType.SNAPSHOT)
                .tags(tags(ctx.backupId().value())).build()));
      } catch (SdkException e) {
        // Thrown inside the guard, so that a failed thaw is reported with it (suppressed).
        throw AwsSupport.failure(PROVIDER, "starting the snapshots", "ec2:CreateSnapshots and ec2:CreateTags", e);
      }
      for (SnapshotInfo info : resp.snapshots()) {
        created.add(info.snapshotId());
        byVolume.put(info.volumeId(), info.snapshotId());
      }
    }
    for (String volume : volumeByDevice.values()) {
      if (!byVolume.containsKey(volume)) {
        throw BbdiyException.provider(PROVIDER, "EC2 started no snapshot of " + volume, null);
      }
    }
    ctx.progress().message("started " + byVolume.size() + " snapshots: " + byVolume.values());
    return new Started(byVolume);
  }

  private List<Tag> tags(String backupId) {
    return AwsSupport.backupTags(backupId, context.instance().name(), s).entrySet().stream()
        .map(e -> Tag.builder().key(e.getKey()).value(e.getValue()).build()).toList();
  }

  @Override
  public Artifact complete(RunContext ctx, CaptureHandle handle) {
    Started started = (Started) handle;
    Map<String, String> props = new LinkedHashMap<>();
    InstanceIdentity id = identity();
    props.put("region", id.region());
    props.put("availability-zone", id.availabilityZone());
    props.put("instance-id", id.instanceId());
    List<String> snapshots = new ArrayList<>();
    int n = 0;
    try {
      for (String[] md : mountsAndDevices) {
        String volume = volumeByDevice.get(md[1]);
        String snapshot = started.snapshotByVolume().get(volume);
        ec2().createTags(r -> r.resources(snapshot).tags(Tag.builder().key("Device").value(md[1]).build(),
            Tag.builder().key("Mount").value(md[0]).build()));
        props.put("snapshot." + n, snapshot);
        props.put("volume." + n, volume);
        props.put("device." + n, md[1]);
        props.put("mount." + n, md[0]);
        snapshots.add(snapshot);
        n++;
      }
      props.put("count", Integer.toString(n));
      awaitSnapshots(ec2(), snapshots, ctx.progress(), ctx.cancellation());
      copies(snapshots, props, ctx);
    } catch (SdkException e) {
      throw AwsSupport.failure(PROVIDER, "completing the snapshots " + snapshots, "ec2:DescribeSnapshots,"
          + " ec2:CreateTags, ec2:CopySnapshot", e);
    }
    return new Artifact(PROVIDER, Artifact.Kind.HOME, List.of(), props);
  }

  private void awaitSnapshots(Ec2Client client, List<String> ids, ProgressReporter progress,
      CancellationSignal cancellation) {
    Instant deadline = Instant.now().plus(s.duration(AwsSupport.WAIT_TIMEOUT));
    Duration poll = s.duration(EbsProvider.POLL_INTERVAL);
    while (true) {
      List<Snapshot> states = client.describeSnapshots(r -> r.snapshotIds(ids)).snapshots();
      int completed = 0;
      int percent = 0;
      for (Snapshot snap : states) {
        if (snap.state() == SnapshotState.ERROR) {
          throw BbdiyException.provider(PROVIDER, "snapshot " + snap.snapshotId() + " failed: "
              + snap.stateMessage(), null);
        }
        if (snap.state() == SnapshotState.COMPLETED) {
          completed++;
        }
        percent += parsePercent(snap.progress());
      }
      progress.progress("EBS snapshots " + completed + "/" + ids.size() + " complete", percent / Math.max(1,
          ids.size()), 100, "percent");
      if (completed == ids.size()) {
        return;
      }
      if (Instant.now().isAfter(deadline)) {
        throw BbdiyException.provider(PROVIDER, "the snapshots " + ids + " did not complete within "
            + s.duration(AwsSupport.WAIT_TIMEOUT) + " (amazon-ebs.wait-timeout)", null);
      }
      sleep(poll, cancellation);
    }
  }

  private static int parsePercent(@Nullable String progress) {
    if (progress == null) {
      return 0;
    }
    try {
      return Integer.parseInt(progress.replace("%", "").trim());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  static void sleep(Duration d, CancellationSignal cancellation) {
    long end = System.nanoTime() + d.toNanos();
    while (System.nanoTime() < end) {
      cancellation.throwIfCancelled();
      try {
        Thread.sleep(Math.min(100, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BbdiyException(ErrorCode.INTERRUPTED, "interrupted while waiting for AWS");
      }
    }
  }

  /** Copies the snapshots to another region and/or account, as Atlassian's aws-snapshots archive type does. */
  private void copies(List<String> snapshots, Map<String, String> props, RunContext ctx) {
    Optional<String> region = s.optional(AwsSupport.COPY_REGION);
    Optional<String> account = s.optional(AwsSupport.COPY_ACCOUNT);
    if (region.isEmpty() && account.isEmpty()) {
      return;
    }
    String sourceRegion = identity().region();
    Region target = Region.of(region.orElse(sourceRegion));
    Ec2Client dest;
    if (account.isPresent()) {
      String role = s.optional(AwsSupport.COPY_ROLE).orElseThrow(() -> BbdiyException.configuration(
          "amazon-ebs.copy-account needs amazon-ebs.copy-role, the role to assume in that account"));
      for (String snap : snapshots) {
        ec2().modifySnapshotAttribute(r -> r.snapshotId(snap).attribute("createVolumePermission")
            .createVolumePermission(p -> p.add(c -> c.userId(account.get()))));
      }
      dest = client(target, AwsSupport.assumed(role, target, s));
    } else {
      dest = client(target, null);
    }
    List<String> copies = new ArrayList<>();
    for (int i = 0; i < snapshots.size(); i++) {
      String source = snapshots.get(i);
      String copy = dest.copySnapshot(r -> {
        r.sourceRegion(sourceRegion).sourceSnapshotId(source).description("bbdiy copy of " + source)
            .tagSpecifications(TagSpecification.builder().resourceType(ResourceType.SNAPSHOT)
                .tags(tags(ctx.backupId().value())).build());
        s.optional(AwsSupport.COPY_KMS_KEY).ifPresent(k -> r.encrypted(true).kmsKeyId(k));
      }).snapshotId();
      createdCopies.add(new String[] {target.id(), copy});
      copies.add(copy);
      props.put("copy." + i + ".snapshot", copy);
      props.put("copy." + i + ".region", target.id());
      account.ifPresent(a -> props.put("copy.account", a));
    }
    awaitSnapshots(dest, copies, ctx.progress(), ctx.cancellation());
  }

  @Override
  public void abort(RunContext ctx, @Nullable CaptureHandle capture) {
    Set<String> ours = new LinkedHashSet<>(created);
    String backup = snapshotsRequestedFor;
    if (backup != null) {
      // A CreateSnapshots whose answer was lost (a timeout) still made snapshots: they carry this backup's tags.
      try {
        ec2().describeSnapshotsPaginator(r -> r.ownerIds("self").filters(
                Filter.builder().name("tag:" + AwsSupport.TAG_BACKUP).values(backup).build(),
                Filter.builder().name("tag:" + AwsSupport.TAG_INSTANCE).values(context.instance().name()).build()))
            .snapshots().forEach(snap -> ours.add(snap.snapshotId()));
      } catch (SdkException e) {
        ctx.progress().warning("could not look up the snapshots tagged " + AwsSupport.TAG_BACKUP + "=" + backup
            + " (" + e.getMessage() + "); delete any left by hand");
      }
    }
    for (String id : ours) {
      deleteSnapshot(ec2(), id, ctx.progress());
    }
    for (String[] copy : List.copyOf(createdCopies)) {
      deleteSnapshot(copyClient(copy[0]), copy[1], ctx.progress());
    }
  }

  private Ec2Client copyClient(String region) {
    Optional<String> role = s.optional(AwsSupport.COPY_ROLE);
    return client(Region.of(region), s.optional(AwsSupport.COPY_ACCOUNT).isPresent() && role.isPresent()
        ? AwsSupport.assumed(role.get(), Region.of(region), s) : null);
  }

  private static void deleteSnapshot(Ec2Client client, String id, ProgressReporter progress) {
    try {
      client.deleteSnapshot(r -> r.snapshotId(id));
      progress.message("deleted snapshot " + id);
    } catch (SdkException e) {
      if (!"InvalidSnapshot.NotFound".equals(AwsSupport.code(e))) {
        throw AwsSupport.failure(PROVIDER, "deleting snapshot " + id, "ec2:DeleteSnapshot", e);
      }
    }
  }

  @Override
  public void deleteArtifact(Artifact artifact, RunContext ctx) {
    int count = Integer.parseInt(String.valueOf(artifact.properties().getOrDefault("count", "0")));
    Ec2Client source = client(Region.of(String.valueOf(artifact.property("region"))), null);
    for (int i = 0; i < count; i++) {
      deleteSnapshot(source, String.valueOf(artifact.property("snapshot." + i)), ctx.progress());
      String copy = artifact.property("copy." + i + ".snapshot");
      if (copy != null) {
        deleteSnapshot(copyClient(String.valueOf(artifact.property("copy." + i + ".region"))), copy, ctx.progress());
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Restore

  @Override
  public void preflightRestore(RestoreContext ctx) {
    List<String> ids = snapshotsOf(ctx.artifact());
    try {
      for (Snapshot snap : ec2().describeSnapshots(r -> r.snapshotIds(ids)).snapshots()) {
        if (snap.state() != SnapshotState.COMPLETED) {
          throw BbdiyException.refused("Snapshot " + snap.snapshotId() + " is " + snap.stateAsString()
              + ", not completed");
        }
      }
    } catch (SdkException e) {
      throw AwsSupport.failure(PROVIDER, "looking up the snapshots " + ids, "ec2:DescribeSnapshots", e);
    }
  }

  private static List<String> snapshotsOf(Artifact a) {
    int count = Integer.parseInt(String.valueOf(a.properties().getOrDefault("count", "0")));
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ids.add(String.valueOf(a.property("snapshot." + i)));
    }
    return ids;
  }

  /**
   * Creates a volume from each snapshot in this instance's zone, then one device at a time: unmounts the file
   * system, detaches the current volume (kept, not deleted), attaches the new one, mounts it and removes stale
   * git lock files. If a step fails, the original volume is put back.
   */
  @Override
  public RestoreOutcome restore(RestoreContext ctx) {
    Artifact a = ctx.artifact();
    InstanceIdentity id = identity();
    int count = Integer.parseInt(String.valueOf(a.properties().getOrDefault("count", "0")));
    List<String> newVolumes = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        String snapshot = String.valueOf(a.property("snapshot." + i));
        CreateVolumeRequest.Builder req = CreateVolumeRequest.builder().snapshotId(snapshot)
            .availabilityZone(id.availabilityZone()).volumeType(VolumeType.fromValue(
                s.string(EbsProvider.RESTORE_VOLUME_TYPE)))
            .tagSpecifications(TagSpecification.builder().resourceType(ResourceType.VOLUME).tags(
                Tag.builder().key("Name").value(ctx.backupId() + "-restore").build(),
                Tag.builder().key(AwsSupport.TAG_BACKUP).value(ctx.backupId().value()).build()).build());
        s.optional(EbsProvider.RESTORE_IOPS).map(Integer::parseInt).ifPresent(req::iops);
        s.optional(EbsProvider.RESTORE_THROUGHPUT).map(Integer::parseInt).ifPresent(req::throughput);
        s.optional(EbsProvider.RESTORE_KMS_KEY).ifPresent(k -> req.encrypted(true).kmsKeyId(k));
        String volume = ec2().createVolume(req.build()).volumeId();
        newVolumes.add(volume);
        ctx.progress().message("created volume " + volume + " from " + snapshot);
      }
      for (String volume : newVolumes) {
        awaitVolume(volume, VolumeState.AVAILABLE, null, ctx.cancellation());
      }
      List<String> placed = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        swap(String.valueOf(a.property("device." + i)), String.valueOf(a.property("mount." + i)),
            newVolumes.get(i), ctx);
        placed.add(newVolumes.get(i) + " at " + a.property("mount." + i));
      }
      return RestoreOutcome.home("EBS volumes " + String.join(", ", placed) + " from " + snapshotsOf(a));
    } catch (SdkException e) {
      throw AwsSupport.failure(PROVIDER, "restoring volumes from " + snapshotsOf(a), "ec2:CreateVolume,"
          + " ec2:AttachVolume, ec2:DetachVolume, ec2:DescribeVolumes", e);
    }
  }

  private void swap(String device, String mount, String newVolume, RestoreContext ctx) {
    InstanceIdentity id = identity();
    List<Volume> current = ec2().describeVolumes(r -> r.filters(
        Filter.builder().name("attachment.instance-id").values(id.instanceId()).build(),
        Filter.builder().name("attachment.device").values(device).build())).volumes();
    String old = current.isEmpty() ? null : current.get(0).volumeId();
    boolean newAttached = false;
    try {
      if (old != null) {
        run(s.string(EbsProvider.UMOUNT_COMMAND), mount);
        ec2().detachVolume(r -> r.volumeId(old).instanceId(id.instanceId()).device(device));
        awaitVolume(old, VolumeState.AVAILABLE, null, ctx.cancellation());
        ctx.progress().message("detached " + old + " from " + device + " (kept; delete it once the restore is"
            + " accepted)");
      }
      ec2().attachVolume(r -> r.volumeId(newVolume).instanceId(id.instanceId()).device(device));
      newAttached = true;
      awaitVolume(newVolume, VolumeState.IN_USE, VolumeAttachmentState.ATTACHED, ctx.cancellation());
      run(s.string(EbsProvider.MOUNT_COMMAND), device, mount);
      int removed = GitLockFiles.removeStale(Path.of(mount), ctx.progress());
      ctx.progress().message("mounted " + newVolume + " on " + mount + "; removed " + removed
          + " stale git lock files");
    } catch (RuntimeException e) {
      putBack(device, mount, old, newVolume, newAttached, ctx, e);
      throw e;
    }
  }

  private void putBack(String device, String mount, @Nullable String old, String newVolume, boolean newAttached,
      RestoreContext ctx, RuntimeException cause) {
    InstanceIdentity id = identity();
    try {
      if (newAttached) {
        try {
          run(s.string(EbsProvider.UMOUNT_COMMAND), mount);
        } catch (RuntimeException ignored) {
          // it may not be mounted
        }
        ec2().detachVolume(r -> r.volumeId(newVolume).instanceId(id.instanceId()).device(device));
        awaitVolume(newVolume, VolumeState.AVAILABLE, null, ctx.cancellation());
      }
      if (old != null) {
        ec2().attachVolume(r -> r.volumeId(old).instanceId(id.instanceId()).device(device));
        awaitVolume(old, VolumeState.IN_USE, VolumeAttachmentState.ATTACHED, ctx.cancellation());
        run(s.string(EbsProvider.MOUNT_COMMAND), device, mount);
        ctx.progress().warning("the restore of " + device + " failed; the original volume " + old
            + " is attached and mounted again");
      }
    } catch (RuntimeException e) {
      cause.addSuppressed(e);
      ctx.progress().warning("putting " + old + " back on " + device + " failed too (" + e.getMessage()
          + "): attach it by hand");
    }
  }

  private void awaitVolume(String volume, VolumeState state, @Nullable VolumeAttachmentState attachment,
      CancellationSignal cancellation) {
    Instant deadline = Instant.now().plus(s.duration(AwsSupport.WAIT_TIMEOUT));
    while (true) {
      Volume v = ec2().describeVolumes(r -> r.volumeIds(volume)).volumes().get(0);
      boolean attachedOk = attachment == null || v.attachments().stream().anyMatch(a -> a.state() == attachment);
      if (v.state() == state && attachedOk) {
        return;
      }
      if (v.state() == VolumeState.ERROR) {
        throw BbdiyException.provider(PROVIDER, "volume " + volume + " is in error", null);
      }
      if (Instant.now().isAfter(deadline)) {
        throw BbdiyException.provider(PROVIDER, "volume " + volume + " did not become " + state + " in time", null);
      }
      sleep(s.duration(EbsProvider.POLL_INTERVAL), cancellation);
    }
  }

  private static void run(String program, String... args) {
    List<String> cmd = new ArrayList<>(List.of(program));
    cmd.addAll(List.of(args));
    ChildProcess.builder(cmd).build().run().orThrow(PROVIDER, String.join(" ", cmd));
  }
}
