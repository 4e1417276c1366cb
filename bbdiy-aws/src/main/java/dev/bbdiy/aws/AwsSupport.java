package dev.bbdiy.aws;

import software.amazon.awssdk.utils.SdkAutoCloseable;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import dev.bbdiy.api.spi.Settings;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.auth.StsAssumeRoleCredentialsProvider;

/** What the AWS providers share: clients, settings, tags and error messages. */
final class AwsSupport {
  static final Setting REGION = Setting.of("region", SettingType.STRING,
      "AWS region (AWS_REGION); default: the instance's region from the instance metadata, or the SDK's default.")
      .fromVarsFile("AWS_REGION");
  static final Setting ENDPOINT = Setting.of("endpoint", SettingType.STRING,
      "Service endpoint override (VPC endpoints, S3-compatible stores, tests).");
  static final Setting TAGS = Setting.of("tags", SettingType.LIST,
      "Extra tags key=value for what is created (AWS_ADDITIONAL_TAGS).").fromVarsFile("AWS_ADDITIONAL_TAGS");
  static final Setting COPY_REGION = Setting.of("copy-region", SettingType.STRING,
      "Copy every snapshot to this region as well (BACKUP_DEST_REGION).").fromVarsFile("BACKUP_DEST_REGION");
  static final Setting COPY_ACCOUNT = Setting.of("copy-account", SettingType.STRING,
      "Share every snapshot with this account and copy it there (BACKUP_DEST_AWS_ACCOUNT_ID); needs copy-role.")
      .fromVarsFile("BACKUP_DEST_AWS_ACCOUNT_ID");
  static final Setting COPY_ROLE = Setting.of("copy-role", SettingType.STRING,
      "Role ARN assumed in the copy account (BACKUP_DEST_AWS_ROLE).").fromVarsFile("BACKUP_DEST_AWS_ROLE");
  static final Setting COPY_KMS_KEY = Setting.of("copy-kms-key", SettingType.STRING,
      "KMS key for the copies (required by AWS to copy encrypted snapshots across regions or accounts).");
  static final Setting WAIT_TIMEOUT = Setting.of("wait-timeout", SettingType.DURATION,
      "How long to wait for snapshots to complete after the unlock.").withDefault("6h").withRange("1s", "30d");
  static final Setting API_TIMEOUT = Setting.of("api-timeout", SettingType.DURATION,
      "Total time one API call may take, retries for throttling included.").withDefault("2m").withRange("1s", "1h");

  /** The tag that marks what a bbdiy configuration created: value is the instance name. */
  static final String TAG_INSTANCE = "bbdiy:instance";
  /** The tag naming the backup id. */
  static final String TAG_BACKUP = "bbdiy:backup-id";

  private static final SdkHttpClient HTTP = UrlConnectionHttpClient.builder()
      .connectionTimeout(Duration.ofSeconds(10)).socketTimeout(Duration.ofSeconds(60)).build();

  private AwsSupport() {}

  static SdkHttpClient http() {
    return HTTP;
  }

  static ClientOverrideConfiguration overrides(Settings s) {
    Duration total = s.duration(API_TIMEOUT);
    return ClientOverrideConfiguration.builder()
        .retryStrategy(RetryMode.STANDARD)
        .apiCallTimeout(total)
        .apiCallAttemptTimeout(Duration.ofSeconds(60))
        .build();
  }

  static Optional<URI> endpoint(Settings s) {
    return s.optional(ENDPOINT).map(URI::create);
  }

  static AwsCredentialsProvider credentials() {
    return DefaultCredentialsProvider.builder().build();
  }

  /** Credentials of a role in another account, assumed with the default credentials. */
  static AwsCredentialsProvider assumed(String roleArn, Region region, Settings s) {
    StsClient sts = StsClient.builder().region(region).httpClient(HTTP).credentialsProvider(credentials())
        .overrideConfiguration(overrides(s)).build();
    return new AssumedRole(sts, StsAssumeRoleCredentialsProvider.builder().stsClient(sts)
        .refreshRequest(r -> r.roleArn(roleArn).roleSessionName("bbdiy-snapshot-copy")).build());
  }

  /** Credentials of an assumed role that, once closed, also close the STS client they were fetched with. */
  private record AssumedRole(StsClient sts, StsAssumeRoleCredentialsProvider provider)
      implements AwsCredentialsProvider, SdkAutoCloseable {
    @Override
    public software.amazon.awssdk.auth.credentials.AwsCredentials resolveCredentials() {
      return provider.resolveCredentials();
    }

    @Override
    public void close() {
      closeAll(List.of(provider, sts));
    }
  }

  /**
   * The SDK clients (and credentials that hold clients) one provider instance made, closed together at its end.
   * The HTTP client is shared by all of them for the JVM's life and holds no threads; it is not closed here.
   */
  static final class Clients {
    private final List<SdkAutoCloseable> opened = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Remembers a client, and its credentials when they hold resources of their own. */
    <T extends SdkAutoCloseable> T add(T client, @Nullable AwsCredentialsProvider credentials) {
      if (credentials instanceof SdkAutoCloseable) {
        opened.add((SdkAutoCloseable) credentials);
      }
      opened.add(client);
      return client;
    }

    /** Closes every client made so far. */
    void close() {
      List<SdkAutoCloseable> all = List.copyOf(opened);
      opened.clear();
      closeAll(all);
    }
  }

  /** Closes each of {@code resources}; a failure to close one does not keep the others open. */
  static void closeAll(List<? extends SdkAutoCloseable> resources) {
    for (SdkAutoCloseable r : resources) {
      try {
        r.close();
      } catch (RuntimeException ignored) {
        // nothing is left to release
      }
    }
  }

  /**
   * The tags of everything a backup creates: {@code Name} (the backup id, {@code <instance>-<timestamp>}), the
   * instance and backup tags retention finds its own snapshots by, then the configured {@code tags}.
   */
  static Map<String, String> backupTags(String backupId, String instanceName, Settings s) {
    Map<String, String> out = new LinkedHashMap<>();
    out.put("Name", backupId);
    out.put(TAG_INSTANCE, instanceName);
    out.put(TAG_BACKUP, backupId);
    out.putAll(tags(s.list(TAGS)));
    return out;
  }

  /** Parses {@code key=value} tags. */
  static Map<String, String> tags(List<String> values) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String v : values) {
      int eq = v.indexOf('=');
      if (eq <= 0) {
        throw BbdiyException.configuration("Tag '" + v + "' is not key=value");
      }
      out.put(v.substring(0, eq).trim(), v.substring(eq + 1).trim());
    }
    return out;
  }

  /** Turns an SDK failure into a message that says what to do; names the IAM action when access was denied. */
  static BbdiyException failure(String provider, String what, String action, SdkException e) {
    if (e instanceof AwsServiceException) {
      AwsServiceException ae = (AwsServiceException) e;
      String code = ae.awsErrorDetails() == null || ae.awsErrorDetails().errorCode() == null
          ? "HTTP " + ae.statusCode() : ae.awsErrorDetails().errorCode();
      if (code.contains("Unauthorized") || code.contains("AccessDenied") || ae.statusCode() == 403) {
        return new BbdiyException(ErrorCode.CONFIGURATION, provider + ": " + what + " was denied (" + code
            + "): grant the IAM action " + action + " to the role bbdiy runs with", e);
      }
      return BbdiyException.provider(provider, what + " failed: " + code + ": "
          + (ae.awsErrorDetails() == null ? ae.getMessage() : ae.awsErrorDetails().errorMessage()), e);
    }
    return BbdiyException.provider(provider, what + " failed: " + e.getMessage()
        + ". Check the region, the network path to AWS and the credentials (environment, profile or instance role)", e);
  }

  /** Whether an EC2 dry-run answered "you would be allowed". */
  static boolean isDryRunSuccess(SdkException e) {
    return e instanceof AwsServiceException && ((AwsServiceException) e).awsErrorDetails() != null
        && "DryRunOperation".equals(((AwsServiceException) e).awsErrorDetails().errorCode());
  }

  static @Nullable String code(SdkException e) {
    return e instanceof AwsServiceException && ((AwsServiceException) e).awsErrorDetails() != null
        ? ((AwsServiceException) e).awsErrorDetails().errorCode() : null;
  }

  /** Returns the HTTP status of a service error, or -1. */
  static int status(SdkException e) {
    return e instanceof AwsServiceException ? ((AwsServiceException) e).statusCode() : -1;
  }
}
