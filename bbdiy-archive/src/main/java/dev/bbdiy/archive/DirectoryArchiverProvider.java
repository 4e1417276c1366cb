package dev.bbdiy.archive;

import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.ArchiverProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import java.util.List;

/** The {@code directory} archiver: each backup a plain directory with its manifest. */
public final class DirectoryArchiverProvider implements ArchiverProvider {
  public static final Setting DIR = Setting.of("dir", SettingType.PATH,
      "Directory the backups are stored in, one directory each.").asRequired();

  @Override
  public String name() {
    return "directory";
  }

  @Override
  public String description() {
    return "Plain directories in the backup layout with a SHA-256 manifest (no compression)";
  }

  @Override
  public List<Setting> settings() {
    return List.of(DIR);
  }

  @Override
  public java.util.Set<dev.bbdiy.api.spi.Capability> capabilities() {
    return java.util.Set.of(dev.bbdiy.api.spi.Capability.READS_CONTENT_SOURCES);
  }

  @Override
  public Archiver create(ProviderContext context) {
    return new DirectoryArchiver(context.settings().path(DIR), context.workDir().resolve(".bbdiy").resolve("tmp"));
  }
}
