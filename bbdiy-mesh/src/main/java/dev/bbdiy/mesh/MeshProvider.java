package dev.bbdiy.mesh;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import dev.bbdiy.mesh.internal.MeshConfig;
import dev.bbdiy.mesh.internal.MeshSnapshotter;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code mesh} home provider: the shared home of a Data Center node (through its own home provider, {@code
 * copy} by default) and the home of every Bitbucket Mesh node in {@code mesh.nodes}, captured in the same lock
 * window. Each node runs {@code bbdiy node} over one OpenSSH session kept open for the whole run; after the
 * unlock each node's part is copied into {@code mesh/<node>/} of this backup, so one manifest covers the
 * instance.
 */
public final class MeshProvider implements HomeSnapshotterProvider {
  /** The provider's name. */
  public static final String NAME = "mesh";

  public static final Setting NODES = Setting.of("nodes", SettingType.STRING,
      "The Mesh nodes, comma-separated: <name>=<user>@<host>[:<port>]:<mesh home>[:<provider>], e.g."
          + " mesh1=bbdiy@mesh1.example.com:/var/atlassian/application-data/mesh:copy").asRequired();
  public static final Setting HOME_PROVIDER = Setting.of("home-provider", SettingType.STRING,
      "The home provider of this node's shared home (default copy).").withDefault("copy");
  public static final Setting HOME_OPTIONS = Setting.of("home-options", SettingType.LIST,
      "Settings of the shared home's provider and of each node's, as key=value without the provider's prefix"
          + " (e.g. journal=false).").withDefault("");
  public static final Setting SSH = Setting.of("ssh", SettingType.STRING,
      "The OpenSSH client (default ssh). BatchMode and StrictHostKeyChecking are always on.").withDefault("ssh");
  public static final Setting SSH_OPTIONS = Setting.of("ssh-options", SettingType.STRING,
      "Extra ssh arguments, separated by blanks (e.g. -i /etc/bbdiy/mesh_key -o UserKnownHostsFile=/etc/bbdiy/"
          + "known_hosts). Options that weaken host key checking are refused.").withDefault("");
  public static final Setting NODE_COMMAND = Setting.of("node-command", SettingType.STRING,
      "The command ssh runs on each node (default 'bbdiy node').").withDefault("bbdiy node");
  public static final Setting NODE_WORK_DIR = Setting.of("node-work-dir", SettingType.STRING,
      "Where each node keeps its working copy, <dir>/<node name> (default /var/lib/bbdiy/mesh).")
      .withDefault("/var/lib/bbdiy/mesh");
  public static final Setting CONNECT_TIMEOUT = Setting.of("connect-timeout", SettingType.DURATION,
      "How long connecting to a node and its hello may take (default 30s).").withDefault("30s")
      .withRange("1s", "10m");
  public static final Setting CAPTURE_TIMEOUT = Setting.of("capture-timeout", SettingType.DURATION,
      "How long a node's capture may take while Bitbucket is locked (default 60s); past it the run aborts.")
      .withDefault("60s").withRange("1s", "1h");
  public static final Setting TIMEOUT = Setting.of("timeout", SettingType.DURATION,
      "How long any other call to a node may take: preflight, prepare, complete and its transfer, abort,"
          + " restore (default 2h).").withDefault("2h").withRange("1s", "7d");

  public static final Setting RESTORE_NODES = Setting.of("restore-nodes", SettingType.LIST,
      "The Mesh nodes a restore pushes to (default: every node of the backup), e.g. mesh2 to restore one node;"
          + " with --target-home elsewhere to leave the shared home alone.").withDefault("");

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String description() {
    return "A Data Center home plus every Bitbucket Mesh node's home (over OpenSSH), in one lock window";
  }

  @Override
  public List<Setting> settings() {
    return List.of(NODES, HOME_PROVIDER, HOME_OPTIONS, SSH, SSH_OPTIONS, NODE_COMMAND, NODE_WORK_DIR,
        CONNECT_TIMEOUT, CAPTURE_TIMEOUT, TIMEOUT, RESTORE_NODES);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.FILE_OUTPUT);
  }

  @Override
  public HomeSnapshotter create(ProviderContext context) {
    MeshConfig config = MeshConfig.from(context.settings());
    HomeSnapshotterProvider inner = find(config.homeProvider());
    return new MeshSnapshotter(context, config, inner);
  }

  /** Finds a home provider on this class path by name, refusing {@code mesh} itself. */
  static HomeSnapshotterProvider find(String name) {
    if (name.equals(NAME)) {
      throw BbdiyException.configuration("mesh.home-provider cannot be mesh: name the provider of the shared home,"
          + " such as copy or rsync");
    }
    Set<String> names = new TreeSet<>();
    for (HomeSnapshotterProvider p : ServiceLoader.load(HomeSnapshotterProvider.class,
        MeshProvider.class.getClassLoader())) {
      if (p.name().equals(name)) {
        return p;
      }
      names.add(p.name());
    }
    names.remove(NAME);
    throw BbdiyException.configuration("mesh.home-provider names '" + name + "', which is not installed; the home"
        + " providers are " + String.join(", ", names));
  }
}
