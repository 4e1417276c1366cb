/**
 * The backup format: a canonical walk of the working copy, tar entries with a SHA-256 per file, the manifest
 * stored last, and the archivers built on it. No compatibility guarantees for the classes; the format itself is
 * documented in the README and versioned by the manifest's {@code format} field.
 */
@NullMarked
package dev.bbdiy.core.internal.archive;

import org.jspecify.annotations.NullMarked;
