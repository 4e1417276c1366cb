/**
 * The {@code mssql} database dumper for SQL Server: a full backup while Bitbucket runs, a differential one inside
 * the lock, both verified after it.
 */
@NullMarked
package dev.bbdiy.mssql;

import org.jspecify.annotations.NullMarked;
