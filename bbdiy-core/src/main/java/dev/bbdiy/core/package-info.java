/**
 * The bbdiy library: {@link dev.bbdiy.core.MaintenanceClient} speaks Bitbucket's maintenance REST API, {@link
 * dev.bbdiy.core.BackupEngine} drives providers through a backup or restore with the shortest lock window, and
 * {@link dev.bbdiy.core.ProviderRegistry} finds providers.
 *
 * <p>Classes here are the supported API. Everything under {@code dev.bbdiy.core.internal} is implementation
 * with no compatibility guarantees.
 */
@NullMarked
package dev.bbdiy.core;

import org.jspecify.annotations.NullMarked;
