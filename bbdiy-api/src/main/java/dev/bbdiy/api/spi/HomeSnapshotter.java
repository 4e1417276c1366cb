package dev.bbdiy.api.spi;

/**
 * Captures the home directory and the data stores of {@link ProviderContext#instance()}. File-based
 * snapshotters write to {@code <workDir>/bitbucket-home} and {@code <workDir>/bitbucket-data-stores/<path>},
 * honouring the instance's excluded repositories and the home exclusions of its {@linkplain
 * dev.bbdiy.api.InstanceType type}.
 */
public interface HomeSnapshotter extends BackupSource {}
