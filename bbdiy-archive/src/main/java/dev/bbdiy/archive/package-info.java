/**
 * The bbdiy backup format (tar stream plus {@code manifest.json}) and the {@code tar} and {@code directory}
 * archivers. {@link dev.bbdiy.archive.TarFormat} writes, verifies and extracts the format on any byte store, so
 * that other archivers (S3, restic...) share it.
 */
@NullMarked
package dev.bbdiy.archive;

import org.jspecify.annotations.NullMarked;
