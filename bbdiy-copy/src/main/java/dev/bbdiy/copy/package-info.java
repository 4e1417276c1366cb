/** The {@code copy} home provider: rsync semantics in Java, built on the provider kit alone. */
@NullMarked
package dev.bbdiy.copy;

import org.jspecify.annotations.NullMarked;
