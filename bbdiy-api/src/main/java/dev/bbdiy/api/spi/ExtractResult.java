package dev.bbdiy.api.spi;

/**
 * What an extraction wrote.
 *
 * @param files regular files written
 * @param bytes bytes written
 * @param verified whether every extracted entry was checked against the manifest (false for backups made by
 *     other tools, which have none)
 */
public record ExtractResult(long files, long bytes, boolean verified) {}
