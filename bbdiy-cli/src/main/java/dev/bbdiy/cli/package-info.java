/**
 * The command line: a thin layer over {@link dev.bbdiy.core.BackupEngine}. {@link dev.bbdiy.cli.Main#run} runs a
 * command with the given streams and returns its exit code; only {@link dev.bbdiy.cli.Main#main} exits.
 */
@NullMarked
package dev.bbdiy.cli;

import org.jspecify.annotations.NullMarked;
