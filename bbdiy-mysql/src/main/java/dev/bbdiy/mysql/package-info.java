/**
 * The {@code mysql} database dumper for MySQL and MariaDB: the consistent snapshot of {@code mysqldump
 * --single-transaction} is taken inside the lock, the dump of it is written after the unlock.
 */
@NullMarked
package dev.bbdiy.mysql;

import org.jspecify.annotations.NullMarked;
