package dev.bbdiy.api.spi;

/** Creates {@link HomeSnapshotter}s. Register in {@code META-INF/services/dev.bbdiy.api.spi.HomeSnapshotterProvider}. */
public interface HomeSnapshotterProvider extends Provider {
  /**
   * Creates a snapshotter for one run. Must not do I/O beyond reading configuration: checks belong in {@link
   * BackupSource#preflight}.
   *
   * @throws dev.bbdiy.api.BbdiyException with {@link dev.bbdiy.api.ErrorCode#CONFIGURATION} for invalid settings
   */
  HomeSnapshotter create(ProviderContext context);
}
