package dev.bbdiy.archive;

import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.ArchiverProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import dev.bbdiy.api.spi.Settings;
import java.util.List;

/** The {@code tar} archiver: compressed tar files in a local directory. */
public final class TarArchiverProvider implements ArchiverProvider {
  public static final Setting DIR = Setting.of("dir", SettingType.PATH,
      "Directory the archives are stored in (Atlassian's BITBUCKET_BACKUP_ARCHIVE_ROOT).").asRequired()
      .fromVarsFile("BITBUCKET_BACKUP_ARCHIVE_ROOT");
  public static final Setting COMPRESSION = Setting.of("compression", SettingType.STRING,
      "zstd (default: fast, multi-threaded), gzip (.tar.gz, readable by Atlassian's restore script) or none.")
      .withDefault("zstd");
  public static final Setting LEVEL = Setting.of("level", SettingType.INTEGER,
      "Compression level; default 1 for zstd (as small as gzip on Bitbucket data, ten times faster; 3 or more for"
          + " text-heavy data such as large database dumps), 6 for gzip.").withRange("0", "22");
  public static final Setting THREADS = Setting.of("threads", SettingType.INTEGER,
      "Compression threads; 0 (default) uses every core.").withDefault("0").withRange("0", "256");

  @Override
  public String name() {
    return "tar";
  }

  @Override
  public String description() {
    return "Compressed tar archives (zstd or gzip) with a SHA-256 manifest, in a local directory";
  }

  @Override
  public List<Setting> settings() {
    List<Setting> all = new java.util.ArrayList<>(List.of(DIR, COMPRESSION, LEVEL, THREADS));
    all.addAll(ArchiveEncryption.settings());
    return List.copyOf(all);
  }

  /**
   * {@code BACKUP_ARCHIVE_TYPE=gpg-zip}: Atlassian's tar piped to {@code gpg --encrypt}, here a tar encrypted while
   * it is written to the recipient's key from gpg's keyring; uncompressed, as their restore ({@code gpg-zip
   * --decrypt}, which pipes to {@code tar -x} without a decompressor) reads it.
   */
  @Override
  public java.util.Map<String, java.util.Map<String, String>> varsFileStrategies() {
    return java.util.Map.of("gpg-zip", java.util.Map.of(ArchiveEncryption.REQUIRE.key(), "true",
        ArchiveEncryption.GPG_RECIPIENT.key(), "${BITBUCKET_BACKUP_GPG_RECIPIENT}", COMPRESSION.key(), "none"));
  }

  @Override
  public java.util.Set<dev.bbdiy.api.spi.Capability> capabilities() {
    return java.util.Set.of(dev.bbdiy.api.spi.Capability.READS_CONTENT_SOURCES);
  }

  @Override
  public Archiver create(ProviderContext context) {
    Settings s = context.settings();
    Compression compression = Compression.parse(s.string(COMPRESSION));
    int level = compression.checkedLevel(s.optional(LEVEL).map(Integer::parseInt).orElse(-1), s.fullKey(LEVEL));
    ArchiveEncryption encryption = ArchiveEncryption.of(name(), s);
    return new TarArchiver(s.path(DIR), new TarFormat(compression, level, s.integer(THREADS)),
        context.workDir().resolve(".bbdiy").resolve("tmp"), encryption);
  }
}
