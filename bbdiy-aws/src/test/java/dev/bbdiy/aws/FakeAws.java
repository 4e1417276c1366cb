package dev.bbdiy.aws;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stateful fake of the parts of the EC2 and RDS Query APIs (and of IMDSv2) the providers use, served over HTTP
 * to the real SDK clients: snapshots go {@code pending → completed} and volumes {@code available → in-use} over
 * successive describes, throttling can be injected, and every action is recorded with its parameters.
 */
final class FakeAws implements AutoCloseable {
  static final String INSTANCE = "i-0a1b2c3d4e5f";
  static final String ZONE = "us-east-1a";

  /** One recorded call. */
  record Call(String action, Map<String, String> params, Instant at, String accessKey) {
    String param(String key) {
      return params.get(key);
    }
  }

  final List<Call> calls = Collections.synchronizedList(new ArrayList<>());
  final Map<String, Integer> throttle = new ConcurrentHashMap<>();
  final Map<String, String> failWith = new ConcurrentHashMap<>();
  /** How many more times the failure in {@link #failWith} applies; absent means every time. */
  final Map<String, Integer> failTimes = new ConcurrentHashMap<>();
  private final HttpServer server;
  private final AtomicInteger ids = new AtomicInteger(100);
  private int describesUntilDone = 2;

  // EC2 state
  final Map<String, Map<String, String>> volumes = new LinkedHashMap<>();
  final Map<String, Map<String, String>> snapshots = new LinkedHashMap<>();
  // RDS state
  final Map<String, Map<String, String>> dbInstances = new LinkedHashMap<>();
  final Map<String, Map<String, String>> dbClusters = new LinkedHashMap<>();
  final Map<String, Map<String, String>> dbSnapshots = new LinkedHashMap<>();
  int imdsV1Attempts;

  FakeAws() throws IOException {
    volume("vol-root", "/dev/xvda");
    volume("vol-home", "/dev/xvdf");
    volume("vol-store", "/dev/xvdg");
    volume("vol-other", "/dev/xvdh");
    Map<String, String> db = new LinkedHashMap<>();
    db.put("status", "available");
    db.put("class", "db.r6g.large");
    db.put("engine", "postgres");
    dbInstances.put("bitbucket-db", db);
    Map<String, String> cluster = new LinkedHashMap<>();
    cluster.put("status", "available");
    cluster.put("engine", "aurora-postgresql");
    dbClusters.put("bitbucket-aurora", cluster);
    Map<String, String> member = new LinkedHashMap<>(db);
    member.put("engine", "aurora-postgresql");
    dbInstances.put("bitbucket-aurora-1", member);
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    server.setExecutor(Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "fake-aws");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/", this::handle);
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Snapshots and volumes need this many describes to finish. */
  FakeAws describesUntilDone(int n) {
    this.describesUntilDone = n;
    return this;
  }

  List<String> actions() {
    synchronized (calls) {
      return calls.stream().map(Call::action).toList();
    }
  }

  List<Call> calls(String action) {
    synchronized (calls) {
      return calls.stream().filter(c -> c.action().equals(action)).toList();
    }
  }

  private void volume(String id, String device) {
    Map<String, String> v = new LinkedHashMap<>();
    v.put("state", "in-use");
    v.put("device", device);
    v.put("instance", INSTANCE);
    v.put("attachment", "attached");
    volumes.put(id, v);
  }

  @Override
  public void close() {
    server.stop(0);
  }

  // ---------------------------------------------------------------------------------------------------------

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      if (path.startsWith("/latest/")) {
        imds(ex, path);
        return;
      }
      Map<String, String> p = form(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      String action = p.getOrDefault("Action", "");
      calls.add(new Call(action, p, Instant.now(), accessKey(ex)));
      if ("2011-06-15".equals(p.get("Version")) && action.equals("AssumeRole")) {
        assumeRole(ex, p);
        return;
      }
      boolean rds = "2014-10-31".equals(p.get("Version"));
      Integer t = throttle.get(action);
      if (t != null && t > 0) {
        throttle.put(action, t - 1);
        error(ex, rds, rds ? 400 : 503, rds ? "Throttling" : "RequestLimitExceeded", "Rate exceeded");
        return;
      }
      String forced = failWith.get(action);
      boolean dryRun = "true".equals(p.get("DryRun"));
      // A dry run only checks permissions, so only authorization failures show up there.
      if (forced != null && (!dryRun || forced.startsWith("Unauthorized"))) {
        Integer left = failTimes.computeIfPresent(action, (k, n) -> n - 1);
        if (left != null && left <= 0) {
          failWith.remove(action);
          failTimes.remove(action);
        }
        error(ex, rds, 400, forced, "injected failure");
        return;
      }
      synchronized (this) {
        if (rds) {
          rds(ex, action, p);
        } else {
          ec2(ex, action, p);
        }
      }
    }
  }

  private void imds(HttpExchange ex, String path) throws IOException {
    if (path.equals("/latest/api/token") && ex.getRequestMethod().equals("PUT")) {
      ex.getResponseHeaders().add("x-aws-ec2-metadata-token-ttl-seconds", "21600");
      respond(ex, 200, "text/plain", "fake-imds-token");
      return;
    }
    if (!"fake-imds-token".equals(ex.getRequestHeaders().getFirst("X-aws-ec2-metadata-token"))) {
      imdsV1Attempts++;
      respond(ex, 401, "text/plain", "");
      return;
    }
    switch (path) {
      case "/latest/meta-data/instance-id" -> respond(ex, 200, "text/plain", INSTANCE);
      case "/latest/meta-data/placement/availability-zone" -> respond(ex, 200, "text/plain", ZONE);
      case "/latest/meta-data/placement/region" -> respond(ex, 200, "text/plain", "us-east-1");
      default -> respond(ex, 404, "text/plain", "");
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // EC2

  private void ec2(HttpExchange ex, String action, Map<String, String> p) throws IOException {
    if ("true".equals(p.get("DryRun"))) {
      error(ex, false, 412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.");
      return;
    }
    StringBuilder b = new StringBuilder();
    switch (action) {
      case "DescribeInstances" -> b.append("<reservationSet><item><reservationId>r-1</reservationId><instancesSet>"
          + "<item><instanceId>").append(INSTANCE).append("</instanceId><rootDeviceName>/dev/xvda</rootDeviceName>"
          + "</item></instancesSet></item></reservationSet>");
      case "DescribeVolumes" -> {
        b.append("<volumeSet>");
        List<String> wanted = list(p, "VolumeId");
        for (Map.Entry<String, Map<String, String>> e : volumes.entrySet()) {
          Map<String, String> v = e.getValue();
          if (!wanted.isEmpty() && !wanted.contains(e.getKey())) {
            continue;
          }
          if (!matchesFilters(p, v)) {
            continue;
          }
          progress(v);
          b.append("<item><volumeId>").append(e.getKey()).append("</volumeId><size>100</size><availabilityZone>")
              .append(ZONE).append("</availabilityZone><status>").append(v.get("state")).append("</status>");
          if (v.get("instance") != null) {
            b.append("<attachmentSet><item><volumeId>").append(e.getKey()).append("</volumeId><instanceId>")
                .append(v.get("instance")).append("</instanceId><device>").append(v.get("device"))
                .append("</device><status>").append(v.get("attachment")).append("</status></item></attachmentSet>");
          } else {
            b.append("<attachmentSet/>");
          }
          b.append("</item>");
        }
        b.append("</volumeSet>");
      }
      case "CreateSnapshots" -> {
        String instance = p.get("InstanceSpecification.InstanceId");
        boolean excludeBoot = "true".equals(p.get("InstanceSpecification.ExcludeBootVolume"));
        List<String> excluded = list(p, "InstanceSpecification.ExcludeDataVolumeId");
        b.append("<snapshotSet>");
        for (Map.Entry<String, Map<String, String>> e : volumes.entrySet()) {
          Map<String, String> v = e.getValue();
          if (!instance.equals(v.get("instance")) || excluded.contains(e.getKey())
              || excludeBoot && "/dev/xvda".equals(v.get("device"))) {
            continue;
          }
          String id = "snap-" + ids.incrementAndGet();
          Map<String, String> s = new LinkedHashMap<>();
          s.put("volume", e.getKey());
          s.put("state", "pending");
          s.put("tags", tags(p, "TagSpecification.1.Tag"));
          snapshots.put(id, s);
          b.append("<item><snapshotId>").append(id).append("</snapshotId><volumeId>").append(e.getKey())
              .append("</volumeId><state>pending</state><progress>0%</progress><startTime>").append(Instant.now())
              .append("</startTime></item>");
        }
        b.append("</snapshotSet>");
      }
      case "CreateTags", "ModifySnapshotAttribute" -> b.append("<return>true</return>");
      case "DescribeSnapshots" -> {
        b.append("<snapshotSet>");
        List<String> ids = list(p, "SnapshotId");
        if (ids.isEmpty()) { // by tag filters, as "tag:<key>" = value
          ids = snapshots.entrySet().stream().filter(e -> matchesTags(p, e.getValue().get("tags")))
              .map(Map.Entry::getKey).toList();
        }
        for (String id : ids) {
          Map<String, String> s = snapshots.get(id);
          if (s == null) {
            error(ex, false, 400, "InvalidSnapshot.NotFound", "The snapshot '" + id + "' does not exist.");
            return;
          }
          progress(s);
          b.append("<item><snapshotId>").append(id).append("</snapshotId><volumeId>").append(s.get("volume"))
              .append("</volumeId><status>").append(s.get("state")).append("</status><progress>")
              .append(s.get("state").equals("completed") ? "100%" : "50%").append("</progress></item>");
        }
        b.append("</snapshotSet>");
      }
      case "DeleteSnapshot" -> {
        if (snapshots.remove(p.get("SnapshotId")) == null) {
          error(ex, false, 400, "InvalidSnapshot.NotFound", "The snapshot does not exist.");
          return;
        }
        b.append("<return>true</return>");
      }
      case "CopySnapshot" -> {
        String id = "snap-" + ids.incrementAndGet();
        Map<String, String> s = new LinkedHashMap<>();
        s.put("volume", "copy-of-" + p.get("SourceSnapshotId"));
        s.put("state", "pending");
        s.put("source", p.get("SourceSnapshotId"));
        snapshots.put(id, s);
        b.append("<snapshotId>").append(id).append("</snapshotId>");
      }
      case "CreateVolume" -> {
        String id = "vol-" + ids.incrementAndGet();
        Map<String, String> v = new LinkedHashMap<>();
        v.put("state", "creating");
        v.put("snapshot", p.get("SnapshotId"));
        v.put("type", p.get("VolumeType"));
        volumes.put(id, v);
        b.append("<volumeId>").append(id).append("</volumeId><availabilityZone>").append(ZONE)
            .append("</availabilityZone><status>creating</status><snapshotId>").append(p.get("SnapshotId"))
            .append("</snapshotId>");
      }
      case "DetachVolume", "AttachVolume" -> {
        Map<String, String> v = volumes.get(p.get("VolumeId"));
        boolean attach = action.equals("AttachVolume");
        if (attach) {
          v.put("instance", p.get("InstanceId"));
          v.put("device", p.get("Device"));
          v.put("state", "attaching");
          v.put("attachment", "attaching");
        } else {
          v.put("state", "detaching");
        }
        v.put("countdown", Integer.toString(describesUntilDone));
        b.append("<volumeId>").append(p.get("VolumeId")).append("</volumeId><instanceId>").append(p.get("InstanceId"))
            .append("</instanceId><device>").append(p.get("Device")).append("</device><status>")
            .append(attach ? "attaching" : "detaching").append("</status>");
      }
      default -> {
        error(ex, false, 400, "InvalidAction", "The fake does not implement " + action);
        return;
      }
    }
    respond(ex, 200, "text/xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><" + action
        + "Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>req-1</requestId>" + b + "</"
        + action + "Response>");
  }

  /** Moves a snapshot or volume one step towards done on each describe. */
  private void progress(Map<String, String> thing) {
    String state = thing.get("state");
    if (!state.equals("pending") && !state.equals("creating") && !state.equals("attaching")
        && !state.equals("detaching")) {
      return;
    }
    int left = Integer.parseInt(thing.getOrDefault("countdown", Integer.toString(describesUntilDone))) - 1;
    if (left > 0) {
      thing.put("countdown", Integer.toString(left));
      return;
    }
    thing.remove("countdown");
    switch (state) {
      case "pending" -> thing.put("state", "completed");
      case "creating" -> thing.put("state", "available");
      case "attaching" -> {
        thing.put("state", "in-use");
        thing.put("attachment", "attached");
      }
      default -> {
        thing.put("state", "available");
        thing.remove("instance");
        thing.remove("device");
        thing.remove("attachment");
      }
    }
  }

  private static boolean matchesTags(Map<String, String> p, String tags) {
    for (int i = 1; p.containsKey("Filter." + i + ".Name"); i++) {
      String name = p.get("Filter." + i + ".Name");
      if (name.startsWith("tag:") && !(";" + tags).contains(";" + name.substring(4) + "="
          + p.get("Filter." + i + ".Value.1") + ";")) {
        return false;
      }
    }
    return true;
  }

  private static boolean matchesFilters(Map<String, String> p, Map<String, String> v) {
    for (int i = 1; p.containsKey("Filter." + i + ".Name"); i++) {
      String name = p.get("Filter." + i + ".Name");
      String value = p.get("Filter." + i + ".Value.1");
      String actual = switch (name) {
        case "attachment.instance-id" -> v.get("instance");
        case "attachment.device" -> v.get("device");
        default -> null;
      };
      if (!value.equals(actual)) {
        return false;
      }
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------------------
  // RDS

  private void rds(HttpExchange ex, String action, Map<String, String> p) throws IOException {
    StringBuilder b = new StringBuilder();
    switch (action) {
      case "DescribeDBInstances" -> {
        String id = p.get("DBInstanceIdentifier");
        Map<String, String> db = dbInstances.get(id);
        if (db == null) {
          error(ex, true, 404, "DBInstanceNotFound", "DBInstance " + id + " not found.");
          return;
        }
        progressDb(db);
        b.append("<DBInstances><DBInstance><DBInstanceIdentifier>").append(id).append("</DBInstanceIdentifier>"
            + "<DBInstanceClass>").append(db.get("class")).append("</DBInstanceClass><Engine>").append(db.get("engine"))
            .append("</Engine><DBInstanceStatus>").append(db.get("status")).append("</DBInstanceStatus><MultiAZ>false"
                + "</MultiAZ><DBSubnetGroup><DBSubnetGroupName>bitbucket-subnets</DBSubnetGroupName></DBSubnetGroup>"
                + "<VpcSecurityGroups><VpcSecurityGroupMembership><VpcSecurityGroupId>sg-123</VpcSecurityGroupId>"
                + "<Status>active</Status></VpcSecurityGroupMembership></VpcSecurityGroups></DBInstance>"
                + "</DBInstances>");
      }
      case "DescribeDBClusters" -> {
        String id = p.get("DBClusterIdentifier");
        Map<String, String> c = dbClusters.get(id);
        if (c == null) {
          error(ex, true, 404, "DBClusterNotFoundFault", "DBCluster " + id + " not found.");
          return;
        }
        progressDb(c);
        b.append("<DBClusters><DBCluster><DBClusterIdentifier>").append(id).append("</DBClusterIdentifier><Status>")
            .append(c.get("status")).append("</Status><Engine>").append(c.get("engine")).append("</Engine>"
                + "<DBSubnetGroup>bitbucket-subnets</DBSubnetGroup><VpcSecurityGroups><VpcSecurityGroupMembership>"
                + "<VpcSecurityGroupId>sg-123</VpcSecurityGroupId><Status>active</Status>"
                + "</VpcSecurityGroupMembership></VpcSecurityGroups><DBClusterMembers><DBClusterMember>"
                + "<DBInstanceIdentifier>bitbucket-aurora-1</DBInstanceIdentifier></DBClusterMember>"
                + "</DBClusterMembers></DBCluster></DBClusters>");
      }
      case "CreateDBSnapshot", "CreateDBClusterSnapshot", "CopyDBSnapshot", "CopyDBClusterSnapshot" -> {
        boolean cluster = action.contains("Cluster");
        String id = action.startsWith("Copy")
            ? p.get(cluster ? "TargetDBClusterSnapshotIdentifier" : "TargetDBSnapshotIdentifier")
            : p.get(cluster ? "DBClusterSnapshotIdentifier" : "DBSnapshotIdentifier");
        if (dbSnapshots.containsKey(id)) {
          error(ex, true, 400, "DBSnapshotAlreadyExists", "exists");
          return;
        }
        Map<String, String> s = new LinkedHashMap<>();
        s.put("status", "creating");
        s.put("source", String.valueOf(p.get(cluster ? "DBClusterIdentifier" : "DBInstanceIdentifier")));
        s.put("tags", tags(p, "Tags.member"));
        Map<String, String> sourceDb = dbInstances.get(s.get("source"));
        if (sourceDb != null && sourceDb.containsKey("rows")) {
          s.put("rows", sourceDb.get("rows")); // the contract test's table, as at the snapshot
        }
        dbSnapshots.put(id, s);
        b.append(snapshotXml(cluster, id, s));
      }
      case "DescribeDBSnapshots", "DescribeDBClusterSnapshots" -> {
        boolean cluster = action.contains("Cluster");
        String id = p.get(cluster ? "DBClusterSnapshotIdentifier" : "DBSnapshotIdentifier");
        Map<String, String> s = dbSnapshots.get(id);
        if (s == null) {
          error(ex, true, 404, cluster ? "DBClusterSnapshotNotFoundFault" : "DBSnapshotNotFound", "not found");
          return;
        }
        progressDb(s);
        String tag = cluster ? "DBClusterSnapshot" : "DBSnapshot";
        b.append("<").append(tag).append("s>").append(snapshotXml(cluster, id, s)).append("</").append(tag).append("s>");
      }
      case "DeleteDBSnapshot", "DeleteDBClusterSnapshot" -> {
        boolean cluster = action.contains("Cluster");
        String id = p.get(cluster ? "DBClusterSnapshotIdentifier" : "DBSnapshotIdentifier");
        Map<String, String> s = dbSnapshots.get(id);
        if (s == null) {
          error(ex, true, 404, "DBSnapshotNotFound", "not found");
          return;
        }
        if (s.get("status").equals("creating")) {
          error(ex, true, 400, cluster ? "InvalidDBClusterSnapshotStateFault" : "InvalidDBSnapshotState",
              "Cannot delete the snapshot because it is not in available state.");
          return;
        }
        dbSnapshots.remove(id);
        b.append(snapshotXml(cluster, id, s));
      }
      case "ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute" -> b.append("");
      case "DeleteDBInstance", "DeleteDBCluster" -> {
        boolean cluster = action.contains("Cluster");
        String id = p.get(cluster ? "DBClusterIdentifier" : "DBInstanceIdentifier");
        if ((cluster ? dbClusters.remove(id) : dbInstances.remove(id)) == null) {
          error(ex, true, 404, cluster ? "DBClusterNotFoundFault" : "DBInstanceNotFound", "not found");
          return;
        }
        b.append("");
      }
      case "RestoreDBInstanceFromDBSnapshot", "CreateDBInstance" -> {
        String id = p.get("DBInstanceIdentifier");
        if (dbInstances.containsKey(id)) {
          error(ex, true, 400, "DBInstanceAlreadyExists", "DB instance already exists");
          return;
        }
        Map<String, String> db = new LinkedHashMap<>();
        Map<String, String> from = dbSnapshots.get(String.valueOf(p.get("DBSnapshotIdentifier")));
        if (from != null && from.containsKey("rows")) {
          db.put("rows", from.get("rows"));
        }
        db.put("status", "creating");
        db.put("class", String.valueOf(p.getOrDefault("DBInstanceClass", "db.r6g.large")));
        db.put("engine", String.valueOf(p.getOrDefault("Engine", "postgres")));
        db.put("snapshot", String.valueOf(p.get("DBSnapshotIdentifier")));
        dbInstances.put(id, db);
        b.append("<DBInstance><DBInstanceIdentifier>").append(id).append("</DBInstanceIdentifier><DBInstanceStatus>"
            + "creating</DBInstanceStatus></DBInstance>");
      }
      case "RestoreDBClusterFromSnapshot" -> {
        String id = p.get("DBClusterIdentifier");
        Map<String, String> c = new LinkedHashMap<>();
        c.put("status", "creating");
        c.put("engine", p.get("Engine"));
        dbClusters.put(id, c);
        b.append("<DBCluster><DBClusterIdentifier>").append(id).append("</DBClusterIdentifier><Status>creating"
            + "</Status></DBCluster>");
      }
      case "ModifyDBInstance" -> {
        String id = p.get("DBInstanceIdentifier");
        Map<String, String> db = dbInstances.remove(id);
        String newId = p.get("NewDBInstanceIdentifier");
        db.put("status", "renaming");
        dbInstances.put(newId, db);
        b.append("<DBInstance><DBInstanceIdentifier>").append(newId).append("</DBInstanceIdentifier></DBInstance>");
      }
      default -> {
        error(ex, true, 400, "InvalidAction", "The fake does not implement " + action);
        return;
      }
    }
    respond(ex, 200, "text/xml", "<" + action + "Response xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><"
        + action + "Result>" + b + "</" + action + "Result><ResponseMetadata><RequestId>req-1</RequestId>"
        + "</ResponseMetadata></" + action + "Response>");
  }

  private void progressDb(Map<String, String> thing) {
    String st = thing.get("status");
    if (!st.equals("creating") && !st.equals("renaming")) {
      return;
    }
    int left = Integer.parseInt(thing.getOrDefault("countdown", Integer.toString(describesUntilDone))) - 1;
    if (left > 0) {
      thing.put("countdown", Integer.toString(left));
      return;
    }
    thing.remove("countdown");
    thing.put("status", "available");
  }

  private static String snapshotXml(boolean cluster, String id, Map<String, String> s) {
    String tag = cluster ? "DBClusterSnapshot" : "DBSnapshot";
    String arn = "arn:aws:rds:us-east-1:123456789012:" + (cluster ? "cluster-snapshot:" : "snapshot:") + id;
    return "<" + tag + "><" + tag + "Identifier>" + id + "</" + tag + "Identifier><Status>" + s.get("status")
        + "</Status><PercentProgress>" + (s.get("status").equals("available") ? 100 : 40) + "</PercentProgress><"
        + tag + "Arn>" + arn + "</" + tag + "Arn></" + tag + ">";
  }

  // ---------------------------------------------------------------------------------------------------------

  /** The access key id a request was signed with (SigV4 {@code Credential=<key>/...}). */
  private static String accessKey(HttpExchange ex) {
    String auth = String.valueOf(ex.getRequestHeaders().getFirst("Authorization"));
    int at = auth.indexOf("Credential=");
    return at < 0 ? "" : auth.substring(at + "Credential=".length(), auth.indexOf('/', at));
  }

  /** STS: hands out credentials whose access key names the role, so tests can tell which calls used them. */
  private void assumeRole(HttpExchange ex, Map<String, String> p) throws IOException {
    String role = p.get("RoleArn");
    String account = role.split(":")[4];
    respond(ex, 200, "text/xml", "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        + "<AssumeRoleResult><Credentials><AccessKeyId>ASIA" + account + "</AccessKeyId>"
        + "<SecretAccessKey>assumed-secret</SecretAccessKey><SessionToken>assumed-token</SessionToken>"
        + "<Expiration>" + Instant.now().plusSeconds(3600) + "</Expiration></Credentials>"
        + "<AssumedRoleUser><Arn>" + role + "/" + p.get("RoleSessionName") + "</Arn>"
        + "<AssumedRoleId>AROA" + account + ":" + p.get("RoleSessionName") + "</AssumedRoleId></AssumedRoleUser>"
        + "</AssumeRoleResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>"
        + "</AssumeRoleResponse>");
  }

  private static void error(HttpExchange ex, boolean rds, int status, String code, String message) throws IOException {
    String body = rds
        ? "<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><Error><Type>Sender</Type><Code>" + code
            + "</Code><Message>" + message + "</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"
        : "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>" + code + "</Code><Message>"
            + message + "</Message></Error></Errors><RequestID>req-1</RequestID></Response>";
    respond(ex, status, "text/xml", body);
  }

  private static void respond(HttpExchange ex, int status, String type, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  private static Map<String, String> form(String body) {
    Map<String, String> out = new TreeMap<>();
    for (String pair : body.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      out.put(URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8),
          eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
    }
    return out;
  }

  private static List<String> list(Map<String, String> p, String prefix) {
    List<String> out = new ArrayList<>();
    for (int i = 1; p.containsKey(prefix + "." + i); i++) {
      out.add(p.get(prefix + "." + i));
    }
    return out;
  }

  private static String tags(Map<String, String> p, String prefix) {
    StringBuilder sb = new StringBuilder();
    for (int i = 1; p.containsKey(prefix + "." + i + ".Key"); i++) {
      sb.append(p.get(prefix + "." + i + ".Key")).append('=').append(p.get(prefix + "." + i + ".Value")).append(';');
    }
    return sb.toString();
  }
}
