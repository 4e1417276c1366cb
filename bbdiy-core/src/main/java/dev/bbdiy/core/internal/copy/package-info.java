/** The built-in {@code copy} home snapshotter: an incremental mirror in pure Java with rsync's semantics. */
@NullMarked
package dev.bbdiy.core.internal.copy;

import org.jspecify.annotations.NullMarked;
