package dev.bbdiy.aws;

import dev.bbdiy.api.BbdiyException;
import java.net.URI;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.imds.Ec2MetadataClient;

/**
 * Which EC2 instance bbdiy runs on, from configuration or from the instance metadata service with IMDSv2 (a
 * session token first, as instances that disable IMDSv1 require).
 *
 * @param instanceId the instance id
 * @param availabilityZone its availability zone
 * @param region its region
 */
record InstanceIdentity(String instanceId, String availabilityZone, String region) {

  static InstanceIdentity resolve(@Nullable String instanceId, @Nullable String zone, Optional<String> region,
      @Nullable String imdsEndpoint) {
    if (instanceId != null && zone != null) {
      return new InstanceIdentity(instanceId, zone, region.orElse(zone.substring(0, zone.length() - 1)));
    }
    Ec2MetadataClient.Builder b = Ec2MetadataClient.builder().httpClient(AwsSupport.http());
    if (imdsEndpoint != null) {
      b.endpoint(URI.create(imdsEndpoint));
    }
    try (Ec2MetadataClient imds = b.build()) {
      String id = instanceId != null ? instanceId : imds.get("/latest/meta-data/instance-id").asString().trim();
      String az = zone != null ? zone
          : imds.get("/latest/meta-data/placement/availability-zone").asString().trim();
      String r = region.orElseGet(() -> imds.get("/latest/meta-data/placement/region").asString().trim());
      return new InstanceIdentity(id, az, r);
    } catch (SdkException | IllegalStateException e) {
      throw BbdiyException.configuration("Cannot read this instance's identity from the instance metadata service"
          + " (IMDSv2): " + e.getMessage() + ". Run bbdiy on the EC2 instance the volumes are attached to, or set"
          + " amazon-ebs.instance-id, amazon-ebs.availability-zone and amazon-ebs.region");
    }
  }
}
