/**
 * The public values of bbdiy: backup identifiers, results, events and the one exception family.
 *
 * <p>Everything here is immutable and thread-safe unless its Javadoc says otherwise. Nothing in this package
 * (or in {@link dev.bbdiy.api.spi}) depends on a library other than JSpecify, so provider authors can build
 * against it without pulling in bbdiy's implementation choices.
 */
@NullMarked
package dev.bbdiy.api;

import org.jspecify.annotations.NullMarked;
