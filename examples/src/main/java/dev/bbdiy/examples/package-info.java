/** Examples of using bbdiy as a library and of extending it; compiled and tested in CI. */
@NullMarked
package dev.bbdiy.examples;

import org.jspecify.annotations.NullMarked;
