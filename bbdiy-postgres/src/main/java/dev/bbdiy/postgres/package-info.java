/**
 * The {@code postgresql} database dumper: a consistent point taken inside the lock in milliseconds (an exported
 * snapshot), the dump made from it after the unlock.
 */
@NullMarked
package dev.bbdiy.postgres;

import org.jspecify.annotations.NullMarked;
