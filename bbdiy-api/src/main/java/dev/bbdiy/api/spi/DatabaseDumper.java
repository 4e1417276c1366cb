package dev.bbdiy.api.spi;

/**
 * Captures Bitbucket's database. File-based dumpers write to {@code <workDir>/bitbucket-db}. Restores go into
 * {@link RestoreContext#targetDatabase()}, which must not exist.
 */
public interface DatabaseDumper extends BackupSource {}
