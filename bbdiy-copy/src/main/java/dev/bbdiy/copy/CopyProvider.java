package dev.bbdiy.copy;

import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import java.util.List;
import java.util.Set;

/**
 * The {@code copy} home snapshotter: rsync's semantics in pure Java, so bbdiy works where rsync is not installed.
 * The default home provider.
 */
public final class CopyProvider implements HomeSnapshotterProvider {
  public static final Setting THREADS = Setting.of("threads", SettingType.INTEGER,
      "Parallel copy workers; 0 (default) uses four per core.").withDefault("0").withRange("0", "1024");
  public static final Setting JOURNAL = Setting.of("journal", SettingType.BOOLEAN,
      "Watch the trees for changes during the live pass (inotify), so that the pass while Bitbucket is locked"
          + " copies only what changed (default true). Where changes cannot be trusted (NFS, CIFS, the watch"
          + " limit) the locked pass compares everything and says so.").withDefault("true");

  @Override
  public String name() {
    return "copy";
  }

  @Override
  public String description() {
    return "Incremental mirror of the home and data stores in pure Java (rsync semantics, no rsync needed)";
  }

  @Override
  public List<Setting> settings() {
    return List.of(THREADS, JOURNAL);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.FILE_OUTPUT);
  }

  @Override
  public HomeSnapshotter create(ProviderContext context) {
    int threads = context.settings().integer(THREADS);
    if (threads <= 0) {
      threads = Math.max(4, Runtime.getRuntime().availableProcessors() * 4);
    }
    return new CopySnapshotter(context, threads, context.settings().bool(JOURNAL));
  }
}
