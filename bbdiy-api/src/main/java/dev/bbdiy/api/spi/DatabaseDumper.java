package dev.bbdiy.api.spi;

/**
 * Captures Bitbucket's database. File-based dumpers write to {@code <workDir>/bitbucket-db}. Restores go into
 * {@link RestoreContext#targetDatabase()} or, when it is {@code null}, into the database the provider is configured
 * for; either way the database must not exist (refuse with {@link dev.bbdiy.api.BbdiyException#refused}), and the
 * provider reports the name it used in its {@link RestoreOutcome}. The testkit's {@code DatabaseDumperContract}
 * checks these rules.
 */
public interface DatabaseDumper extends BackupSource {}
