/**
 * The provider SPI: how home snapshotters, database dumpers and archivers plug into bbdiy.
 *
 * <p>A provider module ships stateless {@code *Provider} factories, registered in {@code
 * META-INF/services/dev.bbdiy.api.spi.HomeSnapshotterProvider} (and the other two), found with {@link
 * java.util.ServiceLoader}. Each has a stable lower-case {@link dev.bbdiy.api.spi.Provider#name() name} users
 * write in their configuration, declares the {@link dev.bbdiy.api.spi.Setting settings} it accepts, and creates
 * one instance per run from a {@link dev.bbdiy.api.spi.ProviderContext}.
 *
 * <h2>Phases and downtime</h2>
 *
 * A backup drives every {@link dev.bbdiy.api.spi.BackupSource} through these methods, in this order. Only
 * {@code capture} runs while Bitbucket is locked; the length of the lock window is the sum of the slowest
 * capture and a few REST calls, so a capture must do only what needs the lock.
 *
 * <ol>
 *   <li>{@code preflight} &mdash; before anything else; checks configuration, tools, permissions, free space.
 *       No side effects. Bitbucket is live.
 *   <li>{@code prepare} &mdash; before the lock; heavy incremental work (first rsync pass). Bitbucket is live.
 *   <li>{@code capture} &mdash; <b>while Bitbucket is locked and drained</b>: the delta copy, the filesystem
 *       snapshot, the database snapshot export. Returns a handle.
 *   <li>{@code complete} &mdash; after the unlock; the slow work the handle made consistent (pg_dump of the
 *       exported snapshot, waiting for cloud snapshots). Returns the {@link dev.bbdiy.api.Artifact}.
 *   <li>{@code abort} &mdash; on any failure after {@code prepare} began: undo what this run created (snapshots,
 *       partial files), never touching earlier backups.
 * </ol>
 *
 * Providers of the same phase run in parallel on different threads; one provider's methods are called one at a
 * time. Every method must return promptly once {@link dev.bbdiy.api.spi.CancellationSignal cancelled}: stop
 * child processes, and throw.
 */
@NullMarked
package dev.bbdiy.api.spi;

import org.jspecify.annotations.NullMarked;
