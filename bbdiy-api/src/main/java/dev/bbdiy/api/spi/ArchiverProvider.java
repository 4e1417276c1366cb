package dev.bbdiy.api.spi;

/** Creates {@link Archiver}s. Register in {@code META-INF/services/dev.bbdiy.api.spi.ArchiverProvider}. */
public interface ArchiverProvider extends Provider {
  /**
   * Creates an archiver. Must not do I/O beyond reading configuration.
   *
   * @throws dev.bbdiy.api.BbdiyException with {@link dev.bbdiy.api.ErrorCode#CONFIGURATION} for invalid settings
   */
  Archiver create(ProviderContext context);
}
