/**
 * An example {@link dev.bbdiy.api.spi.DatabaseDumperProvider} for SQLite, built on {@code bbdiy-api} and {@code
 * bbdiy-kit} alone, as a team outside this repository would write one. See the README's "Writing a provider".
 */
@NullMarked
package dev.bbdiy.examples.sqlite;

import org.jspecify.annotations.NullMarked;
