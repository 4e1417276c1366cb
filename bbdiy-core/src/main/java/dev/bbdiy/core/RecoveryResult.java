package dev.bbdiy.core;

import org.jspecify.annotations.Nullable;

/**
 * What {@link BackupEngine#recover()} found and did.
 *
 * @param found whether an interrupted run had left a lock state
 * @param released whether a lock was released
 * @param backupId the backup the interrupted run was making, if any
 * @param message what happened, for humans
 */
public record RecoveryResult(boolean found, boolean released, @Nullable String backupId, String message) {}
