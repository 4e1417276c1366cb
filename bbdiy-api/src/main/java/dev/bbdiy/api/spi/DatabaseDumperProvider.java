package dev.bbdiy.api.spi;

/** Creates {@link DatabaseDumper}s. Register in {@code META-INF/services/dev.bbdiy.api.spi.DatabaseDumperProvider}. */
public interface DatabaseDumperProvider extends Provider {
  /**
   * Creates a dumper for one run. Must not do I/O beyond reading configuration: checks belong in {@link
   * BackupSource#preflight}.
   *
   * @throws dev.bbdiy.api.BbdiyException with {@link dev.bbdiy.api.ErrorCode#CONFIGURATION} for invalid settings
   */
  DatabaseDumper create(ProviderContext context);
}
